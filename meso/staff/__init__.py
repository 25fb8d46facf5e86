"""The staff blueprint ("staff", under /staff) and what its views share: clinic scoping, the
admin check, page numbers, and the audit-log filters of its templates.

Its routes live in one module per area (imported at the end, which registers them on ``bp``):
auth (sign-in, set-password links), roster, patients (enrol, invite, archive), course_views
(sessions, plan, windows), attention_views (acknowledging a patient's open alerts),
data_views (a patient's export and erasure) and admin (team, settings, audit log).
"""

from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import Blueprint, abort, request
from flask_babel import get_locale
from flask_login import current_user, login_required

from meso import audit
from meso.extensions import db
from meso.models import Patient, StaffUser, TreatmentSession

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.add_app_template_global(audit.label, "audit_label")


@bp.before_request
def choose_language():
    """Settle the page's language (the staff member's own, else the browser's) first, while
    their row is fresh: a view's commit would otherwise have a template read it again."""
    get_locale()


@bp.app_template_filter("audit_value")
def audit_value(value) -> str:
    """An audit detail as a person reads it: [old, new] as "old → new"."""
    if isinstance(value, list) and len(value) == 2:
        return f"{audit_value(value[0])} → {audit_value(value[1])}"
    if isinstance(value, dict):
        return ", ".join(f"{key.replace('_', ' ')} {audit_value(v)}" for key, v in value.items())
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def in_clinic(model, row_id: int):
    """Return a row of ``model`` that belongs to the signed-in staff member's clinic, or 404.

    Every id a staff URL carries goes through here, so another clinic's rows never exist.
    """
    row = db.session.scalar(
        sa.select(model).where(model.id == row_id, model.clinic_id == current_user.clinic_id)
    )
    if row is None:
        abort(404)
    return row


def clinic_patient(patient_id: int) -> Patient:
    """Return a patient of the signed-in staff member's clinic, or 404 for any other."""
    return in_clinic(Patient, patient_id)


def clinic_session(patient: Patient, session_id: int) -> TreatmentSession:
    """Return one of the patient's sessions, or 404."""
    for session in patient.course.sessions:
        if session.id == session_id:
            return session
    abort(404)


def clinic_staff(staff_id: int) -> StaffUser:
    return in_clinic(StaffUser, staff_id)


def admin_required(view):
    """Signed-in admins only: a practitioner gets 403 (and a visitor the sign-in page)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def requested_page() -> int:
    """Return the ?page= of a paged list: a whole number from 1 (anything else is page 1)."""
    page = request.args.get("page", "1")
    return max(1, int(page)) if page.isdigit() and len(page) < 7 else 1


# Last: each route module imports ``bp`` (and the helpers above) from this package.
from meso.staff import (  # noqa: E402, F401
    account,
    admin,
    attention_views,
    auth,
    course_views,
    data_views,
    patients,
    roster,
)
