"""Command-line interface: `flask --app app init | demo | staff | patients | plan`.

`patients enrol` is also `patients enroll`, its name before the app settled on one spelling.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from meso import clinics, courses, locales, patient_email, protocol, recovery, timeutil
from meso.access import invite_url
from meso.cli_input import course_options, parse_course, parse_lang, parse_time, parse_windows
from meso.cli_reminders import ensure_vapid_key, reminders_cli
from meso.config import ConfigError
from meso.csvimport import import_command
from meso.extensions import db
from meso.formatting import when
from meso.links import external_url, public_base_url
from meso.models import Clinic, Patient, StaffUser, utcnow
from meso.passwords import MIN_LENGTH, hash_password


class AliasedGroup(AppGroup):
    """A command group that also answers to older names of its commands (hidden in --help)."""

    def __init__(self, *args, aliases: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.aliases = aliases or {}

    def get_command(self, ctx, cmd_name):
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def resolve_command(self, ctx, args):
        # The command's own name, whichever name was typed (click's documented alias recipe).
        _, command, rest = super().resolve_command(ctx, args)
        return command.name if command else None, command, rest


staff_cli = AppGroup("staff", help="Manage staff accounts.")
patients_cli = AliasedGroup("patients", help="Manage patients.", aliases={"enroll": "enrol"})

DEMO_CLINIC = "Demo Clinic"
DEMO_EMAIL = "demo@clinic.example"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - local demo only; printed by `make run`
DEMO_PATIENT = "Giulia Demo"


def upgrade() -> None:
    """Apply the migrations. Flask-Migrate (and Alembic) are imported only by the commands
    that migrate: a web worker never pays for them."""
    from flask_migrate import upgrade as migrate_upgrade

    from meso.migrate_cli import init_migrate

    init_migrate(current_app._get_current_object())  # type: ignore[attr-defined]
    migrate_upgrade()


def init_app(app) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(plan_command)
    app.cli.add_command(staff_cli)
    app.cli.add_command(patients_cli)
    patients_cli.add_command(import_command)
    app.cli.add_command(reminders_cli)


@click.command("init")
def init_command() -> None:
    """Create the instance folder, secret key and database schema (safe to run twice)."""
    # The secret key was created in instance/ when the app was configured.
    upgrade()
    ensure_vapid_key()
    click.echo(f"Ready: instance folder {current_app.instance_path}, schema up to date.")


@click.command("demo")
def demo_command() -> None:
    """Seed a demo clinic, staff account and patient (idempotent); print where to click."""
    links_base_url()  # before any change: without it, no link can be printed
    clinic = clinics.get_or_create_clinic(DEMO_CLINIC, current_app.config["DEMO_TIMEZONE"])
    clinic.phone = clinic.phone or "+39 02 1234 5678"
    staff = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == DEMO_EMAIL))
    if staff is None:
        db.session.add(StaffUser(clinic=clinic, email=DEMO_EMAIL, role="admin",
                                 password_hash=hash_password(DEMO_PASSWORD)))
    patient = db.session.scalar(
        sa.select(Patient).where(Patient.clinic_id == clinic.id, Patient.name == DEMO_PATIENT)
    )
    # The demo patient is always three hours after their first session: the richest view.
    session_at = (utcnow() - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    if patient is None:
        data = courses.Enrolment(DEMO_PATIENT, "face", session_at, clinic.timezone)
        patient, token = courses.enrol(clinic, data, current_app.config["INVITE_DAYS"])
    else:
        patient.course.sessions[0].starts_at = session_at
        courses.after_course_change(patient)  # its reminders follow the moved session
        token = patient.issue_invite(utcnow(), current_app.config["INVITE_DAYS"])
    db.session.commit()
    click.echo(f"Staff sign-in:  {external_url('staff.sign_in')}  ({DEMO_EMAIL} / {DEMO_PASSWORD})")
    click.echo(f"Patient link:   {invite_url(token)}")


@staff_cli.command("create")
@click.argument("email")
@click.option("--clinic", "clinic_name", required=True, help="Clinic name (created if new).")
@click.option("--role", type=click.Choice(["admin", "practitioner"]), default="admin")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def staff_create(email: str, clinic_name: str, role: str, password_stdin: bool) -> None:
    """Create a staff account (and its clinic when it does not exist yet)."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise click.ClickException(f"not an email address: {email!r}")
    if db.session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email)):
        raise click.ClickException(f"a staff account for {email} already exists")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_LENGTH:
        raise click.ClickException(f"the password must have at least {MIN_LENGTH} characters")
    clinic = clinics.get_or_create_clinic(clinic_name.strip())
    db.session.add(StaffUser(clinic=clinic, email=email, role=role,
                             password_hash=hash_password(password)))
    db.session.commit()
    click.echo(f"Created {role} {email} at {clinic.name}.")


@patients_cli.command("enrol")
@click.option("--clinic", "clinic_name", required=True)
@click.option("--name", required=True)
@course_options
@click.option("--email", "email_text", default=None, metavar="ADDRESS",
              help="The patient's e-mail for reminders, given at the desk with their consent.")
@click.option("--lang", "lang_text", default=None, metavar="LANG",
              help=f"The patient's language ({', '.join(locales.SUPPORTED)}); "
                   "default: the clinic's.")
def patients_enrol(clinic_name, name, area, session_text, tz_name, sessions_text,
                   interval_text, email_text, lang_text) -> None:
    """Enrol a patient; the last line printed is their invite link. (Also: enroll.)"""
    links_base_url()
    lang = parse_lang(lang_text)
    address = None
    if email_text is not None:
        try:
            address = patient_email.normalise(email_text)
        except patient_email.AddressError as exc:
            raise click.ClickException(f"--email: {exc}") from None
    course = parse_course(area, tz_name, sessions_text, interval_text)
    first = parse_time(session_text, course.timezone)
    clinic = db.session.scalar(sa.select(Clinic).where(Clinic.name == clinic_name))
    if clinic is None:
        raise click.ClickException(f"no clinic named {clinic_name!r}")
    if not name.strip() or len(name.strip()) > 120:
        raise click.ClickException("the name must have 1 to 120 characters")
    data = courses.Enrolment(name, course.area, first, course.timezone,
                             course.planned_sessions, course.interval_weeks, lang)
    patient, token = courses.enrol(clinic, data, current_app.config["INVITE_DAYS"])
    if address is not None:  # consent taken at the desk, recorded as such (patient_email)
        patient_email.set_at_desk(patient, address, None, utcnow())
    db.session.commit()
    click.echo(f"Enrolled {patient.name} (patient {patient.id}) at {clinic.name}.")
    if address is not None:
        click.echo("Reminders by e-mail: on (consent given at the desk).")
    click.echo(invite_url(token))


def links_base_url() -> str:
    """Return MESO_BASE_URL for the links a command prints, or stop with a one-line error."""
    try:
        return public_base_url()
    except ConfigError as problem:
        raise click.ClickException(str(problem)) from None


@click.command("plan")
@course_options
@click.option("--at", "at_text", default=None, help="The instant to plan (default: now).")
@click.option("--window", "window_texts", multiple=True, metavar="KEY=HOURS",
              help="A window other than the default, e.g. heat=72 (repeat for more).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan_command(area, session_text, tz_name, at_text, sessions_text, interval_text,
                 window_texts, as_json) -> None:
    """Show a patient's plan at an instant, without touching the database."""
    course = parse_course(area, tz_name, sessions_text, interval_text)
    windows = parse_windows(window_texts)
    first = parse_time(session_text, tz_name)
    at = parse_time(at_text, tz_name) if at_text else utcnow()
    # The command answers "where would a patient be on this plan", so every session is kept.
    sessions = recovery.session_schedule(
        [first], course.planned_sessions, course.interval_weeks, timeutil.zone(tz_name)
    )
    plan = recovery.plan_day(course, sessions, at, windows)
    if as_json:
        click.echo(json.dumps(plan.to_json(), indent=2))
    else:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            click.echo(summary(plan))


def summary(plan: recovery.DayPlan) -> str:
    """Return a readable plan, the same facts as the JSON."""
    lines = [
        f"Day {plan.day} · Session {plan.sessions_done} of {plan.sessions_planned} · "
        f"{protocol.AREA_NAMES[plan.area]} · {protocol.PHASE_NAMES[plan.phase]}",
        f"{plan.hours_since_session:+.1f} h since the session of {when(plan.session_at)}",
    ]
    if plan.avoid:
        lines.append("Avoid:")
        lines += [f"  - {protocol.RESTRICTIONS[a.key].name} (until {when(a.until)})"
                  for a in plan.avoid]
    if plan.allowed_again:
        lines.append("OK again:")
        lines += [f"  - {protocol.RESTRICTIONS[a.key].ok_name} (since {when(a.since)})"
                  for a in plan.allowed_again]
    if plan.next_session:
        lines.append(f"Next session: {when(plan.next_session.starts_at)} "
                     f"(session {plan.next_session.number})")
    else:
        lines.append("Course complete: no further session planned.")
    return "\n".join(lines)
