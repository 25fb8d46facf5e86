"""Rendering a patient page: the template, with what every page's layout shows loaded here;
Today and the Timeline rendered once per change (meso/page_cache.py); and each page's
validator (ETag), so that a phone holding the same page is answered 304.

The layout (templates/patient/_layout.html) names when the page was served, in the patient's
zone, for its offline note, and carries the check-in queue's owner pseudonym; a check-in's
answer may need the emergency number (MESO_EMERGENCY_NUMBER). The views pass everything
else. Templates only read: no helper of theirs queries the database.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from flask import current_app, g, make_response, render_template, request, session
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

from meso import checkins, formatting, page_cache, policy
from meso.models import Patient
from meso.timeutil import iso


@dataclass(frozen=True)
class Served:
    """When the page is served, as the offline note writes it."""

    iso: str
    when: str
    clock: str


# What a kept page holds instead of what differs between responses; filled in by ``fill``.
MARKS = Served("@@meso:served-iso@@", "@@meso:served-when@@", "@@meso:served-clock@@")
CSRF_MARK = "@@meso:csrf@@"
FRESH_MARK = "@@meso:fresh@@"


def served(patient: Patient) -> Served:
    # To the minute, as the note shows it: a page served again within a minute is the same.
    now = policy.local_now(patient).replace(second=0, microsecond=0)
    return _served_at(iso(now), str(get_locale()), now)


@lru_cache(maxsize=256)
def _served_at(stamp: str, locale: str, now: datetime) -> Served:
    """The note's words for one local minute in one language, formatted once (Babel's
    formatting is a fair part of serving a kept page). Keyed by the ISO text, which holds
    the wall time and its offset: instants equal in UTC but local to other zones differ."""
    return Served(stamp, formatting.when(now), formatting.clock(now))


def render(template: str, patient: Patient, served_at: Served | None = None,
           **context) -> str:
    """Render a patient page (it extends the patient layout) for ``patient``."""
    return render_template(
        template, patient=patient, served=served_at or served(patient),
        checkin_owner=checkins.owner_pseudonym(patient),
        emergency_number=current_app.config["MESO_EMERGENCY_NUMBER"], **context,
    )


def fresh_token() -> str:
    """A value made new for each response (a form's idempotency key): random, and noted so
    that the page's ETag leaves it out and a kept page gets a new one each time."""
    value = secrets.token_hex(16)
    g.setdefault("fresh_values", []).append(value)
    return value


def kept(name: str, patient: Patient, make: Callable[[], tuple[str, datetime]]):
    """Answer the patient's page ``name`` from the page cache, or ``make`` it and keep it.

    ``make`` renders the page with ``served_at=MARKS`` and says until when it holds (the
    plan's next change). What differs between responses is marked in what is kept and filled
    in here: the CSRF token, fresh values, the time served.
    """
    store, key = page_cache.store(), page_cache.key(name, patient)
    marked = store.get(key)
    if marked is None:
        body, until = make()
        marked = mark(body)
        store.put(key, marked, until)
    return conditional(fill(marked, patient), tagged=marked)


def mark(body: str) -> str:
    """Replace this response's own values in a rendered page by their marks."""
    signed = g.get(csrf_field())
    if signed:
        body = body.replace(signed, CSRF_MARK)
    for value in g.get("fresh_values", []):
        body = body.replace(value, FRESH_MARK)
    return body


def fill(marked: str, patient: Patient) -> str:
    """A kept page with this response's values: the CSRF token, new fresh values, the time."""
    now = served(patient)
    body = marked
    for mark_, value in ((MARKS.iso, now.iso), (MARKS.when, now.when),
                         (MARKS.clock, now.clock)):
        body = body.replace(mark_, str(escape(value)))
    if CSRF_MARK in body:
        body = body.replace(CSRF_MARK, generate_csrf())
    return re.sub(re.escape(FRESH_MARK), lambda _: fresh_token(), body)


def csrf_field() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def conditional(body: str | dict, tagged: str | None = None):
    """Answer ``body`` (a page, or JSON) with a weak ETag, or 304 when the phone has it already.

    The service worker asks with If-None-Match for the page it keeps offline (static/sw.js);
    on a 304 it shows its copy. The tag covers ``tagged`` (a kept page with its marks), else
    the body without this response's own values: the CSRF token differs in every rendering
    (it is signed with a timestamp) while every rendering in one browser session accepts it,
    so the tag covers the session's token instead of its signed form, and a copy from another
    session is never confirmed; fresh values are new each time, and a phone shown its copy
    makes its own (static/js/checkins.js). Weak, because the bytes differ by encoding
    (Flask-Compress) while the page is the same. Cache-Control stays no-store: nothing on the
    way keeps it.
    """
    response = make_response(body)
    data = tagged.encode() if tagged is not None else mark(response.get_data(as_text=True))
    digest = hashlib.sha256(data if isinstance(data, bytes) else data.encode())
    digest.update(str(session.get(csrf_field(), "")).encode())
    response.set_etag(digest.hexdigest()[:32], weak=True)
    return response.make_conditional(request)
