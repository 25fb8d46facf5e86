"""Rendering a patient page: the template, with what every page's layout shows loaded here,
and the page's validator (ETag), so that a phone holding the same page is answered 304.

The layout (templates/patient/_layout.html) names when the page was rendered, in the patient's
zone, for its offline note, and carries the check-in queue's owner pseudonym; a check-in's
answer may need the emergency number (MESO_EMERGENCY_NUMBER). The views pass everything
else. Templates only read: no helper of theirs queries the database.
"""

from __future__ import annotations

import hashlib

from flask import current_app, g, make_response, render_template, request, session

from meso import checkins, policy
from meso.models import Patient


def render(template: str, patient: Patient, **context) -> str:
    """Render a patient page (it extends the patient layout) for ``patient``."""
    # To the minute, as the offline note shows it: a page rendered again within the same
    # minute is the same page, and keeps its ETag.
    rendered_at = policy.local_now(patient).replace(second=0, microsecond=0)
    return render_template(
        template, patient=patient, rendered_at=rendered_at,
        checkin_owner=checkins.owner_pseudonym(patient),
        emergency_number=current_app.config["MESO_EMERGENCY_NUMBER"], **context,
    )


def fresh(value: str) -> str:
    """Return ``value``, a value made new for each response (a form's idempotency key), noted
    so that the page's ETag leaves it out: two renderings differing only there are one page."""
    g.setdefault("fresh_values", []).append(value)
    return value


def conditional(body: str | dict):
    """Answer ``body`` (a page, or JSON) with a weak ETag, or 304 when the phone has it already.

    The service worker asks with If-None-Match for the page it keeps offline (static/sw.js);
    on a 304 it shows its copy. The CSRF token differs in every rendering (it is signed with
    a timestamp) while every rendering in one browser session accepts it, so the tag covers
    the session's token instead of its signed form: a copy from another session (another
    token) is never confirmed. Values made fresh for each response (``fresh``) are left out
    too: a phone shown its copy makes its own (static/js/checkins.js). Weak, because the bytes
    differ by encoding (Flask-Compress) while the page is the same. Cache-Control stays
    no-store: nothing on the way keeps it.
    """
    response = make_response(body)
    data = response.get_data()
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    # Flask-WTF keeps this request's signed token in g, and the raw one in the session.
    signed = g.get(field)
    for value in [signed, *g.get("fresh_values", [])]:
        if value:
            data = data.replace(value.encode(), b"")
    digest = hashlib.sha256(data)
    digest.update(str(session.get(field, "")).encode())
    response.set_etag(digest.hexdigest()[:32], weak=True)
    return response.make_conditional(request)
