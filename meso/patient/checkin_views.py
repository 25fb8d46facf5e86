"""Check-in routes: the form page, and POST /checkins (a form, or JSON from the offline queue).

Both answer a repeated submission (same idempotency key) with the first one's result, so a
phone that lost the answer can simply send again.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, g, request
from flask_babel import gettext as _

from meso import checkins
from meso.extensions import db
from meso.models import utcnow
from meso.patient import pages
from meso.patient.views import patient_required

bp = Blueprint("checkins", __name__)


@bp.app_template_global()
def new_checkin_key() -> str:
    """A fresh idempotency key for a form (JavaScript makes its own for each submission)."""
    return secrets.token_hex(16)


@bp.get("/checkins/new")
@patient_required
def new():
    return pages.render("patient/checkin.html", g.patient, errors={}, values={})


@bp.post("/checkins")
@patient_required
def submit():
    as_json = request.is_json
    data = request.get_json(silent=True) if as_json else form_data()
    if not isinstance(data, dict):
        return {"error": "send a JSON object"}, 400
    owner = data.get("owner")
    if owner is not None and not (
        isinstance(owner, str)
        and hmac.compare_digest(owner.encode(), checkins.owner_pseudonym(g.patient).encode())
    ):
        # Someone else's queued check-in, left on a shared phone: never store it here.
        return {"errors": {"owner": _("This check-in was made by another person.")}}, 400
    now = utcnow()
    submission, errors = checkins.parse(data, now)
    if submission is None:
        if as_json:
            return {"errors": errors}, 400
        return pages.render("patient/checkin.html", g.patient, errors=errors, values=data), 400
    try:
        checkin, created = checkins.record(g.patient, submission, now)
    except checkins.DayFull as full:
        # A 400 with the reason, not a 429: waiting never helps (the check-in stays dated to
        # that day), and the offline queue drops a 400 with errors but retries a 429 forever.
        errors = {"at": str(full)}
        if as_json:
            return {"error": str(full), "errors": errors}, 400
        return pages.render("patient/checkin.html", g.patient, errors=errors, values=data), 400
    db.session.commit()
    if as_json:
        return checkins.result(checkin, submission.filled_at), 201 if created else 200
    return pages.render("patient/checkin_result.html", g.patient, checkin=checkin,
                        reasons=checkins.reasons(checkin, submission.filled_at))


def form_data() -> dict:
    """A form's fields as the JSON of a check-in: signs come as sign_<key>=<level>."""
    form = request.form
    signs = {name.removeprefix(checkins.SIGN_FIELD): form.get(name) for name in form
             if name.startswith(checkins.SIGN_FIELD)}
    return {
        "key": form.get("key"),
        "feeling": form.get("feeling"),
        "symptoms": form.getlist("symptoms"),
        "signs": signs or None,
        "trend": form.get("trend"),
        "at": form.get("at"),
    }
