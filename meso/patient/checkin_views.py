"""Check-in routes: the form page, and POST /checkins (a form, or JSON from the offline queue).

Both answer a repeated submission (same idempotency key) with the first one's result, so a
phone that lost the answer can simply send again.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, render_template, request
from flask_babel import gettext as _

from meso import checkins
from meso.extensions import db
from meso.models import CheckIn, Patient, utcnow
from meso.patient.views import patient_required

bp = Blueprint("checkins", __name__)


@bp.app_template_global()
def checkin_today(patient: Patient) -> CheckIn | None:
    """The patient's latest check-in of their local today (for the card on Today)."""
    return checkins.latest_on(patient.id, local_now(patient).date())


@bp.app_template_global()
def local_now(patient: Patient) -> datetime:
    """Now in the patient's zone: when a page was rendered, as its offline note says."""
    return utcnow().astimezone(ZoneInfo(patient.course.timezone))


@bp.app_template_global()
def checkin_owner(patient: Patient) -> str:
    """A pseudonym of the patient for the phone's check-in queue (not their id).

    A queued check-in carries it, so one made by patient A is never sent, or stored, under
    patient B when B later opens their own link on the same phone.
    """
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"checkin-owner:{patient.id}".encode(), "sha256").hexdigest()[:20]


@bp.app_template_global()
def new_checkin_key() -> str:
    """A fresh idempotency key for a form (JavaScript makes its own for each submission)."""
    return secrets.token_hex(16)


@bp.get("/checkins/new")
@patient_required
def new():
    return render_template("patient/checkin.html", patient=g.patient, errors={}, values={})


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
        and hmac.compare_digest(owner.encode(), checkin_owner(g.patient).encode())
    ):
        # Someone else's queued check-in, left on a shared phone: never store it here.
        return {"errors": {"owner": _("This check-in was made by another person.")}}, 400
    now = utcnow()
    submission, errors = checkins.parse(data, now)
    if submission is None:
        if as_json:
            return {"errors": errors}, 400
        return render_template(
            "patient/checkin.html", patient=g.patient, errors=errors, values=data
        ), 400
    try:
        checkin, created = checkins.record(g.patient, submission, now)
    except checkins.DayFull as full:
        # A 400 with the reason, not a 429: waiting never helps (the check-in stays dated to
        # that day), and the offline queue drops a 400 with errors but retries a 429 forever.
        errors = {"at": str(full)}
        if as_json:
            return {"error": str(full), "errors": errors}, 400
        return render_template(
            "patient/checkin.html", patient=g.patient, errors=errors, values=data
        ), 400
    db.session.commit()
    if as_json:
        return checkins.result(checkin), 201 if created else 200
    return render_template(
        "patient/checkin_result.html", patient=g.patient, checkin=checkin,
        guidance=checkins.guidance(checkin),
    )


def form_data() -> dict:
    form = request.form
    return {
        "key": form.get("key"),
        "feeling": form.get("feeling"),
        "symptoms": form.getlist("symptoms"),
        "at": form.get("at"),
    }
