"""Admin pages: the clinic's staff accounts, its protocol settings and the audit log."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from meso import audit, clinics, opening_hours, policy
from meso.extensions import db
from meso.links import external_url
from meso.models import AuditEvent, ClinicSettings, Patient, StaffInvite, StaffUser, utcnow
from meso.staff import admin_required, bp, clinic_patient, clinic_staff, requested_page
from meso.staff.admin_forms import InviteForm, RoleForm, SettingsForm

AUDIT_PER_PAGE = 50
STAFF_LINK_KEY = "staff_link"


# -- staff accounts ---------------------------------------------------------------------------


@bp.get("/team")
@admin_required
def team(form: InviteForm | None = None, status: int = 200):
    members = db.session.scalars(
        sa.select(StaffUser).where(StaffUser.clinic_id == current_user.clinic_id)
        .order_by(StaffUser.active.desc(), StaffUser.email)).all()
    invites = db.session.scalars(
        sa.select(StaffInvite).where(StaffInvite.clinic_id == current_user.clinic_id,
                                     StaffInvite.used_at.is_(None),
                                     StaffInvite.expires_at > utcnow())
        .order_by(StaffInvite.created_at.desc())).all()
    kept = session.pop(STAFF_LINK_KEY, None) or {}  # shown once, then gone from the cookie
    link = None
    if kept and any(invite.id == kept.get("invite_id") for invite in invites):
        link = {"invite_id": kept["invite_id"], "email": kept["email"],
                "url": staff_link(kept["token"])}
    return render_template("staff/team.html", members=members, invites=invites, link=link,
                           zone=ZoneInfo(current_user.clinic.timezone),
                           form=form or InviteForm(),
                           password_link_for={m.id for m in members
                                              if may_make_password_link(current_user, m)},
                           role_forms={
                               m.id: RoleForm(prefix=f"role{m.id}", formdata=None, role=m.role)
                               for m in members}), status


def staff_link(token: str) -> str:
    return external_url("staff.join", token=token)


def keep_link(invite: StaffInvite, token: str) -> None:
    session[STAFF_LINK_KEY] = {"invite_id": invite.id, "token": token, "email": invite.email}


@bp.post("/team/invite")
@admin_required
def invite_colleague():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invite, token = clinics.invite_colleague(current_user, form.email.data,
                                                     form.role.data)
        except clinics.AccountError as exc:
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            keep_link(invite, token)
            return redirect(url_for("staff.team"), code=303)
    db.session.rollback()
    return team(form=form, status=400)


@bp.post("/team/<int:staff_id>/reset")
@admin_required
def reset_password(staff_id: int):
    user = clinic_staff(staff_id)
    if not may_make_password_link(current_user, user):
        # Whoever sets the password signs in as that admin: one admin could take over
        # another's account, and the audit log would name the victim for what follows.
        flash(_("You cannot make a password link for another admin: whoever opens it could "
                "sign in as them."), "error")
        return team(status=403)
    invite, token = clinics.reset_link(current_user, user)
    db.session.commit()
    keep_link(invite, token)
    return redirect(url_for("staff.team"), code=303)


def may_make_password_link(actor: StaffUser, user: StaffUser) -> bool:
    """An admin makes password links for practitioners and for themselves, never for
    another admin."""
    return user.role != "admin" or user.id == actor.id


@bp.post("/team/invites/<int:invite_id>/cancel")
@admin_required
def cancel_invite(invite_id: int):
    if not clinics.cancel_invite(current_user, invite_id):
        abort(404)
    db.session.commit()
    return redirect(url_for("staff.team"), code=303)


@bp.post("/team/<int:staff_id>/active")
@admin_required
def set_active(staff_id: int):
    user = clinic_staff(staff_id)
    return account_change(lambda: clinics.set_active(
        current_user, user, request.form.get("active") == "1"))


@bp.post("/team/<int:staff_id>/role")
@admin_required
def set_role(staff_id: int):
    user = clinic_staff(staff_id)
    form = RoleForm(prefix=f"role{user.id}")
    if not form.validate_on_submit():
        flash(_("Choose a role."), "error")
        return redirect(url_for("staff.team"), code=303)
    return account_change(lambda: clinics.set_role(current_user, user, form.role.data))


def account_change(change):
    try:
        change()
    except clinics.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Saved."))
    return redirect(url_for("staff.team"), code=303)


# -- clinic settings --------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():
    current = ClinicSettings.of(current_user.clinic_id)
    form = SettingsForm(
        phone=current_user.clinic.phone, lang=current_user.clinic.lang,
        first_weeks_days=current.first_weeks_days,
        reminder_time=current.reminder_time, quiet_start=current.quiet_start,
        quiet_end=current.quiet_end, photos_enabled=current.photos_enabled,
        **policy.clinic_window_hours(current))
    if request.method == "GET":
        form.opening_hours_data(opening_hours.parse(current.opening_hours))
    if form.validate_on_submit():
        clinics.set_phone(current_user, form.phone.data)
        clinics.set_language(current_user, form.lang.data)
        clinics.set_opening_hours(current_user, form.week())
        clinics.update_settings(current_user, form.window_hours(), form.first_weeks_days.data,
                                form.reminder_time.data, form.quiet_start.data,
                                form.quiet_end.data, photos_enabled=form.photos_enabled.data)
        db.session.commit()
        flash(_("Settings saved. Every patient's plan uses them from now on."))
        return redirect(url_for("staff.settings"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("staff/settings.html", form=form,
                           defaults=policy.default_window_hours(),
                           day_names=opening_hours_day_names()), status


def opening_hours_day_names() -> list[str]:
    """Monday to Sunday, as the locale writes them."""
    names = get_locale().days["format"]["wide"]
    return [names[day] for day in range(opening_hours.DAYS)]


# -- audit log --------------------------------------------------------------------------------


@bp.get("/audit")
@admin_required
def clinic_audit():
    return audit_page(None)


@bp.get("/patients/<int:patient_id>/audit")
@admin_required
def patient_audit(patient_id: int):
    patient = clinic_patient(patient_id)
    audit.by(current_user, "patient.viewed", patient, page="audit")
    db.session.commit()
    return audit_page(patient)


def audit_page(patient: Patient | None):
    where = [AuditEvent.clinic_id == current_user.clinic_id]
    if patient is not None:
        where.append(AuditEvent.patient_id == patient.id)
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(*where)) or 0
    pages = max(1, math.ceil(total / AUDIT_PER_PAGE))
    page = min(requested_page(), pages)
    events = db.session.execute(
        sa.select(AuditEvent, Patient.name).outerjoin(Patient, Patient.id == AuditEvent.patient_id)
        .where(*where).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(AUDIT_PER_PAGE).offset((page - 1) * AUDIT_PER_PAGE)).all()
    return render_template("staff/audit.html", patient=patient, events=events, page=page,
                           pages=pages, total=total, label=audit.label,
                           zone=ZoneInfo(current_user.clinic.timezone))
