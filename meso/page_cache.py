"""Patient pages rendered once per change, kept in this process, or in Redis (REDIS_URL).

A patient's Today and Timeline change only when something is written (a session, the plan, a
window, a check-in, reminder settings...) or at a known instant (a window's end, local
midnight, the next session: recovery.next_change). So a rendered page is kept under a key
naming everything it was made from, until that instant:

- the patient's version, bumped in the same transaction by every write their pages could
  show (meso/page_versions.py), read from the patient's row, which the request loads anyway;
- the clinic's row and settings (name, phone, windows...), loaded in the same query, and
  the emergency number the pages name;
- the language, and the app's build (its code, templates and static files), so a release
  never serves a page made by the one before it;
- the deployment (its database and secret), so two sharing a Redis never meet.

A stale page can therefore never be found: a change makes a new key, time ends the old one.
The key lives in the database, the store only remembers: every gunicorn worker and machine
may keep its own copy, or share Redis. What differs between responses is kept as a marker
and filled in per request (meso/patient/pages.py: the CSRF token, a form's fresh key, the
time the page is served).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Protocol, cast

from flask import Flask, current_app
from flask_babel import get_locale

from meso.models import ClinicSettings, Patient

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "meso:page:"
DEFAULT_ENTRIES = 500  # about 8 MB of pages per process


class Store(Protocol):
    def get(self, key: str) -> str | None: ...
    def put(self, key: str, page: str, until: datetime) -> None: ...


class MemoryStore:
    """The most recently used pages of this process, each until its instant."""

    def __init__(self, entries: int = DEFAULT_ENTRIES):
        self.entries = entries
        self.pages: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self.lock = threading.Lock()  # gunicorn's threaded workers share one store

    def get(self, key: str) -> str | None:
        with self.lock:
            found = self.pages.get(key)
            if found is None:
                return None
            if found[0] <= time.time():
                del self.pages[key]
                return None
            self.pages.move_to_end(key)
            return found[1]

    def put(self, key: str, page: str, until: datetime) -> None:
        with self.lock:
            self.pages[key] = (until.timestamp(), page)
            self.pages.move_to_end(key)
            while len(self.pages) > self.entries:
                self.pages.popitem(last=False)


class RedisStore:
    """Pages shared by every process and machine, each expiring at its instant. A Redis that
    does not answer costs a render, never an error page."""

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.errors = (redis.RedisError, OSError)

    def get(self, key: str) -> str | None:
        try:
            found = self.client.get(key)
        except self.errors as exc:
            log.warning("page cache: Redis get failed (%s)", type(exc).__name__)
            return None
        return None if found is None else cast(bytes, found).decode("utf-8")

    def put(self, key: str, page: str, until: datetime) -> None:
        milliseconds = int((until.timestamp() - time.time()) * 1000)
        if milliseconds <= 0:
            return
        try:
            self.client.set(key, page.encode("utf-8"), px=milliseconds)
        except self.errors as exc:
            log.warning("page cache: Redis set failed (%s)", type(exc).__name__)


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    store: Store = (RedisStore(url) if url
                    else MemoryStore(int(app.config.get("MESO_PAGE_CACHE_ENTRIES",
                                                        DEFAULT_ENTRIES))))
    app.extensions["meso_page_cache"] = store
    deployment = f"{app.config['SECRET_KEY']}\0{app.config['SQLALCHEMY_DATABASE_URI']}"
    app.extensions["meso_page_build"] = hashlib.sha256(
        f"{deployment}\0{build_digest()}\0{sorted(app.extensions.get('meso_assets', {}).items())}"
        .encode()).hexdigest()[:16]


_digests: dict[str, str] = {}


def build_digest() -> str:
    """A digest of the code and templates the pages are made from (once a process)."""
    if "build" not in _digests:
        digest = hashlib.sha256()
        for folder, pattern in (("meso", "*.py"), ("templates", "*.html"),
                                ("translations", "*.mo")):
            for path in sorted((ROOT / folder).rglob(pattern)):
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
        _digests["build"] = digest.hexdigest()
    return _digests["build"]


def key(name: str, patient: Patient) -> str:
    """The key of a patient's page: what it was made from (see the module's docstring)."""
    clinic = patient.clinic
    settings = clinic.settings
    return key_of(
        current_app.extensions["meso_page_build"], name, patient.id, patient.version,
        str(get_locale()), current_app.config.get("MESO_EMERGENCY_NUMBER"),
        (clinic.id, clinic.name, clinic.phone, clinic.timezone),
        None if settings is None else [getattr(settings, column.key)
                                       for column in SETTINGS_COLUMNS])


# Every column of the clinic's settings (windows, first weeks, photos on or off...), but the
# time they were saved: a save that changes nothing keeps the pages.
SETTINGS_COLUMNS = tuple(column for column in ClinicSettings.__table__.columns
                         if column.key != "updated_at")


def key_of(build: str, name: str, patient_id: int, version: int, locale: str,
           emergency: str | None, clinic: tuple, settings: list | None) -> str:
    """The key from plain values, as Flask's path (``key``) and the path before Flask
    (meso/kept_pages.py, which reads them with one statement) both find them."""
    made_from = (build, name, patient_id, version, locale, emergency, *clinic,
                 None if settings is None else [
                     (column.key, value)
                     for column, value in zip(SETTINGS_COLUMNS, settings, strict=True)])
    return PREFIX + hashlib.sha256(repr(made_from).encode()).hexdigest()[:40]


def store() -> Store:
    return cast(Store, current_app.extensions["meso_page_cache"])
