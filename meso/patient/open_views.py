"""/open: a patient types their access code to get in (the installed app on iOS has no
cookies from Safari). Sets the same device cookie as the invite link."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from meso import access, accesscode
from meso.extensions import db
from meso.models import utcnow

bp = Blueprint("access", __name__)


class CodeForm(FlaskForm):
    code = StringField(
        _l("Access code"),
        description=_l("10 letters and digits, on your clinic's card or your Today page."),
        validators=[DataRequired(message=_l("Enter the code from your clinic.")),
                    Length(max=40)],
    )


@bp.route("/open", methods=["GET", "POST"])
def enter_code():
    if request.method == "GET" and access.device_for_cookie(
            request.cookies.get(current_app.config["DEVICE_COOKIE"])):
        return redirect(url_for("patient.today"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        now = utcnow()
        attempt = accesscode.check(form.code.data, request.remote_addr or "", now)
        if attempt.patient is not None:
            token = access.add_device(attempt.patient, now)
            db.session.commit()
            response = redirect(url_for("patient.today"), code=303)
            access.set_device_cookie(response, token)
            return response
        db.session.commit()  # keep the failure count
        if attempt.limited:
            form.code.errors.append(_("Too many tries. Please wait %(n)d minutes, or ask your "
                                      "clinic for help.", n=accesscode.retry_minutes()))
            status = 429
        else:
            # The same words whether or not such a patient exists.
            form.code.errors.append(_("That code did not work. Check it and try again."))
            status = 400
    elif request.method == "POST":
        status = 400
    return render_template("patient/open.html", form=form), status
