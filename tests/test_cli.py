"""CLI tests (`flask --app app …`) through app.test_cli_runner()."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat

import pytest
import sqlalchemy as sa
from conftest import DAY_ONE_PLAN, create_clinic, open_invite, sign_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meso import create_app
from meso.cli import DEMO_CLINIC, DEMO_EMAIL, DEMO_PASSWORD, DEMO_PATIENT
from meso.extensions import db
from meso.models import Clinic, Course, Patient, StaffUser, TreatmentSession
from meso.passwords import check_password

PLAN = ["plan", "--area", "face", "--session", "2026-11-20T10:00", "--tz", "Europe/Rome"]
INVITE_LINE = re.compile(r"^http://localhost/i/([A-Za-z0-9_-]{43,})$")


def plan_json(runner, *extra):
    result = runner.invoke(args=[*PLAN, *extra, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def assert_clean_failure(result, *needles):
    """Exit non-zero through click (no stray exception), with one line and no traceback."""
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    for needle in needles:
        assert needle in lines[0]


# -- plan ------------------------------------------------------------------------------------


def test_plan_json_is_exactly_the_public_shape(runner):
    """One day after the first session: the documented keys and values, nothing more."""
    assert plan_json(runner, "--at", "2026-11-21T09:00") == DAY_ONE_PLAN


def test_plan_json_reports_what_is_allowed_again(runner):
    plan = plan_json(runner, "--at", "2026-11-28T09:00")
    assert plan["day"] == 8
    assert plan["phase"] == "first_weeks"
    assert plan["allowed_again"] == [
        {"key": "heat", "since": "2026-11-22T10:00:00+01:00"},
        {"key": "sun", "since": "2026-11-22T10:00:00+01:00"},
        {"key": "makeup", "since": "2026-11-22T10:00:00+01:00"},
        {"key": "exfoliants", "since": "2026-11-27T10:00:00+01:00"},
    ]
    assert [a["key"] for a in plan["avoid"]] == ["vitamin_a", "acids_peels"]


@pytest.mark.parametrize(
    ("extra", "session", "next_session"),
    [
        ((), {"number": 1, "of": 4}, "2026-12-11T10:00:00+01:00"),
        (("--interval-weeks", "2"), {"number": 1, "of": 4}, "2026-12-04T10:00:00+01:00"),
        (("--sessions", "6", "--interval-weeks", "4"), {"number": 1, "of": 6},
         "2026-12-18T10:00:00+01:00"),
        (("--sessions", "1"), {"number": 1, "of": 1}, None),
        (("--sessions", "12", "--interval-weeks", "12"), {"number": 1, "of": 12},
         "2027-02-12T10:00:00+01:00"),
    ],
)
def test_plan_course_options_change_the_next_session(runner, extra, session, next_session):
    plan = plan_json(runner, "--at", "2026-11-21T09:00", *extra)
    assert plan["session"] == session
    assert plan["next_session"] == next_session


def test_plan_next_session_keeps_the_local_wall_clock_across_dst(runner):
    """Three weeks after 10:00 CET in March is 10:00 CEST (+02:00), not 11:00."""
    result = runner.invoke(args=["plan", "--area", "scalp", "--session", "2026-03-20T10:00",
                                 "--tz", "Europe/Rome", "--at", "2026-03-21T09:00", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["next_session"] == "2026-04-10T10:00:00+02:00"


def test_plan_offset_in_at_wins_over_tz(runner):
    """09:00 UTC is 10:00 in Rome: 24 hours after the session, not 23."""
    local = plan_json(runner, "--at", "2026-11-21T09:00")
    explicit = plan_json(runner, "--at", "2026-11-21T09:00+00:00")
    zulu = plan_json(runner, "--at", "2026-11-21T09:00Z")
    assert local["hours_since_session"] == 23.0
    assert explicit["hours_since_session"] == 24.0
    assert zulu == explicit
    # Instants stay in the patient's zone in the output.
    assert explicit["avoid"][0] == {"key": "heat", "until": "2026-11-22T10:00:00+01:00"}


def test_plan_offset_in_session_wins_over_tz(runner):
    result = runner.invoke(args=["plan", "--area", "face", "--session", "2026-11-20T10:00+00:00",
                                 "--tz", "Europe/Rome", "--at", "2026-11-21T11:00", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["hours_since_session"] == 24.0
    assert plan["avoid"][0] == {"key": "heat", "until": "2026-11-22T11:00:00+01:00"}


def test_plan_before_the_first_session(runner):
    assert plan_json(runner, "--at", "2026-11-18T09:00") == {
        "day": -2,
        "hours_since_session": -49.0,
        "phase": "preparation",
        "area": "face",
        "session": {"number": 0, "of": 4},
        "avoid": [{"key": "tanning_beds", "until": "2026-11-20T10:00:00+01:00"}],
        "allowed_again": [],
        "next_session": "2026-11-20T10:00:00+01:00",
    }


def test_plan_summary_is_readable(runner):
    result = runner.invoke(args=[*PLAN, "--at", "2026-11-21T09:00"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Day 1 · Session 1 of 4 · Face · Immediate"
    assert "Day 1" in result.output
    assert "Session 1 of 4" in result.output
    assert "Avoid:" in lines
    assert "  - Hot baths, sauna, steam room and heavy workouts (until Sun 22 Nov, 10:00)" in lines
    assert lines[-1] == "Next session: Fri 11 Dec, 10:00 (session 2)"
    assert not result.output.lstrip().startswith("{")


def test_plan_summary_before_the_first_session(runner):
    result = runner.invoke(args=[*PLAN, "--at", "2026-11-18T09:00"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Day -2 · Session 0 of 4 · Face · Preparation"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--area", "neck"], "unknown area 'neck'"),
        (["--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--tz", ""], "unknown time zone"),
        (["--session", "2026-13-01T10:00"], "not a date and time"),
        (["--session", "tomorrow"], "not a date and time"),
        (["--session", ""], "not a date and time"),
        (["--at", "2026-11-21 25:00"], "not a date and time"),
        (["--at", "yesterday"], "not a date and time"),
        (["--sessions", "0"], "--sessions must be between 1 and 12"),
        (["--sessions", "13"], "--sessions must be between 1 and 12"),
        (["--sessions", "four"], "--sessions must be a whole number"),
        (["--interval-weeks", "0"], "--interval-weeks must be between 1 and 12"),
        (["--interval-weeks", "13"], "--interval-weeks must be between 1 and 12"),
        (["--interval-weeks", "abc"], "--interval-weeks must be a whole number"),
        (["--session", "2026-03-29T02:30"], "does not exist in Europe/Rome"),
        (["--at", "2026-03-29T02:30"], "does not exist in Europe/Rome"),
    ],
)
def test_plan_bad_input_is_one_clean_line(runner, args, needle):
    # Later options win in click, so each bad value overrides the good default.
    result = runner.invoke(args=[*PLAN, "--at", "2026-11-21T09:00", *args, "--json"])
    assert_clean_failure(result, needle)


@pytest.mark.parametrize(
    "args",
    [
        ["--session", "9999-12-01T10:00", "--at", "2026-11-21T09:00"],
        ["--session", "0001-01-01T10:00", "--tz", "UTC", "--at", "0001-01-01T09:00"],
    ],
    ids=["year-9999", "year-1"],
)
def test_plan_extreme_dates_fail_cleanly(runner, args):
    """Instants so far out that the plan would overflow the calendar are refused."""
    result = runner.invoke(args=[*PLAN, *args, "--json"])
    assert_clean_failure(result, "out of range")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                    max_size=30))
def test_plan_any_session_text_never_crashes(runner, text):
    result = runner.invoke(args=["plan", "--area", "face", "--session", text,
                                 "--tz", "Europe/Rome", "--at", "2026-11-21T09:00", "--json"])
    if result.exit_code == 0:
        assert set(json.loads(result.output)) == {
            "day", "hours_since_session", "phase", "area", "session", "avoid",
            "allowed_again", "next_session"}
    else:
        assert_clean_failure(result)


@pytest.mark.parametrize(
    "missing", ["--area", "--session", "--tz"],
)
def test_plan_required_options(runner, missing):
    args = list(PLAN)
    index = args.index(missing)
    del args[index:index + 2]
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"Missing option '{missing}'" in result.output


def test_plan_takes_the_windows_in_force(runner):
    """--window KEY=HOURS changes a window, as a clinic's setting would; later options win."""
    plan = plan_json(runner, "--at", "2026-11-22T12:00", "--window", "heat=72",
                     "--window", "exfoliants=24", "--window", "exfoliants=240")
    assert {a["key"]: a["until"] for a in plan["avoid"]} == {
        "heat": "2026-11-23T10:00:00+01:00",
        "exfoliants": "2026-11-30T10:00:00+01:00",
        "vitamin_a": "2026-12-04T10:00:00+01:00",
        "acids_peels": "2026-12-04T10:00:00+01:00",
    }
    assert set(plan) == set(DAY_ONE_PLAN)


def test_plan_for_the_scalp_has_the_hair_wash_window_and_no_makeup(runner):
    result = runner.invoke(args=["plan", "--area", "scalp", "--session", "2026-11-20T10:00",
                                 "--tz", "Europe/Rome", "--at", "2026-11-20T12:00",
                                 "--window", "hair_wash=36", "--json"])
    assert result.exit_code == 0, result.output
    avoid = {a["key"]: a["until"] for a in json.loads(result.output)["avoid"]}
    assert avoid["hair_wash"] == "2026-11-21T22:00:00+01:00"
    assert "makeup" not in avoid


@pytest.mark.parametrize(
    ("window", "needle"),
    [("heat", "--window must be KEY=HOURS, like heat=72, not 'heat'"),
     ("heat=two", "--window must be KEY=HOURS"),
     ("heat=-1", "--window must be KEY=HOURS"),
     ("heat=1.5", "--window must be KEY=HOURS"),
     ("sauna=48", "--window unknown restriction 'sauna'"),
     ("heat=2161", "--window heat: must be between 0 and 2160 hours")],
)
def test_plan_bad_windows_are_one_clean_line(runner, window, needle):
    result = runner.invoke(args=[*PLAN, "--window", window, "--json"])
    assert result.exit_code == 1
    assert_clean_failure(result, needle)


# -- reminders preview ---------------------------------------------------------------------


def preview(runner, *args):
    result = runner.invoke(args=["reminders", "preview", "--area", "face", "--session",
                                 "2026-11-20T19:30", "--tz", "Europe/Rome", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_preview_of_an_evening_session(runner):
    """19:30 with quiet hours from 21:00: tonight's reminder comes at 20:30, in the zone."""
    items = preview(runner, "--sessions", "1")
    assert all(set(item) == {"key", "at", "title", "body"} for item in items)
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)
    assert [i["key"] for i in items][:5] == ["tanning_beds", "session_tomorrow", "session_day",
                                             "sun_day1", "heat_day1"]
    tonight = items[2]
    assert tonight["at"] == "2026-11-20T20:30:00+01:00"
    assert tonight["title"] == "Tonight: no heat, no direct sun"
    assert "until Sun 19:30" in tonight["body"]
    assert items[0]["at"] == "2026-11-13T19:30:00+01:00"  # tanning beds: 7 days before
    assert items[-1]["key"] == "maintenance"  # one planned session: the course is complete
    assert all(i["at"].endswith("+01:00") for i in items[:-1])
    assert items[-1]["at"].endswith("+01:00") or items[-1]["at"].endswith("+02:00")


def test_preview_with_changed_windows_and_quiet_hours(runner):
    items = preview(runner, "--sessions", "2", "--interval-weeks", "4", "--window", "heat=72",
                    "--window", "tanning_beds=120", "--quiet", "22:30-07:00")
    by_key = {}
    for item in items:
        by_key.setdefault(item["key"], []).append(item)
    assert by_key["session_day"][0]["at"] == "2026-11-20T21:30:00+01:00"  # 2 h, before 22:30
    assert by_key["heat_ok"][0]["at"] == "2026-11-23T19:30:00+01:00"  # 72 h
    assert by_key["sun_ok"][0]["at"] == "2026-11-22T19:30:00+01:00"  # 48 h
    assert "heat_sun_ok" not in by_key
    # 5 days before each session: the first on 20 November, the second on 18 December.
    assert [t["at"] for t in by_key["tanning_beds"]] == [
        "2026-11-15T19:30:00+01:00", "2026-12-13T19:30:00+01:00"]
    tanning = by_key["tanning_beds"][1]
    assert "until then (5 days), skip tanning beds" in tanning["body"]
    assert "still no sunbathing" in by_key["sun_ok"][0]["body"]


def test_preview_across_a_dst_change_carries_each_instant_s_offset(runner):
    result = runner.invoke(args=["reminders", "preview", "--area", "body", "--session",
                                 "2026-03-27T10:00", "--tz", "Europe/Rome", "--sessions", "1",
                                 "--json"])
    items = {i["key"]: i["at"] for i in json.loads(result.output)}
    assert items["session_day"] == "2026-03-27T12:00:00+01:00"
    assert items["heat_sun_ok"] == "2026-03-29T11:00:00+02:00"  # 48 real hours


def test_preview_is_a_readable_table_without_json(runner):
    result = runner.invoke(args=["reminders", "preview", "--area", "scalp", "--session",
                                 "2026-11-20T19:30", "--tz", "Europe/Rome", "--sessions", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[4].split() == ["Fri", "20", "Nov,", "20:30", "session_day", "Tonight:", "no",
                                "heat,", "no", "direct", "sun"]
    assert lines[5].strip().startswith("Your skin is settling after the session.")
    assert not result.output.lstrip().startswith("[")
    assert "makeup" not in result.output.lower()


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["--area", "neck"], "unknown area 'neck'"),
     (["--tz", "Mars/Olympus"], "unknown time zone"),
     (["--session", "tomorrow"], "not a date and time"),
     (["--sessions", "0"], "--sessions must be between 1 and 12"),
     (["--window", "heat"], "--window must be KEY=HOURS"),
     (["--window", "heat=9999"], "--window heat: must be between 0 and 2160 hours"),
     (["--quiet", "9-5"], "--quiet must be HH:MM-HH:MM"),
     (["--quiet", "21:00-25:00"], "--quiet must be HH:MM-HH:MM"),
     (["--quiet", "21:00-21:00"], "--quiet must start and end at different times")],
)
def test_preview_bad_input_is_one_clean_line(runner, args, needle):
    result = runner.invoke(args=["reminders", "preview", "--area", "face", "--session",
                                 "2026-11-20T10:00", "--tz", "Europe/Rome", *args, "--json"])
    assert result.exit_code == 1
    assert_clean_failure(result, needle)


# -- init and the instance secret ------------------------------------------------------------


@pytest.fixture
def keep_logging():
    """Alembic's env.py runs logging.config.fileConfig (root level and handlers, and loggers
    disabled unless it says otherwise): put the logging setup back for the tests after."""
    manager = logging.root.manager
    loggers = {name: (lg.disabled, lg.level, list(lg.handlers), lg.propagate)
               for name, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    root = (logging.root.level, list(logging.root.handlers))
    yield
    for name, (disabled, level, handlers, propagate) in loggers.items():
        logger = logging.getLogger(name)
        logger.disabled, logger.level, logger.handlers, logger.propagate = (
            disabled, level, handlers, propagate)
    for name, lg in manager.loggerDict.items():
        if isinstance(lg, logging.Logger) and name not in loggers:
            lg.handlers = []
    logging.root.level, logging.root.handlers = root


@pytest.fixture
def fresh_app(tmp_path, keep_logging):
    """An app on its own empty SQLite file (the shared `app` fixture already has tables)."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x",
         "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"},
        instance_path=str(tmp_path / "inst"),
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def invoke_in_context(app, args, **kwargs):
    """Run a command as `flask --app app` does: inside an app context (the test runner on a
    bare app.cli group pushes none)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=args, **kwargs)


def table_names(app) -> set[str]:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names())


def test_init_creates_the_schema_and_is_safe_to_run_twice(fresh_app):
    assert table_names(fresh_app) == set()
    first = invoke_in_context(fresh_app, ["init"])
    assert first.exit_code == 0, first.output
    assert "schema up to date" in first.output
    expected = {"alembic_version", "clinic", "staff_user", "patient", "course",
                "treatment_session", "patient_device"}
    assert expected <= table_names(fresh_app)
    second = invoke_in_context(fresh_app, ["init"])
    assert second.exit_code == 0, second.output
    assert expected <= table_names(fresh_app)
    with fresh_app.app_context():
        versions = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    assert len(versions) == 1


def test_init_schema_matches_the_models(fresh_app):
    """`flask db upgrade` from nothing gives every table and column the models declare."""
    assert invoke_in_context(fresh_app, ["init"]).exit_code == 0
    with fresh_app.app_context():
        inspector = sa.inspect(db.engine)
        present = {name: {c["name"] for c in inspector.get_columns(name)}
                   for name in inspector.get_table_names()}
        missing = {
            table.name: sorted({c.name for c in table.columns} - present.get(table.name, set()))
            for table in db.metadata.sorted_tables
        }
    assert {name: cols for name, cols in missing.items() if cols} == {}


def test_init_schema_is_usable(fresh_app):
    assert invoke_in_context(fresh_app, ["init"]).exit_code == 0
    result = invoke_in_context(fresh_app, ["staff", "create", "eva@clinic.example", "--clinic",
                                           "Nuova", "--password-stdin"],
                               input="a long enough password\n")
    assert result.exit_code == 0, result.output
    with fresh_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 1


def test_secret_key_is_generated_into_the_instance_folder_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    instance = tmp_path / "inst"
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"}
    app = create_app(dict(config), instance_path=str(instance))
    key_file = instance / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 64
    assert app.config["SECRET_KEY"] == key
    again = create_app(dict(config), instance_path=str(instance))
    assert again.config["SECRET_KEY"] == key
    assert key_file.read_text().strip() == key


def test_secret_key_from_the_environment_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    instance = tmp_path / "inst"
    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"},
                     instance_path=str(instance))
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert not (instance / "secret_key").exists()


# -- staff create ----------------------------------------------------------------------------


GOOD_PASSWORD = "a long enough password"


def staff_create(runner, email="eva@clinic.example", clinic="Clinica Milano",
                 password=GOOD_PASSWORD, *extra):
    return runner.invoke(
        args=["staff", "create", email, "--clinic", clinic, "--password-stdin", *extra],
        input=password + "\n",
    )


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_staff_create_makes_clinic_and_user(runner):
    result = staff_create(runner)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Created admin eva@clinic.example at Clinica Milano."
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == "eva@clinic.example"))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert "a long enough password" not in user.password_hash
    assert user.role == "admin"
    assert user.active is True
    assert user.clinic.name == "Clinica Milano"
    assert count(Clinic) == 1


def test_staff_create_password_is_verifiable(runner):
    assert staff_create(runner).exit_code == 0
    user = db.session.scalar(sa.select(StaffUser))
    assert check_password(user.password_hash, "a long enough password")
    assert not check_password(user.password_hash, "a long enough passwor")


def test_staff_create_reuses_an_existing_clinic(runner):
    assert staff_create(runner, "eva@clinic.example").exit_code == 0
    result = staff_create(runner, "ugo@clinic.example", "Clinica Milano", "another password",
                          "--role", "practitioner")
    assert result.exit_code == 0, result.output
    assert count(Clinic) == 1
    users = db.session.scalars(sa.select(StaffUser).order_by(StaffUser.email)).all()
    assert [(u.email, u.role, u.clinic.name) for u in users] == [
        ("eva@clinic.example", "admin", "Clinica Milano"),
        ("ugo@clinic.example", "practitioner", "Clinica Milano"),
    ]


def test_staff_create_lowercases_the_email(runner):
    assert staff_create(runner, "Eva@Clinic.Example").exit_code == 0
    assert db.session.scalar(sa.select(StaffUser.email)) == "eva@clinic.example"


@pytest.mark.parametrize("email", ["eva@clinic.example", "EVA@clinic.example"])
def test_staff_create_duplicate_email_fails(runner, email):
    assert staff_create(runner).exit_code == 0
    result = staff_create(runner, email, "Other Clinic")
    assert_clean_failure(result, "already exists")
    assert count(StaffUser) == 1
    assert count(Clinic) == 1


def test_staff_create_short_password_fails(runner):
    result = staff_create(runner, password="tiny7")
    assert_clean_failure(result, "at least 10 characters")
    assert count(StaffUser) == 0
    assert count(Clinic) == 0


def test_staff_create_bad_email_fails(runner):
    result = staff_create(runner, email="not-an-email")
    assert_clean_failure(result, "not an email address")
    assert count(StaffUser) == 0


# -- patients enrol (and its old name, enroll) -----------------------------------------------


def enrol(runner, *extra, clinic="Clinica Roma", command="enrol"):
    return runner.invoke(args=["patients", command, "--clinic", clinic, "--name", "Maria Rossi",
                               "--area", "face", "--session", "2026-11-20T10:00",
                               "--tz", "Europe/Rome", *extra])


@pytest.mark.parametrize("command", ["enrol", "enroll"])
def test_patients_enrol_prints_the_invite_link_last(runner, command):
    clinic = create_clinic()
    result = enrol(runner, "--sessions", "5", "--interval-weeks", "2", command=command)
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    match = INVITE_LINE.match(last)
    assert match, last
    token = match.group(1)
    patient = db.session.scalar(sa.select(Patient))
    assert patient.name == "Maria Rossi"
    assert patient.clinic_id == clinic.id
    assert patient.invite_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in patient.invite_hash
    course = db.session.scalar(sa.select(Course))
    assert (course.area, course.planned_sessions, course.interval_weeks, course.timezone) == (
        "face", 5, 2, "Europe/Rome")
    session = db.session.scalar(sa.select(TreatmentSession))
    assert session.number == 1
    assert session.starts_at.isoformat() == "2026-11-20T09:00:00+00:00"


def test_patients_enrol_link_opens_the_app(runner, client):
    create_clinic()
    result = enrol(runner)
    token = INVITE_LINE.match(result.output.strip().splitlines()[-1]).group(1)
    response = open_invite(client, token)
    assert response.status_code == 303
    assert response.headers["Location"] == "/today"


def test_patients_enrol_unknown_clinic_fails_cleanly(runner):
    result = enrol(runner, clinic="Nowhere")
    assert_clean_failure(result, "no clinic named 'Nowhere'")
    assert count(Patient) == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--area", "neck"], "unknown area"),
        (["--tz", "Mars/Olympus"], "unknown time zone"),
        (["--session", "2026-03-29T02:30"], "does not exist"),
        (["--session", "soon"], "not a date and time"),
        (["--sessions", "13"], "between 1 and 12"),
        (["--interval-weeks", "0"], "between 1 and 12"),
        (["--name", "   "], "1 to 120 characters"),
        (["--name", "x" * 121], "1 to 120 characters"),
    ],
)
def test_patients_enrol_bad_input_fails_cleanly(runner, args, needle):
    create_clinic()
    assert_clean_failure(enrol(runner, *args), needle)
    assert count(Patient) == 0
    assert count(Course) == 0


def test_patients_help_names_enrol_and_the_old_name_still_answers(runner):
    listing = runner.invoke(args=["patients", "--help"])
    assert listing.exit_code == 0, listing.output
    commands = listing.output.split("Commands:")[1].split()
    assert "enrol" in commands and "enroll" not in commands  # the alias is not advertised
    old = runner.invoke(args=["patients", "enroll", "--help"])
    assert old.exit_code == 0, old.output
    assert "Usage: patients enrol " in old.output or "patients enrol [OPTIONS]" in old.output


# -- demo ------------------------------------------------------------------------------------


def test_demo_is_idempotent_and_prints_where_to_click(runner, client):
    tokens = []
    for _ in range(2):
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        lines = result.output.strip().splitlines()
        assert lines[0] == (f"Staff sign-in:  http://localhost/staff/sign-in  "
                            f"({DEMO_EMAIL} / {DEMO_PASSWORD})")
        match = re.fullmatch(r"Patient link:   (http://localhost/i/([A-Za-z0-9_-]{43,}))",
                             lines[-1])
        assert match, lines[-1]
        tokens.append(match.group(2))
        assert count(Clinic) == 1
        assert count(StaffUser) == 1
        assert count(Patient) == 1
        assert count(Course) == 1
        assert count(TreatmentSession) == 1
    clinic = db.session.scalar(sa.select(Clinic))
    assert clinic.name == DEMO_CLINIC
    assert clinic.phone
    patient = db.session.scalar(sa.select(Patient))
    assert patient.name == DEMO_PATIENT
    # The second run hands out a fresh link; that is the one that works.
    assert tokens[0] != tokens[1]
    assert patient.invite_hash == hashlib.sha256(tokens[1].encode()).hexdigest()
    assert open_invite(client, tokens[0]).status_code == 404
    response = open_invite(client, tokens[1])
    assert response.status_code == 303
    assert client.get("/today").status_code == 200
    # The printed credentials work.
    staff = client.application.test_client()
    assert sign_in(staff, DEMO_EMAIL, DEMO_PASSWORD).status_code == 303
