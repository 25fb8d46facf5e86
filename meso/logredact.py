"""Keep names, tokens and other secrets out of log lines.

Log files travel further than the database (to hosting consoles, support tickets, backups), so
nothing a patient or a staff member typed, and no bearer token, may reach one. The app never
logs such values on purpose; these rules catch the ways they slip in anyway: request lines in
access logs, and database errors quoting the values of the statement that failed.
"""

from __future__ import annotations

import logging
import re

# /i/<token> and /staff/i/<token>: invite and password links; /cal/<token>.ics: a patient's
# calendar feed (webcal:// links too); /email/confirm/<token> and /unsubscribe/<token>: the
# links in e-mails to patients. Their token must never be logged.
_TOKEN_PATH = re.compile(r"(/i/|/cal/|/email/confirm/|/unsubscribe/)[A-Za-z0-9_\-%.~]+")
# Query values, in request lines or URLs: only these keys are known to hold nothing personal
# (the roster's sort, paging and filters); any other value (a name searched for) is redacted.
SAFE_QUERY_KEYS = frozenset({"sort", "page", "attention", "archived"})
_QUERY_VALUE = re.compile(r"([?&;])([^=&\s\"'#?]{1,64})=([^&\"'#]*?)(?=[&\"'#]| HTTP/|\s*$)")
# Addresses in messages (staff sign-in names are e-mail addresses).
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# SQLAlchemy's errors quote the statement's values ("[parameters: ('Maria Rossi', ...)]") and
# PostgreSQL's name the duplicate value ("DETAIL:  Key (email)=(anna@…) already exists.").
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(?:\(Background on this error|$))",
                             re.DOTALL)
_SQL_KEY_DETAIL = re.compile(r"(Key \([^)]*\)=\().*?(\) )", re.DOTALL)

REDACTED = "[redacted]"


def _query_value(match: re.Match) -> str:
    separator, key, _value = match.groups()
    if key.lower() in SAFE_QUERY_KEYS:
        return match.group(0)
    return f"{separator}{key}={REDACTED}"


def redact(text: str) -> str:
    """Return ``text`` with tokens in links, personal query values and addresses redacted."""
    text = _TOKEN_PATH.sub(rf"\1{REDACTED}", text)
    if "=" in text:
        text = _QUERY_VALUE.sub(_query_value, text)
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    return text


def redact_exception(text: str) -> str:
    """Return a formatted traceback without the values of a failed SQL statement."""
    text = _SQL_PARAMETERS.sub(f"[parameters: {REDACTED}]", text)
    text = _SQL_KEY_DETAIL.sub(rf"\1{REDACTED}\2", text)
    return redact(text)


class RedactTokens(logging.Filter):
    """Redact a record's message and traceback in place, before any handler formats it.

    Attached to handlers (every record that reaches them passes, whichever logger made it)
    and to the loggers that write request lines.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_meso_redacted", False):
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_exception(record.exc_text)
        record._meso_redacted = True
        return True
