"""Staff changes to a patient's course: record, move or cancel a session, the plan, windows.

Each form posts here; a refused change re-renders the patient's page with the message next
to the field (400) and changes nothing.
"""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from meso import courses
from meso.extensions import db
from meso.staff import detail
from meso.staff.blueprint import bp, clinic_patient, clinic_session
from meso.staff.forms import PatientWindowsForm, PlanForm, SessionTimeForm


def done(patient, message: str):
    db.session.commit()
    flash(message)
    return redirect(url_for("staff.patient", patient_id=patient.id), code=303)


def refused(patient, **forms):
    db.session.rollback()
    return detail.render(patient, status=400, **forms)


@bp.post("/patients/<int:patient_id>/sessions")
@login_required
def record_session(patient_id: int):
    patient = clinic_patient(patient_id)
    form = SessionTimeForm(patient.course.timezone, prefix="record")
    if form.validate_on_submit():
        try:
            session = courses.record_session(patient, form.starts_at_utc, current_user)
        except courses.CourseChangeError as exc:
            form.starts_at.errors.append(str(exc))
        else:
            return done(patient, _("Session %(n)d recorded.", n=session.number))
    return refused(patient, record=form)


@bp.post("/patients/<int:patient_id>/sessions/<int:session_id>/move")
@login_required
def move_session(patient_id: int, session_id: int):
    patient = clinic_patient(patient_id)
    session = clinic_session(patient, session_id)
    form = SessionTimeForm(patient.course.timezone, prefix=f"move{session.id}")
    if form.validate_on_submit():
        try:
            courses.move_session(patient, session, form.starts_at_utc, current_user)
        except courses.CourseChangeError as exc:
            form.starts_at.errors.append(str(exc))
        else:
            return done(patient, _("Session moved."))
    return refused(patient, move=form, move_id=session_id)


@bp.post("/patients/<int:patient_id>/sessions/<int:session_id>/cancel")
@login_required
def cancel_session(patient_id: int, session_id: int):
    patient = clinic_patient(patient_id)
    session = clinic_session(patient, session_id)
    try:
        courses.cancel_session(patient, session, current_user)
    except courses.CourseChangeError as exc:
        return refused(patient, errors={"sessions": str(exc)})
    return done(patient, _("Session cancelled."))


@bp.post("/patients/<int:patient_id>/plan")
@login_required
def change_plan(patient_id: int):
    patient = clinic_patient(patient_id)
    form = PlanForm(prefix="plan")
    if form.validate_on_submit():
        try:
            courses.change_plan(patient, form.planned_sessions.data, form.interval_weeks.data,
                                current_user)
        except courses.CourseChangeError as exc:
            form.planned_sessions.errors.append(str(exc))
        else:
            return done(patient, _("Plan saved."))
    return refused(patient, plan=form)


@bp.post("/patients/<int:patient_id>/windows")
@login_required
def change_windows(patient_id: int):
    patient = clinic_patient(patient_id)
    form = PatientWindowsForm(prefix="windows")
    if form.validate_on_submit():
        try:
            courses.set_window_overrides(patient, form.window_hours(), current_user)
        except ValueError as exc:  # the form's bounds make this unlikely; never a 500
            form.form_errors.append(str(exc))
        else:
            return done(patient, _("This patient's windows are saved."))
    return refused(patient, windows=form)
