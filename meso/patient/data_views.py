"""The patient's data rights: download everything stored about them (GET /me/export), ask
their clinic to erase it (/me/erase: a page, a confirmation, a POST), and withdraw that
request (POST /me/erase/withdraw) until the clinic has erased."""

from __future__ import annotations

from flask import Blueprint, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired

from meso import erasure, export, policy
from meso.extensions import db
from meso.models import utcnow
from meso.patient import pages
from meso.patient.views import patient_required

bp = Blueprint("my_data", __name__, url_prefix="/me")


class ErasureRequestForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand: everything will be erased for good, and this app will stop "
           "working for me."),
        validators=[DataRequired(message=_l("Tick this box to confirm."))],
    )


@bp.get("/export")
@patient_required
def export_data():
    now = utcnow()
    body = export.zip_bytes(g.patient, now)
    day = now.astimezone(policy.zone_for(g.patient)).date()
    return export.download(body, f"aftercare-data-{day.isoformat()}.zip")


@bp.route("/erase", methods=["GET", "POST"])
@patient_required
def erase():
    form = ErasureRequestForm()
    if g.patient.erasure_requested_at is None and form.validate_on_submit():
        erasure.request_erasure(g.patient, utcnow())
        db.session.commit()
        return redirect(url_for("my_data.erase"), code=303)
    status = 400 if request.method == "POST" and form.errors else 200
    asked = g.patient.erasure_requested_at
    requested_on = asked.astimezone(policy.zone_for(g.patient)).date() if asked else None
    return pages.render("patient/erase.html", g.patient, form=form,
                        requested_on=requested_on), status


@bp.post("/erase/withdraw")
@patient_required
def withdraw_erasure():
    """Withdraw the request (CSRF-checked like every POST); nothing to withdraw is no error."""
    if erasure.withdraw_request(g.patient):
        db.session.commit()
    return redirect(url_for("my_data.erase"), code=303)
