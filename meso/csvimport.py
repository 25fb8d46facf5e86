"""Importing a clinic's current patients from a spreadsheet (CSV), all or nothing.

`flask --app app patients import FILE.csv --clinic NAME [--dry-run]`. Columns: name, area,
first session, time zone, sessions, interval weeks, lang (header names are forgiving; the last
four may be left empty or left out: clinic time zone, 4 sessions, every 3 weeks, the clinic's
language). Every row is checked before
anything is saved; one bad row and nothing is imported, with a line per problem.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app

from meso import audit, courses, locales, protocol, timeutil
from meso.cli_input import parse_lang
from meso.extensions import db
from meso.models import Clinic, Course, Patient, TreatmentSession, utcnow

# Accepted header spellings, after lower-casing and turning spaces and dashes into "_".
COLUMNS = {
    "name": ("name", "patient", "patient_name"),
    "area": ("area", "treatment_area"),
    "first_session": ("first_session", "session", "first_session_date", "date"),
    "timezone": ("time_zone", "timezone", "tz", "zone"),
    "sessions": ("sessions", "planned_sessions"),
    "interval_weeks": ("interval_weeks", "interval", "weeks", "weeks_between_sessions"),
    "lang": ("lang", "language"),
}
REQUIRED = ("name", "area", "first_session")
MAX_BYTES = 10 * 1024 * 1024


class CsvImportProblem(click.ClickException):
    """A file that cannot be read at all (as opposed to bad rows)."""


@dataclass
class ParsedRow:
    line: int
    enrolment: courses.Enrolment | None = None
    errors: list[str] = field(default_factory=list)


def header_map(fieldnames: Sequence[str] | None) -> dict[str, str]:
    """Map our column keys to the file's header names; raise CsvImportProblem when one is off."""
    if not fieldnames:
        raise CsvImportProblem("the file is empty: it needs a header row and one row per patient")
    mapping, unknown = {}, []
    for name in fieldnames:
        norm = (name or "").strip().lower().replace(" ", "_").replace("-", "_")
        key = next((k for k, spellings in COLUMNS.items() if norm in spellings), None)
        if key is None or key in mapping:
            unknown.append(name)
        else:
            mapping[key] = name
    if unknown:
        raise CsvImportProblem(f"unknown or repeated column(s): {', '.join(map(repr, unknown))} "
                           f"(expected: name, area, first session, time zone, sessions, "
                           f"interval weeks, lang)")
    missing = [key.replace("_", " ") for key in REQUIRED if key not in mapping]
    if missing:
        raise CsvImportProblem(f"missing column(s): {', '.join(missing)}")
    return mapping


def parse_row(values: Mapping[str, str | None], line: int, clinic_zone: str,
              default_lang: str | None = None) -> ParsedRow:
    """Check one row; every problem is collected, not just the first. A row without a
    language gets ``default_lang`` (--lang), or else the clinic's at enrolment."""
    row = ParsedRow(line)
    get = lambda key: (values.get(key) or "").strip()  # noqa: E731
    name = " ".join(get("name").split())
    if not name or len(name) > 120:
        row.errors.append("name: must have 1 to 120 characters")
    area = get("area").lower()
    if area not in protocol.AREAS:
        row.errors.append(f"area: {get('area')!r} is not one of {', '.join(protocol.AREAS)}")
    zone_name = get("timezone") or clinic_zone
    first = _first_session(row, get("first_session"), zone_name)
    planned = _number(row, "sessions", get("sessions"), protocol.DEFAULT_SESSIONS,
                      protocol.SESSIONS_RANGE)
    interval = _number(row, "interval weeks", get("interval_weeks"),
                       protocol.DEFAULT_INTERVAL_WEEKS, protocol.INTERVAL_RANGE)
    lang = default_lang
    if get("lang"):
        try:
            lang = locales.check(get("lang"))
        except locales.UnsupportedLanguage as exc:
            row.errors.append(f"lang: {exc}")
    if not row.errors:
        row.enrolment = courses.Enrolment(name, area, first, zone_name, planned, interval, lang)
    return row


def _first_session(row: ParsedRow, text: str, zone_name: str):
    try:
        zone = timeutil.zone(zone_name)
    except timeutil.TimeInputError as exc:
        row.errors.append(f"time zone: {exc}")
        return None
    if not text:
        row.errors.append("first session: missing (use 2026-11-20 10:00)")
        return None
    try:
        first = timeutil.parse_instant(text, zone)
    except timeutil.TimeInputError as exc:
        row.errors.append(f"first session: {exc}")
        return None
    if not courses.plausible_session_time(first, utcnow()):
        row.errors.append("first session: must be within a year before or two years after "
                          "today")
    return first


def _number(row: ParsedRow, label: str, text: str, default: int, bounds) -> int:
    if not text:
        return default
    if not text.isdigit() or not bounds[0] <= int(text) <= bounds[1]:
        row.errors.append(f"{label}: {text!r} is not a whole number from {bounds[0]} to "
                          f"{bounds[1]}")
        return default
    return int(text)


def parse(text: str, clinic: Clinic, default_lang: str | None = None) -> list[ParsedRow]:
    """Parse and check a whole file against the clinic (duplicates included)."""
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect, restkey="__extra__")
    mapping = header_map(reader.fieldnames)
    rows: list[ParsedRow] = []
    seen: dict[tuple, int] = {}
    for values in reader:
        if not any((v or "").strip() for k, v in values.items() if k != "__extra__"):
            continue  # a blank line in the sheet
        row = parse_row({key: values.get(col) for key, col in mapping.items()},
                        reader.line_num, clinic.timezone, default_lang)
        if values.get("__extra__"):
            row.errors.append("more cells than columns (a stray comma or semicolon?)")
            row.enrolment = None
        if row.enrolment is not None:
            key = (row.enrolment.name.lower(), row.enrolment.first_session)
            if key in seen:
                row.errors.append(f"the same patient and session as row {seen[key]}")
                row.enrolment = None
            seen.setdefault(key, row.line)
        rows.append(row)
    _mark_already_enrolled(rows, clinic)
    if not rows:
        raise CsvImportProblem("no patients in the file (only a header row?)")
    return rows


def _mark_already_enrolled(rows: list[ParsedRow], clinic: Clinic) -> None:
    """A second run of the same file must not enrol everyone twice."""
    existing = set(db.session.execute(
        sa.select(sa.func.lower(Patient.name), TreatmentSession.starts_at)
        .join(Course, Course.patient_id == Patient.id)
        .join(TreatmentSession, TreatmentSession.course_id == Course.id)
        .where(Patient.clinic_id == clinic.id)).all())
    for row in rows:
        data = row.enrolment
        if data is not None and (data.name.lower(), data.first_session) in existing:
            row.errors.append("already enrolled at this clinic (same name and first session)")
            row.enrolment = None


def describe(data: courses.Enrolment) -> str:
    local = data.first_session.astimezone(timeutil.zone(data.timezone))
    return (f"{data.name} · {data.area} · {local:%Y-%m-%d %H:%M} {data.timezone} · "
            f"{data.planned_sessions} sessions every {data.interval_weeks} weeks"
            + (f" · {data.lang}" if data.lang else ""))


@click.command("import")
@click.argument("path", metavar="FILE.csv",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--clinic", "clinic_name", required=True, help="The clinic's exact name.")
@click.option("--dry-run", is_flag=True, help="Check and report; save nothing.")
@click.option("--lang", "lang_text", default=None, metavar="LANG",
              help=f"The language of rows without a lang column ({', '.join(locales.SUPPORTED)}); "
                   "default: the clinic's.")
def import_command(path: Path, clinic_name: str, dry_run: bool, lang_text: str | None) -> None:
    """Import patients from a CSV file: all rows, or none if any row is wrong."""
    default_lang = parse_lang(lang_text)  # the same check as `patients enrol --lang`
    clinic = db.session.scalar(sa.select(Clinic).where(Clinic.name == clinic_name))
    if clinic is None:
        raise click.ClickException(f"no clinic named {clinic_name!r}")
    if path.stat().st_size > MAX_BYTES:
        raise CsvImportProblem("the file is larger than 10 MB: split it")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvImportProblem(
            "the file is not UTF-8 text (save the sheet as 'CSV UTF-8')") from None
    rows = parse(text, clinic, default_lang)
    bad = [row for row in rows if row.errors]
    for row in rows:
        if row.errors:
            click.echo(f"Row {row.line}: " + "; ".join(row.errors))
        elif dry_run and row.enrolment is not None:
            click.echo(f"Row {row.line}: OK  {describe(row.enrolment)}")
    if bad:
        raise click.ClickException(
            f"{len(bad)} of {len(rows)} rows have problems; nothing was imported")
    if dry_run:
        click.echo(f"Dry run: {len(rows)} patients would be imported into {clinic.name}. "
                   "Nothing was saved.")
        return
    for row in rows:
        assert row.enrolment is not None  # a row without errors has its enrolment
        courses.enrol(clinic, row.enrolment, current_app.config["INVITE_DAYS"], via="import")
    audit.record("patients.imported", clinic_id=clinic.id, patients=len(rows))
    db.session.commit()
    click.echo(f"Imported {len(rows)} patients into {clinic.name}. Hand each patient their "
               "link from their page in the staff app (Make a new link).")
