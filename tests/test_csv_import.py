"""`flask --app app patients import FILE.csv --clinic NAME [--dry-run]`: all rows or none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from conftest import create_clinic
from helpers import frozen

from meso import accesscode
from meso.extensions import db
from meso.models import AuditEvent, Course, Patient, TreatmentSession

GOOD = """name,area,first session,time zone,sessions,interval weeks
Maria Rossi,face,2026-11-20 10:00,Europe/Rome,4,3
Luca Bianchi,scalp,2026-11-21T15:30,America/New_York,6,2
Anna Verdi,body,2026-11-22 09:00,,,
"""


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(datetime(2026, 11, 25, 12, 0, tzinfo=UTC)):
        yield


@pytest.fixture
def clinic(app):
    return create_clinic()


def run(runner, tmp_path, text, *extra, clinic="Clinica Roma", encoding="utf-8"):
    path = tmp_path / "patients.csv"
    path.write_bytes(text.encode(encoding))
    result = runner.invoke(args=["patients", "import", str(path), "--clinic", clinic, *extra])
    db.session.expire_all()
    return result


def count(model=Patient) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_import_a_good_file(runner, tmp_path, clinic):
    result = run(runner, tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    assert "Imported 3 patients into Clinica Roma." in result.output
    assert "/i/" not in result.output  # no links printed: staff make them at hand-over
    patients = {p.name: p for p in db.session.scalars(sa.select(Patient))}
    luca = patients["Luca Bianchi"].course
    assert (luca.area, luca.timezone, luca.planned_sessions, luca.interval_weeks) == (
        "scalp", "America/New_York", 6, 2)
    assert luca.sessions[0].starts_at == datetime(2026, 11, 21, 20, 30, tzinfo=UTC)
    anna = patients["Anna Verdi"].course  # empty cells: the clinic's zone, 4 every 3 weeks
    assert (anna.timezone, anna.planned_sessions, anna.interval_weeks) == ("Europe/Rome", 4, 3)
    assert all(accesscode.code_for(p) for p in patients.values())
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("patient.enrolled") == 3 and "patients.imported" in actions


def test_dry_run_saves_nothing(runner, tmp_path, clinic):
    result = run(runner, tmp_path, GOOD, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Row 2: OK  Maria Rossi · face · 2026-11-20 10:00 Europe/Rome" in result.output
    assert "Dry run: 3 patients would be imported" in result.output
    assert count() == 0 and count(AuditEvent) == 0


BAD = """name,area,first session,time zone,sessions,interval weeks
Maria Rossi,face,2026-11-20 10:00,Europe/Rome,4,3
,lips,2026-13-01 10:00,Europe/Rome,13,0
Luca Bianchi,scalp,2027-03-28 02:30,Europe/Rome,4,3
Anna Verdi,body,2026-11-22 09:00,Mars/Olympus,4,3
Maria Rossi,face,2026-11-20 10:00,Europe/Rome,4,3
Old Patient,face,2020-01-01 10:00,Europe/Rome,4,3
Too,Many,Cells,Here,4,3,x
"""


def test_bad_rows_are_reported_and_nothing_is_imported(runner, tmp_path, clinic):
    result = run(runner, tmp_path, BAD)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0] == ("Row 3: name: must have 1 to 120 characters; area: 'lips' is not one "
                        "of face, scalp, body; first session: not a date and time: "
                        "'2026-13-01 10:00' (use 2026-11-20T10:00); sessions: '13' is not a "
                        "whole number from 1 to 12; interval weeks: '0' is not a whole number "
                        "from 1 to 12")
    assert lines[1] == ("Row 4: first session: 2027-03-28 02:30 does not exist in Europe/Rome: "
                        "the clocks change that night")
    assert lines[2].startswith("Row 5: time zone: unknown time zone 'Mars/Olympus'")
    assert lines[3] == "Row 6: the same patient and session as row 2"
    assert lines[4].startswith("Row 7: first session: must be within a year before")
    assert lines[5].startswith("Row 8: area: 'Many' is not one of")
    assert "more cells than columns" in lines[5]
    assert lines[-1] == "Error: 7 of 8 rows have problems; nothing was imported" or \
        lines[-1] == "Error: 6 of 7 rows have problems; nothing was imported"
    assert count() == 0 and count(Course) == 0 and count(TreatmentSession) == 0


def test_running_the_same_file_twice_imports_nobody_twice(runner, tmp_path, clinic):
    assert run(runner, tmp_path, GOOD).exit_code == 0
    again = run(runner, tmp_path, GOOD)
    assert again.exit_code == 1
    assert "Row 2: already enrolled at this clinic" in again.output
    assert count() == 3


def test_excel_style_semicolons_and_bom(runner, tmp_path, clinic):
    text = "\ufeffName;Area;First Session\nMaria Rossi;Face;20/11/2026 10:00\n"
    result = run(runner, tmp_path, text)
    assert result.exit_code == 1
    assert "Row 2: first session: not a date and time: '20/11/2026 10:00'" in result.output
    fixed = "\ufeffName;Area;First Session\nMaria Rossi;Face;2026-11-20 10:00\n"
    assert run(runner, tmp_path, fixed).exit_code == 0
    assert count() == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the file is empty"),
     ("name,area,first session\n", "no patients in the file"),
     ("name,area\nMaria,face\n", "missing column(s): first session"),
     ("name,area,first session,phone\nMaria,face,2026-11-20 10:00,123\n",
      "unknown or repeated column(s): 'phone'")],
)
def test_unusable_files(runner, tmp_path, clinic, text, message):
    result = run(runner, tmp_path, text)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert count() == 0


def test_not_utf8(runner, tmp_path, clinic):
    result = run(runner, tmp_path, "name,area,first session\nJosé,face,2026-11-20 10:00\n",
                 encoding="utf-16")
    assert result.exit_code == 1 and "not UTF-8" in result.output


def test_unknown_clinic(runner, tmp_path, clinic):
    result = run(runner, tmp_path, GOOD, clinic="Nowhere")
    assert result.exit_code == 1 and "no clinic named 'Nowhere'" in result.output
