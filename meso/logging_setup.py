"""Logging: every line redacted, JSON lines with a request id in production.

One configuration serves the app (`create_app`), the reminder worker and gunicorn
(`gunicorn.conf.py` hands `dict_config()` to gunicorn, so its access and error logs go through
the same handler, filter and format as the app's own lines).
"""

from __future__ import annotations

import logging
import logging.config
import os
import re
import secrets
from collections.abc import Mapping

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter

from meso.logredact import RedactTokens, redact, redact_exception

FORMATS = ("json", "text")
# Loggers that write request lines or sit outside the app's own "meso" tree: the filter goes
# on them and on their handlers as well as on the root handlers.
FILTERED_LOGGERS = ("meso", "werkzeug", "gunicorn.access", "gunicorn.error")
# Below WARNING these libraries log SQL parameter values (patient data) and the paths of push
# endpoints (capabilities to reach a patient's phone): never, whatever the root level.
QUIET_LOGGERS = {"sqlalchemy": logging.WARNING, "urllib3": logging.WARNING,
                 # Pillow logs every EXIF tag it reads or writes: a photo's GPS position.
                 "PIL": logging.WARNING}
# An incoming X-Request-ID (from a proxy such as nginx's $request_id, or a UUID) is kept only
# if it is this plain: no text a client could smuggle into a log line, no name.
REQUEST_ID = re.compile(r"[0-9A-Fa-f-]{16,64}")
REQUEST_ID_HEADER = "X-Request-ID"
# gunicorn's access line: the path without the query string, so no search term is ever in it.
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s %(M)sms"


def choose_format(setting: str | None, development: bool) -> str:
    """Return the log format: MESO_LOG_FORMAT if set, else text in debug/tests, JSON otherwise."""
    chosen = (setting or "").strip().lower()
    if not chosen:
        return "text" if development else "json"
    if chosen not in FORMATS:
        raise RuntimeError(f"MESO_LOG_FORMAT must be json or text, not {setting!r}")
    return chosen


def request_id() -> str | None:
    """Return this request's id (the proxy's if it is sane, else a new one); None outside one."""
    if not has_request_context():
        return None
    rid = g.get("request_id")
    if rid is None:
        rid = g.request_id = pick_request_id(request.headers.get(REQUEST_ID_HEADER, ""))
    return rid


def pick_request_id(incoming: str) -> str:
    """The proxy's request id if it is sane, else a new one."""
    return incoming if REQUEST_ID.fullmatch(incoming) else secrets.token_hex(16)


class LogFilter(RedactTokens):
    """Add the request id (and, for gunicorn's access lines, their fields), then redact."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_meso_redacted", False):
            return True
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            _access_fields(record, record.args)
        elif not hasattr(record, "request_id"):
            rid = request_id()
            if rid:
                record.request_id = rid
        return super().filter(record)


def _access_fields(record: logging.LogRecord, atoms: Mapping) -> None:
    """Copy what an access line says into fields of its own (for JSON), path redacted."""
    rid = atoms["{x-request-id}o"]
    if rid != "-":
        record.request_id = rid
    record.method, record.path = atoms["m"], redact(str(atoms["U"]))
    status = str(atoms["s"])
    record.status = int(status) if status.isdigit() else status
    record.duration_ms = atoms["M"]


class JsonLines(JsonFormatter):
    """One JSON object a line: time (UTC), level, logger, message, request id, traceback."""

    def __init__(self) -> None:
        super().__init__(["levelname", "name", "message"], timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger"})

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return redact_exception(str(super().formatException(ei)))

    def process_log_record(self, log_data: dict) -> dict:
        time = log_data.pop("time")
        return {"time": time, **{k: v for k, v in log_data.items() if v is not None}}


class TextLines(logging.Formatter):
    """Plain lines for development: time, level, logger, [request id], message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
                         defaults={"request_id": "-"})

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return redact_exception(super().formatException(ei))


def dict_config(log_format: str, gunicorn: bool = False) -> dict:
    """The logging configuration: one stderr handler on the root, filtered, in ``log_format``.

    With ``gunicorn`` (gunicorn.conf.py), gunicorn's access and error loggers lose their own
    handlers and write through the root's; otherwise they are left as gunicorn set them.
    """
    loggers: dict[str, dict] = {name: {"level": logging.getLevelName(level)}
               for name, level in QUIET_LOGGERS.items()}
    if gunicorn:
        loggers.update({name: {"handlers": [], "propagate": True}
                        for name in ("gunicorn.error", "gunicorn.access")})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": LogFilter}},
        "formatters": {"lines": {"()": JsonLines if log_format == "json" else TextLines}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                       "formatter": "lines", "filters": ["redact"]},
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": loggers,
    }


def attach_filter() -> None:
    """Put the filter on every root handler, and on the request-line loggers and handlers."""
    targets: list = list(logging.root.handlers)
    for name in FILTERED_LOGGERS:
        logger = logging.getLogger(name)
        targets += [logger, *logger.handlers]
    for target in targets:
        if not any(isinstance(f, LogFilter) for f in target.filters):
            target.addFilter(LogFilter())


def init_app(app: Flask) -> None:
    """Set up logging for the app: redaction everywhere, the format, the request id header."""
    log_format = choose_format(os.environ.get("MESO_LOG_FORMAT"), app.debug or app.testing)
    for name, level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    # A host that configured logging already (gunicorn through gunicorn.conf.py, a test
    # runner) keeps its handlers; they get the filter below.
    if not app.testing and not logging.root.handlers:
        logging.config.dictConfig(dict_config(log_format))
        app.logger.removeHandler(default_handler)
    attach_filter()

    @app.after_request
    def send_request_id(response):
        response.headers[REQUEST_ID_HEADER] = request_id()
        return response
