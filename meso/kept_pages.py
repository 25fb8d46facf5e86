"""Kept patient pages answered before Flask: the request a phone makes most, made cheap.

Today and the Timeline are rendered once per change (meso/page_cache.py), but serving a kept
one still paid for Flask's whole request: its contexts, the session, ORM objects for the
device, patient, clinic, settings and course, and the after-request handlers. That was about
1 ms, five hello worlds. Here a ``GET /today`` or ``GET /timeline`` whose page is kept is
answered with one SQL statement (those rows as plain values) and the same key, filling,
validator, compression and headers as Flask's path (meso/patient/pages.py, page_cache.key_of,
pages.Prepared and pages.encoded).

Everything else goes on to Flask, which answers it as before and keeps what the next request
needs: a query string, HEAD, another host, no device cookie or no session with a CSRF secret
yet, a device unknown, revoked or archived (Flask's page explains), a device last seen over an
hour ago (Flask notes it), a page not kept (Flask makes it), the minute's words not formatted
yet in that language (Flask formats them). tests/test_kept_pages.py checks that both paths give
the same answers, and MESO_KEPT_PAGES=0 turns this path off.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import SecurityError
from werkzeug.http import http_date, is_resource_modified, parse_cookie
from werkzeug.wsgi import get_host

from meso import access, locales, logging_setup, models, page_cache
from meso.models import Clinic, ClinicSettings, Course, Patient, PatientDevice
from meso.patient import pages
from meso.timeutil import iso

log = logging.getLogger(__name__)

PAGES = {"/today": "today", "/timeline": "timeline"}
# How long a session cookie, once its signature checked, is taken without checking it again.
SESSION_CHECKED_FOR = 60.0
SESSIONS_KEPT = 2048

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _facts() -> sa.Select:
    """What a kept page's key, filling and validator need, by the device cookie's hash."""
    return (
        sa.select(PatientDevice.revoked_at, PatientDevice.last_seen_at,
                  Patient.id.label("patient_id"), Patient.version, Patient.archived_at,
                  Patient.lang.label("patient_lang"), Clinic.id.label("clinic_id"),
                  Clinic.name, Clinic.phone, Clinic.timezone.label("clinic_timezone"),
                  Clinic.lang.label("clinic_lang"), Course.timezone.label("course_timezone"),
                  ClinicSettings.clinic_id.label("settings_row"),
                  *(column.label(f"setting_{column.key}")
                    for column in page_cache.SETTINGS_COLUMNS))
        .join(Patient, Patient.id == PatientDevice.patient_id)
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .outerjoin(ClinicSettings, ClinicSettings.clinic_id == Clinic.id)
        .outerjoin(Course, Course.patient_id == Patient.id)
        .where(PatientDevice.token_hash == sa.bindparam("token_hash"))
    )


FACTS = _facts()
SETTING_COLUMNS = tuple(f"setting_{column.key}" for column in page_cache.SETTINGS_COLUMNS)


class KeptPages:
    """WSGI middleware, innermost (it sees the host and scheme as ProxyFix left them)."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp, headers: dict[str, str]) -> None:
        self.app, self.wsgi_app = app, wsgi_app
        self.headers = [*headers.items(), ("Cache-Control", "no-store"),
                        ("Vary", "Accept-Encoding, Cookie")]
        self.sessions: dict[str, tuple[float, str | None]] = {}
        self.tokens: dict[str, str] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        name = PAGES.get(environ.get("PATH_INFO", ""))
        if (name is not None and environ.get("REQUEST_METHOD") == "GET"
                and not environ.get("QUERY_STRING") and self.app.config["MESO_KEPT_PAGES"]):
            try:
                answer = self.answer(name, environ)
            except Exception:
                if self.app.testing:
                    raise
                # Flask's path answers instead: a fault here must cost speed, not the page.
                log.exception("kept page: answered by Flask instead")
                answer = None
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def answer(self, name: str, environ: dict[str, Any]):
        config = self.app.config
        try:
            get_host(environ, config["TRUSTED_HOSTS"])
        except SecurityError:
            return None
        cookies = parse_cookie(environ.get("HTTP_COOKIE"))
        token = access.device_token(cookies, config)
        secret = self.csrf_secret(cookies.get(config["SESSION_COOKIE_NAME"]))
        if token is None or secret is None:
            return None
        with database_engine(self.app).connect() as connection:
            row = connection.execute(FACTS, {"token_hash": access.hash_token(token)}).first()
        now = models.utcnow()
        if (row is None or not access.is_live(row.revoked_at, row.archived_at)
                or now - row.last_seen_at > access.LAST_SEEN_EVERY):
            return None
        locale = locales.locale_of(locales.lang_of(row.patient_lang, row.clinic_lang))
        key = page_cache.key_of(
            self.app.extensions["meso_page_build"], name, row.patient_id, row.version, locale,
            config.get("MESO_EMERGENCY_NUMBER"),
            (row.clinic_id, row.name, row.phone, row.clinic_timezone),
            None if row.settings_row is None else [row._mapping[c] for c in SETTING_COLUMNS])
        marked = self.app.extensions["meso_page_cache"].get(key)
        if marked is None:
            return None
        zone = ZoneInfo(row.course_timezone or row.clinic_timezone)
        minute = now.astimezone(zone).replace(second=0, microsecond=0)
        served = pages.served_words(iso(minute), locale)
        if served is None:
            return None
        return self.respond(environ, pages.prepared(key, marked), served, secret)

    def respond(self, environ: dict[str, Any], page: pages.Prepared, served: pages.Served,
                secret: str):
        tag = f'W/"{page.tag(secret)}"'
        headers = [("ETag", tag), ("Date", http_date()),
                   (logging_setup.REQUEST_ID_HEADER, logging_setup.pick_request_id(
                       environ.get("HTTP_X_REQUEST_ID", ""))), *self.headers]
        if not is_resource_modified(environ, tag):
            return "304 NOT MODIFIED", headers, b""
        values = pages.fill_values(page, served, lambda: self.csrf_token(secret),
                                   lambda: secrets.token_hex(16))
        body, encoding = pages.encoded(page, values, environ.get("HTTP_ACCEPT_ENCODING", ""),
                                       self.app)
        if encoding is not None:
            headers.append(("Content-Encoding", encoding))
        return "200 OK", [("Content-Type", "text/html; charset=utf-8"),
                          ("Content-Length", str(len(body))), *headers], body

    def csrf_secret(self, cookie: str | None) -> str | None:
        """The session's CSRF secret, as Flask would load the session; None for no session,
        one without a secret yet, or a permanent one (Flask would send it again)."""
        if not cookie:
            return None
        found = self.sessions.get(cookie)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        interface = self.app.session_interface
        if type(interface) is not SecureCookieSessionInterface:
            return None
        serializer = interface.get_signing_serializer(self.app)
        if serializer is None:
            return None
        try:
            data = serializer.loads(cookie, max_age=int(
                self.app.permanent_session_lifetime.total_seconds()))
        except BadSignature:
            data = {}
        value = data.get(self.app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        secret = value if isinstance(value, str) and not data.get("_permanent") else None
        with self.lock:
            if len(self.sessions) >= SESSIONS_KEPT:
                self.sessions.clear()
            self.sessions[cookie] = (time.monotonic() + SESSION_CHECKED_FOR, secret)
        return secret

    def csrf_token(self, secret: str) -> str:
        """Flask-WTF's generate_csrf for this session's secret (its secret key and salt).
        Its tokens never expire here (WTF_CSRF_TIME_LIMIT is None: a token lives as long
        as its session), so one signed token serves the session's every page."""
        config = self.app.config
        signed = self.tokens.get(secret) if config["WTF_CSRF_TIME_LIMIT"] is None else None
        if signed is None:
            key = cast(str | bytes, config.get("WTF_CSRF_SECRET_KEY") or self.app.secret_key)
            signed = URLSafeTimedSerializer(key, salt="wtf-csrf-token").dumps(secret)
            with self.lock:
                if len(self.tokens) >= SESSIONS_KEPT:
                    self.tokens.clear()
                self.tokens[secret] = signed
        return signed


def database_engine(app: Flask) -> sa.Engine:
    """The app's engine, looked up once (db.engine wants an app context per call)."""
    engine = app.extensions.get("meso_kept_pages_engine")
    if engine is None:
        from meso.extensions import db

        with app.app_context():
            engine = app.extensions["meso_kept_pages_engine"] = db.engine
    return engine
