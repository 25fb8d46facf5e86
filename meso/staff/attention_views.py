"""Following up a patient's check-ins: acknowledging their open alerts with a short note."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from meso import attention
from meso.extensions import db
from meso.models import utcnow
from meso.staff import bp, clinic_patient, patient_page
from meso.staff.forms import AcknowledgeForm


@bp.post("/patients/<int:patient_id>/attention/acknowledge")
@login_required
def acknowledge_attention(patient_id: int):
    """Any staff member of the patient's clinic (404 for another's); a missing or long note is
    shown next to the field (400), nothing saved."""
    patient = clinic_patient(patient_id)
    form = AcknowledgeForm(prefix="attention")
    if not form.validate_on_submit():
        db.session.rollback()
        return patient_page.render(patient, status=400, acknowledge=form)
    ids = attention.acknowledge(patient, current_user, form.note.data, utcnow(),
                                seen_up_to=form.seen_id())
    still_open = len(attention.open_alerts(patient))
    db.session.commit()
    if not ids:
        flash(_("Nothing to acknowledge: a colleague already did."))
    else:
        flash(ngettext("Acknowledged %(num)d check-in.", "Acknowledged %(num)d check-ins.",
                       len(ids)))
    if still_open:
        flash(_("A newer check-in arrived meanwhile and still needs attention."), "error")
    anchor = "attention" if still_open else "checkins"
    return redirect(url_for("staff.patient", patient_id=patient.id, _anchor=anchor), code=303)
