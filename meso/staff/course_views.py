"""Staff changes to a patient's course: record, move or cancel a session, the plan, windows.

Each form posts here; a refused change re-renders the patient's page with the message next
to the field (400) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import Field

from meso import courses, locales, patient_language
from meso.extensions import db
from meso.models import utcnow
from meso.staff import bp, clinic_patient, clinic_session, patient_page
from meso.staff.forms import PatientLanguageForm, PatientWindowsForm, PlanForm, SessionTimeForm


def done(patient, message: str):
    db.session.commit()
    flash(message)
    return redirect(url_for("staff.patient", patient_id=patient.id), code=303)


def refused(patient, **forms):
    db.session.rollback()
    return patient_page.render(patient, status=400, **forms)


def submitted(patient, form: FlaskForm, field: Field | None, change: Callable[[], str],
              **forms):
    """Make the change a valid form asks for; ``change`` returns what to tell the staff member.

    A refused change (CourseChangeError) puts its reason next to ``field`` (None: the form as a
    whole) and shows the page again with ``forms``, nothing saved.
    """
    if form.validate_on_submit():
        try:
            message = change()
        except courses.CourseChangeError as exc:
            (form.form_errors if field is None else field.errors).append(str(exc))
        else:
            return done(patient, message)
    return refused(patient, **forms)


@bp.post("/patients/<int:patient_id>/sessions")
@login_required
def record_session(patient_id: int):
    patient = clinic_patient(patient_id)
    form = SessionTimeForm(patient.course.timezone, prefix="record")

    def change() -> str:
        session = courses.record_session(patient, form.instant, current_user)
        return _("Session %(n)d recorded.", n=session.number)

    return submitted(patient, form, form.starts_at, change, record=form)


@bp.post("/patients/<int:patient_id>/sessions/confirm")
@login_required
def confirm_session(patient_id: int):
    """The step before recording a session: a page that names the date and time, the session's
    number and whether it is held or booked, with one button that records it (no script)."""
    patient = clinic_patient(patient_id)
    form = SessionTimeForm(patient.course.timezone, prefix="record")
    if form.validate_on_submit():
        try:
            number = courses.check_new_session(patient, form.instant)
        except courses.CourseChangeError as exc:
            form.starts_at.errors.append(str(exc))
        else:
            zone = ZoneInfo(patient.course.timezone)
            return render_template(
                "staff/confirm_session.html", patient=patient, form=form, number=number,
                at=form.instant.astimezone(zone), booked=form.instant > utcnow())
    return refused(patient, record=form)


@bp.post("/patients/<int:patient_id>/sessions/<int:session_id>/move")
@login_required
def move_session(patient_id: int, session_id: int):
    patient = clinic_patient(patient_id)
    session = clinic_session(patient, session_id)
    form = SessionTimeForm(patient.course.timezone, prefix=f"move{session.id}")

    def change() -> str:
        courses.move_session(patient, session, form.instant, current_user)
        return _("Session moved.")

    return submitted(patient, form, form.starts_at, change, move=form, move_id=session_id)


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

    def change() -> str:
        courses.change_plan(patient, form.planned_sessions.data, form.interval_weeks.data,
                            current_user)
        return _("Plan saved.")

    return submitted(patient, form, form.planned_sessions, change, plan=form)


@bp.post("/patients/<int:patient_id>/windows")
@login_required
def change_windows(patient_id: int):
    patient = clinic_patient(patient_id)
    form = PatientWindowsForm(prefix="windows")

    def change() -> str:
        courses.set_window_overrides(patient, form.window_hours(), current_user)
        return _("This patient's windows are saved.")

    # The form's bounds make a refusal unlikely; if one comes, it is shown, never a 500.
    return submitted(patient, form, None, change, windows=form)


@bp.post("/patients/<int:patient_id>/language")
@login_required
def change_language(patient_id: int):
    """The patient's language: their pages, reminders and calendar follow it."""
    patient = clinic_patient(patient_id)
    form = PatientLanguageForm(prefix="language")

    def change() -> str:
        patient_language.change(patient, form.lang.data, current_user)
        return _("Language changed to %(language)s.",
                 language=locales.NAMES[locales.patient_lang(patient)])

    return submitted(patient, form, form.lang, change, language=form)
