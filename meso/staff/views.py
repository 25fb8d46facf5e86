"""Staff blueprint: sign-in, the clinic's patients, enrolment and invite links."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from meso import courses
from meso.access import invite_url
from meso.extensions import db
from meso.models import Patient, StaffUser, utcnow
from meso.passwords import check_password
from meso.staff.forms import EnrolForm, SignInForm

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("staff.roster"))
    form = SignInForm()
    if form.validate_on_submit():
        user = db.session.scalar(
            sa.select(StaffUser).where(StaffUser.email == form.email.data.strip().lower())
        )
        ok = check_password(user.password_hash if user else None, form.password.data)
        if ok and user.active:
            session.clear()
            login_user(user)
            return redirect(safe_next(request.args.get("next")), code=303)
        form.password.errors.append(_("Wrong email or password."))
        return render_template("staff/sign_in.html", form=form), 400
    status = 400 if form.errors else 200
    return render_template("staff/sign_in.html", form=form), status


def safe_next(target: str | None) -> str:
    """Return a local path to go to after sign-in; anything pointing elsewhere goes home."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("staff.roster")


@bp.post("/sign-out")
@login_required
def sign_out():
    logout_user()
    session.clear()
    return redirect(url_for("staff.sign_in"), code=303)


@bp.get("/")
@login_required
def roster():
    patients = db.session.scalars(
        sa.select(Patient)
        .where(Patient.clinic_id == current_user.clinic_id, Patient.archived_at.is_(None))
        .order_by(Patient.created_at.desc())
        .limit(100)
    ).all()
    return render_template("staff/roster.html", patients=patients)


@bp.route("/patients/new", methods=["GET", "POST"])
@login_required
def enrol():
    form = EnrolForm()
    if request.method == "GET":
        form.timezone.data = current_user.clinic.timezone
    if form.validate_on_submit():
        data = courses.Enrolment(
            name=form.name.data,
            area=form.area.data,
            first_session=form.first_session_utc,
            timezone=form.timezone.data,
            planned_sessions=form.planned_sessions.data,
            interval_weeks=form.interval_weeks.data,
        )
        patient, token = courses.enrol(
            current_user.clinic, data, current_app.config["INVITE_DAYS"]
        )
        db.session.commit()
        remember_invite(patient, token)
        return redirect(url_for("staff.invite", patient_id=patient.id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("staff/enrol.html", form=form), status


def remember_invite(patient: Patient, token: str) -> None:
    """Keep the new link in the signed session so the invite page can show it after a redirect.

    Only its hash is in the database; the link is shown to the staff member who made it.
    """
    session["invite"] = {"patient_id": patient.id, "token": token}


def clinic_patient(patient_id: int) -> Patient:
    """Return a patient of the signed-in staff member's clinic, or 404 for any other."""
    patient = db.session.scalar(
        sa.select(Patient).where(
            Patient.id == patient_id, Patient.clinic_id == current_user.clinic_id
        )
    )
    if patient is None:
        abort(404)
    return patient


@bp.get("/patients/<int:patient_id>/invite")
@login_required
def invite(patient_id: int):
    patient = clinic_patient(patient_id)
    kept = session.get("invite") or {}
    link = None
    if kept.get("patient_id") == patient.id:
        link = invite_url(kept["token"])
    expired = patient.invite_expires_at is None or patient.invite_expires_at <= utcnow()
    plan = courses.plan_for(patient)
    return render_template(
        "staff/invite.html", patient=patient, link=link, expired=expired, plan=plan
    )


@bp.post("/patients/<int:patient_id>/invite")
@login_required
def reissue_invite(patient_id: int):
    """Replace the patient's invite link: the old one stops working at once."""
    patient = clinic_patient(patient_id)
    token = patient.issue_invite(utcnow(), current_app.config["INVITE_DAYS"])
    db.session.commit()
    remember_invite(patient, token)
    return redirect(url_for("staff.invite", patient_id=patient.id), code=303)
