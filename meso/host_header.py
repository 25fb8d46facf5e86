"""The Host header in lower case before anyone compares it.

Host names are case-insensitive (RFC 9110 §4.2.3), but Werkzeug compares a request's Host with
TRUSTED_HOSTS as written: a phone or proxy sending "Aftercare.Clinic.example" would get a 400.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LowercaseHost:
    """WSGI middleware: lower-case HTTP_HOST (after ProxyFix, which may have set it)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        host = environ.get("HTTP_HOST")
        if host:
            environ["HTTP_HOST"] = host.lower()
        return self.app(environ, start_response)
