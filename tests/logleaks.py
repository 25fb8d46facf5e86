"""The suite's log-leak check: every log line the run produced, searched for every secret it used.

At the start of the session a handler on the root logger records every formatted line (all
loggers, DEBUG and up), and the app's choke points feed a registry with the sensitive values
the tests make or send: patient names and e-mail addresses, staff addresses, every bearer
token (`new_token`), access code, password (hashed or checked), push endpoint and key, and each
check-in's key and answers. At the end of the session any registered value found in any line
fails the run. Lines from servers run as subprocesses (gunicorn) are added with ``add_lines``.

conftest.py imports the two hooks; tests/test_log_leaks.py shows the check failing a run.
"""

from __future__ import annotations

import functools
import logging
import sys
from dataclasses import dataclass, field

import pytest

# Columns whose values must never be logged, by model class name.
SENSITIVE_COLUMNS = {
    "Patient": ("name", "email", "phone"),
    "StaffUser": ("email",),
    "StaffInvite": ("email",),
    "PushSubscription": ("endpoint", "p256dh", "auth"),
    "OutboundEmail": ("to_address",),
    "EmailConfirmation": ("address", "nonce"),
    "CheckIn": ("idempotency_key", "symptoms", "note"),
}
# Request fields (form, JSON or query string) whose values are names or secrets.
SENSITIVE_FIELDS = ("name", "email", "password", "confirm", "code", "q", "endpoint", "p256dh",
                    "auth", "key", "note")
MAX_BODY = 64 * 1024  # bodies larger than this are never read by the hook


def meaningful(value) -> bool:
    """Whether a value is specific enough to search for (not "face", "3" or "aaaaaa")."""
    if not isinstance(value, str):
        return False
    value = value.strip()
    return len(value) >= 5 and len(set(value)) >= 3 and not value.isdigit()


@dataclass
class LeakCheck:
    lines: list[str] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)  # value -> what it is

    def remember(self, kind: str, value) -> None:
        if meaningful(value):
            self.secrets.setdefault(value.strip(), kind)

    def add_lines(self, source: str, lines) -> None:
        """Add lines some other process logged (a gunicorn server's output)."""
        self.lines.extend(f"{source}: {line}" for line in lines)

    def leaks(self) -> list[tuple[str, str, str]]:
        """Return (kind, value, line) for every registered value found in a line."""
        text = "\n".join(self.lines)
        found = []
        for value, kind in self.secrets.items():
            if value in text:
                found.append((kind, value, next(line for line in self.lines if value in line)))
        return found


CHECK = LeakCheck()


class LineRecorder(logging.Handler):
    """Keep every formatted line (message and traceback) of every record that reaches root."""

    def __init__(self, check: LeakCheck):
        super().__init__(logging.DEBUG)
        self.check = check
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.check.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted is logging's own error
            self.handleError(record)


# -- feeding the registry from the app's choke points ---------------------------------------

def _wrap(function, kind: str, argument: int | None, check: LeakCheck):
    """Wrap ``function`` so its result (argument None) or an argument is remembered."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        result = function(*args, **kwargs)
        value = result if argument is None else (args[argument] if len(args) > argument
                                                 else None)
        check.remember(kind, value)
        if kind == "access code" and isinstance(value, str):
            check.remember(kind, value.replace("-", ""))
        return result

    wrapper.__wrapped_for_leaks__ = True
    return wrapper


def _wrap_everywhere(module, name: str, kind: str, argument: int | None, check: LeakCheck):
    """Replace ``module.name`` in every meso module that holds it (``from x import name``)."""
    original = getattr(module, name, None)
    if original is None or getattr(original, "__wrapped_for_leaks__", False):
        return
    wrapper = _wrap(original, kind, argument, check)
    for loaded in list(sys.modules.values()):
        if getattr(loaded, "__name__", "").startswith(("meso", "conftest")) \
                and getattr(loaded, name, None) is original:
            setattr(loaded, name, wrapper)


def _on_flush(check: LeakCheck, session) -> None:
    for obj in (*session.new, *session.dirty):
        for column in SENSITIVE_COLUMNS.get(type(obj).__name__, ()):
            value = getattr(obj, column, None)
            # A single check-in answer ("fever") is too plain to search for; several are not.
            if column == "symptoms" and "," not in (value or ""):
                continue
            check.remember(f"{type(obj).__name__}.{column}", value)


def _on_request(check: LeakCheck) -> None:
    from flask import request

    values = [(k, v) for k, v in request.args.items(multi=True)]
    if (request.content_length or 0) <= MAX_BODY:
        try:
            values += [(k, v) for k, v in request.form.items(multi=True)]
            body = request.get_json(silent=True) if request.is_json else None
        except Exception:  # a body the app refuses: the test is about that, not us
            body = None
        if isinstance(body, dict):
            values += [(k, v) for k, v in body.items()]
            keys = body.get("keys")
            values += [(k, v) for k, v in keys.items()] if isinstance(keys, dict) else []
    for key, value in values:
        if key in SENSITIVE_FIELDS:
            check.remember(f"request field {key}", value)


def install(check: LeakCheck) -> LineRecorder:
    """Record every log line and feed the registry; return the recorder (to remove it)."""
    import flask
    import sqlalchemy as sa
    import sqlalchemy.orm

    import meso.models
    import meso.passwords
    from meso import accesscode, patient_email

    # Modules imported later (blueprints) take the wrapped names from these.
    _wrap_everywhere(meso.models, "new_token", "token", None, check)
    _wrap_everywhere(meso.passwords, "hash_password", "password", 0, check)
    _wrap_everywhere(meso.passwords, "check_password", "password", 1, check)
    for name in ("issue", "code_for"):
        _wrap_everywhere(accesscode, name, "access code", None, check)
    # The links in e-mails to patients: HMACs, never stored, never logged.
    for name in ("confirmation_token", "unsubscribe_token"):
        _wrap_everywhere(patient_email, name, "e-mail link token", None, check)

    def after_flush(session, flush_context):
        _on_flush(check, session)

    def request_started(sender, **extra):
        _on_request(check)

    sa.event.listen(sqlalchemy.orm.Session, "after_flush", after_flush)
    flask.request_started.connect(request_started, weak=False)
    recorder = LineRecorder(check)
    logging.root.addHandler(recorder)
    logging.root.setLevel(logging.DEBUG)
    return recorder


# -- the hooks conftest.py imports ----------------------------------------------------------

def pytest_sessionstart(session) -> None:
    install(CHECK)


def pytest_sessionfinish(session, exitstatus) -> None:
    leaks = CHECK.leaks()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")

    def write(text: str, **markup) -> None:
        if reporter:
            reporter.write_line(text, **markup)
        else:
            print(text)

    if not leaks:
        write(f"log leak check: {len(CHECK.lines)} log lines, {len(CHECK.secrets)} secrets "
              "used by the tests, none of them logged")
        return
    for kind, value, line in leaks:
        write(f"LOG LEAK ({kind}) {value!r} in: {line[:300]}", red=True, bold=True)
    write(f"log leak check: {len(leaks)} secret(s) found in the logs", red=True, bold=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
