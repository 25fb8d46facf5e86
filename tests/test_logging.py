"""Logs keep no names and no secrets: redaction on every logger, JSON lines with request ids."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import uuid

import pytest
import requests
import sqlalchemy.exc
from conftest import PASSWORD, create_clinic, create_staff, enrol_patient
from helpers import csrf_meta, wait_until
from logleaks import CHECK

from meso import create_app, logging_setup
from meso.extensions import db
from meso.logredact import redact, redact_exception

TOKEN = "Zq3xN0o-8sV_k2LmYpR4tUwAbCdEfGhIjKlMnOpQrSt"
VALUES = ("Zelda Canary",)  # of a failed statement: out of the traceback's source lines
HEX32 = re.compile(r"[0-9a-f]{32}")


class Lines(logging.Handler):
    """Keep the formatted lines and the records of everything that reaches this handler."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture
def root_lines():
    """A handler on the root logger, added before the app is made (as a host's would be)."""
    handler = Lines()
    logging.root.addHandler(handler)
    yield handler
    logging.root.removeHandler(handler)


def make_app(tmp_path, **config):
    settings = {"SECRET_KEY": "test-secret-key", "MESO_BASE_URL": "http://localhost",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'logging.sqlite3'}",
                "TESTING": True, **config}
    return create_app(settings, instance_path=str(tmp_path / "instance"))


# -- what is redacted -------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "expected"), [
    (f'"GET /i/{TOKEN} HTTP/1.1" 303 -', '"GET /i/[redacted] HTTP/1.1" 303 -'),
    (f'"GET /staff/i/{TOKEN} HTTP/1.1" 200 -', '"GET /staff/i/[redacted] HTTP/1.1" 200 -'),
    ('"GET /staff/?q=Maria+Rossi&sort=name&page=2 HTTP/1.1" 200 -',
     '"GET /staff/?q=[redacted]&sort=name&page=2 HTTP/1.1" 200 -'),
    ('"GET /staff/?sort=name&q=Maria%20Rossi HTTP/1.1" 200 -',
     '"GET /staff/?sort=name&q=[redacted] HTTP/1.1" 200 -'),
    # A raw space (a malformed request line) still ends at the protocol, not at the space.
    ("code 400, message Bad request syntax ('GET /staff/?q=Maria Rossi HTTP/1.1')",
     "code 400, message Bad request syntax ('GET /staff/?q=[redacted] HTTP/1.1')"),
    ('"GET /staff/sign-in?next=/staff/?q%3DMaria HTTP/1.1" 200 -',
     '"GET /staff/sign-in?next=[redacted] HTTP/1.1" 200 -'),
    ("sign-in refused for anna.bianchi@clinic.example", "sign-in refused for [email]"),
    ('"GET /today HTTP/1.1" 200 -', '"GET /today HTTP/1.1" 200 -'),
    ('"GET /staff/?attention=1&archived=1 HTTP/1.1" 200 -',
     '"GET /staff/?attention=1&archived=1 HTTP/1.1" 200 -'),
])
def test_tokens_search_terms_and_addresses_are_redacted(line, expected):
    assert redact(line) == expected


def test_failed_statements_lose_their_values_in_tracebacks():
    text = ("sqlalchemy.exc.IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed\n"
            "[SQL: INSERT INTO patient (name) VALUES (?)]\n[parameters: ('Maria [Rossi]',)]\n"
            "(Background on this error at: https://sqlalche.me/e/20/gkpj)\n"
            "DETAIL:  Key (email)=(anna@clinic.example) already exists.\n")
    cleaned = redact_exception(text)
    assert "Maria" not in cleaned and "Rossi" not in cleaned and "anna" not in cleaned
    assert "[parameters: [redacted]]" in cleaned
    assert "Key (email)=([redacted]) already exists." in cleaned


# -- where the filter sits --------------------------------------------------------------------

def test_a_root_handler_redacts_records_from_any_logger(tmp_path, root_lines):
    make_app(tmp_path)
    logging.getLogger("some.library").warning("fetched /i/%s", TOKEN)
    assert root_lines.lines == ["some.library fetched /i/[redacted]"]


@pytest.mark.parametrize("name", ["meso", "werkzeug", "gunicorn.access", "gunicorn.error"])
def test_request_loggers_redact_even_through_their_own_handlers(tmp_path, name):
    logger, handler = logging.getLogger(name), Lines()
    logger.addHandler(handler)
    logger.propagate = False
    try:
        make_app(tmp_path)
        logger.warning('"GET /i/%s HTTP/1.1" 303 -', TOKEN)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert handler.lines == [f'{name} "GET /i/[redacted] HTTP/1.1" 303 -']


def test_no_sql_value_is_logged_even_with_the_root_logger_at_debug(tmp_path, root_lines):
    logging.root.setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy").setLevel(logging.NOTSET)  # as a careless host might leave it
    app = make_app(tmp_path)
    with app.app_context():
        db.create_all()
        enrol_patient(create_clinic(), name="Zelda Canary")
        db.session.remove()
        db.engine.dispose()
    assert logging.getLogger("sqlalchemy").level == logging.WARNING
    assert not [line for line in root_lines.lines if "Zelda" in line]


def test_no_photo_metadata_is_logged_even_with_the_root_logger_at_debug(tmp_path, root_lines):
    """Pillow logs each EXIF tag it reads at DEBUG: a photo's GPS position, its phone."""
    from photo_helpers import jpeg

    from meso import photos

    logging.root.setLevel(logging.DEBUG)
    logging.getLogger("PIL").setLevel(logging.NOTSET)
    make_app(tmp_path)
    photos.process(jpeg(gps=True))
    assert logging.getLogger("PIL").level == logging.WARNING
    assert not [line for line in root_lines.lines if "GPS" in line or "PhoneMaker" in line]


# -- request ids ------------------------------------------------------------------------------

def test_every_response_carries_its_own_request_id(client):
    first = client.get("/staff/sign-in").headers["X-Request-ID"]
    second = client.get("/sw.js").headers["X-Request-ID"]
    assert HEX32.fullmatch(first) and HEX32.fullmatch(second) and first != second


def test_error_answers_carry_a_request_id_too(client):
    assert HEX32.fullmatch(client.get("/no-such-page").headers["X-Request-ID"])
    assert HEX32.fullmatch(client.get("/staff/sign-in?q=a%00b").headers["X-Request-ID"])


def test_a_plain_incoming_request_id_is_kept(client):
    incoming = str(uuid.uuid4())
    answer = client.get("/staff/sign-in", headers={"X-Request-ID": incoming})
    assert answer.headers["X-Request-ID"] == incoming


@pytest.mark.parametrize("incoming", [
    "Maria Rossi 0123456789", "0123abcd", "a" * 65, "0123456789abcdef\t0123456789abcdef",
    '0123456789abcdef" level=ERROR', "0123456789abcdef;ghij",
])
def test_any_other_incoming_request_id_is_replaced(client, incoming):
    answer = client.get("/staff/sign-in", headers={"X-Request-ID": incoming})
    assert HEX32.fullmatch(answer.headers["X-Request-ID"])


def test_log_lines_of_a_request_carry_its_id(app, client, root_lines):
    logging_setup.attach_filter()  # the handler came after the app fixture's create_app

    @app.get("/test/log")
    def log_something():
        app.logger.warning("something happened")
        return "ok"

    answer = client.get("/test/log")
    [record] = [r for r in root_lines.records if r.getMessage() == "something happened"]
    assert record.request_id == answer.headers["X-Request-ID"]


# -- formats ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("setting", "development", "expected"), [
    (None, False, "json"), ("", False, "json"), (None, True, "text"),
    ("text", False, "text"), (" JSON ", True, "json"),
])
def test_the_log_format_is_json_in_production_unless_chosen(setting, development, expected):
    assert logging_setup.choose_format(setting, development) == expected


def test_an_unknown_log_format_stops_the_app(tmp_path, monkeypatch):
    monkeypatch.setenv("MESO_LOG_FORMAT", "xml")
    with pytest.raises(RuntimeError, match="MESO_LOG_FORMAT must be json or text"):
        make_app(tmp_path)


@contextlib.contextmanager
def bare_root_logger():
    """A root logger with no handler, as in a fresh production process; restored after.

    Entered in the test itself: pytest adds its own handlers after the fixtures are set up.
    """
    saved, level = list(logging.root.handlers), logging.root.level
    for handler in saved:
        logging.root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in list(logging.root.handlers):
            logging.root.removeHandler(handler)
        for handler in saved:
            logging.root.addHandler(handler)
        logging.root.setLevel(level)


def logging_route(app):
    @app.get("/test/log")
    def log_something():
        app.logger.warning("opened /i/%s", TOKEN)
        try:
            raise sqlalchemy.exc.IntegrityError("INSERT", VALUES, Exception("dup"))
        except sqlalchemy.exc.IntegrityError:
            app.logger.exception("write failed")
        return "ok"


def test_production_logs_are_json_lines_with_the_request_id(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MESO_LOG_FORMAT", raising=False)
    with bare_root_logger():
        app = make_app(tmp_path, TESTING=False)
        logging_route(app)
        answer = app.test_client().get("/test/log")
    rid = answer.headers["X-Request-ID"]
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    opened, failed = [e for e in entries if e.get("request_id") == rid]
    assert opened["message"] == "opened /i/[redacted]"
    assert (opened["level"], opened["logger"]) == ("WARNING", "meso")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", opened["time"])
    assert "[parameters: [redacted]]" in failed["exc_info"]
    assert "Zelda" not in json.dumps(entries) and TOKEN not in json.dumps(entries)


def test_text_lines_when_chosen(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MESO_LOG_FORMAT", "text")
    with bare_root_logger():
        app = make_app(tmp_path, TESTING=False)
        logging_route(app)
        rid = app.test_client().get("/test/log").headers["X-Request-ID"]
    err = capsys.readouterr().err
    assert f"WARNING meso [{rid}] opened /i/[redacted]" in err
    assert "[parameters: [redacted]]" in err and "Zelda" not in err


# -- the roster search on a real server -------------------------------------------------------

def test_a_name_searched_for_is_found_but_never_logged(app, live_server):
    app.config["SESSION_COOKIE_SECURE"] = False  # plain http here: let requests keep the cookie
    clinic = create_clinic()
    create_staff(clinic)
    enrol_patient(clinic, name="Zelda Canary")
    enrol_patient(clinic, name="Other Person")
    staff = requests.Session()
    page = staff.get(f"{live_server}/staff/sign-in", timeout=10).text
    csrf = csrf_meta(page)
    staff.post(f"{live_server}/staff/sign-in", timeout=10,
               data={"email": "anna@clinic.example", "password": PASSWORD, "csrf_token": csrf})
    start = len(CHECK.lines)
    found = staff.get(f"{live_server}/staff/", params={"q": "Zelda Canary"}, timeout=10)
    assert "Zelda Canary" in found.text and "Other Person" not in found.text

    def search_line():
        return [line for line in CHECK.lines[start:] if "GET /staff/?q=" in line]

    [line] = wait_until(search_line, message="the access log line of the search")
    assert "GET /staff/?q=[redacted] HTTP/1.1" in line
    assert not [line for line in CHECK.lines[start:] if "Zelda" in line]
