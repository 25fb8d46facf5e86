"""A patient's data, for staff: download all of it (audited), and erase it (admins only,
confirmed by typing the patient's full name)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from meso import audit, erasure, export
from meso.extensions import db
from meso.models import utcnow
from meso.staff import admin_required, bp, clinic_patient
from meso.staff.admin_forms import EraseForm


@bp.get("/patients/<int:patient_id>/export")
@login_required
def export_patient(patient_id: int):
    patient = clinic_patient(patient_id)
    now = utcnow()
    body = export.zip_bytes(patient, now)
    audit.by(current_user, "patient.exported", patient)
    db.session.commit()
    # No name in the file name: it ends up in download folders and browser histories.
    return export.download(body, f"patient-{patient.id}-{now.date().isoformat()}.zip")


@bp.route("/patients/<int:patient_id>/erase", methods=["GET", "POST"])
@admin_required
def erase_patient(patient_id: int):
    patient = clinic_patient(patient_id)
    form = EraseForm()
    if form.validate_on_submit():
        if erasure.names_match(form.name.data, patient.name):
            erasure.erase(patient, current_user)
            db.session.commit()
            flash(_("Erased. Nothing of this patient is left in the app; the audit log keeps "
                    "only that you erased a patient, and when."))
            return redirect(url_for("staff.roster"), code=303)
        form.name.errors.append(_("That is not this patient's full name. Type it as shown "
                                  "above, or go back."))
    if request.method == "GET":
        audit.by(current_user, "patient.viewed", patient, page="erase")
        db.session.commit()
    status = 400 if request.method == "POST" else 200
    return render_template("staff/erase.html", patient=patient, form=form,
                           zone=ZoneInfo(patient.course.timezone)), status
