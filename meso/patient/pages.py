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

from flask import Flask, current_app, g, make_response, render_template, request, session
from flask_babel import get_locale
from flask_compress.flask_compress import _choose_algorithm, _compress_data
from flask_wtf.csrf import generate_csrf
from markupsafe import escape
from werkzeug.wrappers import Response

from meso import checkins, formatting, gzip_splice, page_cache, policy
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
    stamp, locale = iso(now), str(get_locale())
    words = served_words(stamp, locale)
    if words is None:
        words = _remember_served(Served(stamp, formatting.when(now), formatting.clock(now)),
                                 locale)
    return words


# The note's words for one local minute in one language, formatted once (Babel's formatting
# is a fair part of serving a kept page). Keyed by the ISO text, which holds the wall time and
# its offset: instants equal in UTC but local to other zones differ. The path before Flask
# (meso/kept_pages.py) only reads it: a minute not formatted yet is Flask's to serve.
_SERVED: dict[tuple[str, str], Served] = {}
SERVED_KEPT = 512


def served_words(stamp: str, locale: str) -> Served | None:
    return _SERVED.get((stamp, locale))


def _remember_served(words: Served, locale: str) -> Served:
    if len(_SERVED) >= SERVED_KEPT:
        _SERVED.clear()  # minutes pass: the old ones are never asked for again
    _SERVED[(words.iso, locale)] = words
    return words


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
    page = prepared(key, marked)
    data, encoding = encoded(page, fill(page, patient), request.headers.get("Accept-Encoding", ""),
                             current_app._get_current_object())  # type: ignore[attr-defined]
    response = make_response(data)
    if encoding is not None:
        response.headers["Content-Encoding"] = encoding  # Flask-Compress leaves it so
    return conditional(response, tag=page.tag(str(session.get(csrf_field(), ""))))


def mark(body: str) -> str:
    """Replace this response's own values in a rendered page by their marks."""
    signed = g.get(csrf_field())
    if signed:
        body = body.replace(signed, CSRF_MARK)
    for value in g.get("fresh_values", []):
        body = body.replace(value, FRESH_MARK)
    return body


ALL_MARKS = re.compile("(" + "|".join(re.escape(mark_) for mark_ in (
    MARKS.iso, MARKS.when, MARKS.clock, CSRF_MARK, FRESH_MARK)) + ")")


class Prepared:
    """A kept page split at its marks, its digest and its gzip pieces, once per process and
    page: serving it is then a join (or a splice) and a hash of a few bytes, not passes over
    the whole page."""

    def __init__(self, marked: str):
        self.marked = marked
        self.parts = ALL_MARKS.split(marked)  # text, mark, text, mark..., text
        self.digest = hashlib.sha256(marked.encode())
        self.pieces = [part.encode() for part in self.parts[0::2]]
        # The pieces in deflate, by the lengths of the values between them (the same for
        # nearly every response: tokens and keys have fixed lengths, the time rarely varies).
        self._deflated: dict[tuple[int, ...], list[bytes]] = {}

    def tag(self, session_secret: str) -> str:
        """The page's validator: the page with its marks, and the session's CSRF secret
        (see ``conditional``)."""
        digest = self.digest.copy()
        digest.update(session_secret.encode())
        return digest.hexdigest()[:32]

    def text(self, values: list[str]) -> str:
        parts = self.parts[:]
        parts[1::2] = values
        return "".join(parts)

    def gzipped(self, values: list[str]) -> bytes:
        """The filled page in gzip: its text compressed once (at the best level), the values
        spliced in (meso/gzip_splice.py)."""
        data = [value.encode() for value in values]
        lengths = tuple(len(value) for value in data)
        deflated = self._deflated.get(lengths)
        if deflated is None:
            if len(self._deflated) >= 4:
                self._deflated.clear()
            deflated = self._deflated[lengths] = gzip_splice.compressed_pieces(self.pieces,
                                                                               lengths)
        return gzip_splice.body(self.pieces, deflated, data)


_PREPARED: dict[str, Prepared] = {}
PREPARED_KEPT = 512


def prepared(key: str, marked: str) -> Prepared:
    """The kept page under ``key``, prepared (from Redis each get is a new string: compared)."""
    page = _PREPARED.get(key)
    if page is None or (page.marked is not marked and page.marked != marked):
        if len(_PREPARED) >= PREPARED_KEPT:
            _PREPARED.clear()
        page = _PREPARED[key] = Prepared(marked)
    return page


def fill(page: Prepared, patient: Patient) -> list[str]:
    """This response's values for a kept page's marks: the CSRF token, new fresh values, the
    time."""
    return fill_values(page, served(patient), generate_csrf, fresh_token)


def fill_values(page: Prepared, now: Served, csrf_token: Callable[[], str],
                fresh: Callable[[], str]) -> list[str]:
    """The values of a kept page's marks, in order: the time served, the CSRF token
    (``csrf_token`` is called once, and only if the page has a form) and a new value for
    each fresh mark."""
    known: dict[str, str] = {MARKS.iso: str(escape(now.iso)), MARKS.when: str(escape(now.when)),
                             MARKS.clock: str(escape(now.clock))}
    values = []
    for mark_ in page.parts[1::2]:
        if mark_ == FRESH_MARK:
            values.append(fresh())
            continue
        if mark_ not in known:
            known[mark_] = csrf_token()
        values.append(known[mark_])
    return values


# gzip first for a kept page: spliced from pieces compressed once (Prepared.gzipped), it is
# both the cheapest to send and, at the best level, smaller than brotli at the quality a
# per-response compression can afford. Every browser that sends Accept-Encoding takes gzip.
KEPT_ENCODINGS = ("gzip", "br")


def encoded(page: Prepared, values: list[str], accept_encoding: str,
            app: Flask) -> tuple[bytes, str | None]:
    """The filled page's bytes, and their Content-Encoding (None: as they are), as the
    client's Accept-Encoding allows. Flask's path and the one before it (meso/kept_pages.py)
    both answer with this."""
    algorithm = _choose_algorithm(KEPT_ENCODINGS, accept_encoding)
    if algorithm == "gzip":
        return page.gzipped(values), algorithm
    text = page.text(values).encode()
    if algorithm is None:
        return text, None
    return _compress_data(app, text, algorithm), algorithm  # brotli, as Flask-Compress would


def csrf_field() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def conditional(body: str | dict | Response, tag: str | None = None):
    """Answer ``body`` (a page, or JSON) with a weak ETag, or 304 when the phone has it already.

    The service worker asks with If-None-Match for the page it keeps offline (static/sw.js);
    on a 304 it shows its copy. The tag (``tag``, a kept page's: Prepared.tag) covers the body
    without this response's own values: the CSRF token differs in every rendering (it is
    signed with a timestamp) while every rendering in one browser session accepts it, so the
    tag covers the session's token instead of its signed form, and a copy from another
    session is never confirmed; fresh values are new each time, and a phone shown its copy
    makes its own (static/js/checkins.js). Weak, because the bytes differ by encoding
    (Flask-Compress) while the page is the same. Cache-Control stays no-store: nothing on the
    way keeps it.
    """
    response = make_response(body)
    if tag is None:
        tag = Prepared(mark(response.get_data(as_text=True))).tag(
            str(session.get(csrf_field(), "")))
    response.set_etag(tag, weak=True)
    return response.make_conditional(request)
