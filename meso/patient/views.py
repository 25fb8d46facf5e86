"""Patient blueprint: the invite landing, Today, the Timeline and the plan as JSON."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from meso import access, accesscode, policy
from meso.extensions import db
from meso.models import utcnow
from meso.patient import cards, pages, presenters

bp = Blueprint("patient", __name__)

# A device's last-seen time is written at most this often, so reading a page is not a write.
LAST_SEEN_EVERY = timedelta(hours=1)


@bp.get("/i/<token>")
def open_invite(token: str):
    """Turn a valid invite into a device cookie and go to a clean /today (no token in the bar)."""
    now = utcnow()
    patient = access.patient_for_invite(token, now)
    if patient is None:
        return render_template("patient/invalid_link.html"), 404
    device_token = access.add_device(patient, now)
    db.session.commit()
    response = redirect(url_for("patient.today"), code=303)
    access.set_device_cookie(response, device_token)
    # The token is in this URL: nothing may carry it on as a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def patient_required(view):
    """Load the patient from the device cookie; without one, explain how to get in."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        device = access.device_for_cookie(request.cookies.get(current_app.config["DEVICE_COOKIE"]))
        if device is None:
            # Scripts (the API, the offline check-in queue, push) get JSON, people a page.
            if request.path.startswith("/api/") or request.is_json:
                return {"error": "not signed in: open the link from your clinic"}, 401
            return render_template("patient/no_access.html"), 401
        now = utcnow()
        if now - device.last_seen_at > LAST_SEEN_EVERY:
            device.last_seen_at = now
            db.session.commit()
        g.patient = device.patient
        return view(*args, **kwargs)

    return wrapped


@bp.get("/")
def home():
    return redirect(url_for("patient.today"))


@bp.get("/today")
@patient_required
def today():
    patient = g.patient
    return pages.render(
        "patient/today.html", patient, plan=policy.plan_for(patient),
        checkin_today=cards.checkin_today(patient), reminders_card=cards.reminders_card(patient),
        access_code=accesscode.code_for(patient),
    )


@bp.get("/timeline")
@patient_required
def timeline():
    patient = g.patient
    plan = policy.plan_for(patient)
    blocks = presenters.timeline_blocks(policy.timeline_for(patient), plan.at.date())
    return pages.render("patient/timeline.html", patient, plan=plan, blocks=blocks)


@bp.get("/api/plan")
@patient_required
def api_plan():
    return policy.plan_for(g.patient).to_json()
