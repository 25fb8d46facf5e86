"""The patient's e-mail for reminders: add, change or remove it on the reminders page, confirm
it from the link sent to it, and unsubscribe from any reminder e-mail in one click.

The links in e-mails (/email/confirm/<token>, /unsubscribe/<token>) follow the invite link's
pattern: a GET shows one button and changes nothing (mail scanners and link previews only
GET), the button's POST acts and answers 303 to a clean address, so the token does not stay
in the address bar; both pages send no Referer and ask not to be indexed. The unsubscribe POST
also takes RFC 8058's one-click POST from the mail client, which has no session: it needs no
CSRF token, only the link's own (an HMAC no one else can make), and answers 200.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from meso import patient_email
from meso.extensions import csrf, db
from meso.models import utcnow
from meso.patient.push_views import render_reminders_page  # the page these forms are on
from meso.patient.reminder_form import AddressForm
from meso.patient.views import patient_required

bp = Blueprint("patient_email", __name__)

ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058's POST body


class ButtonForm(FlaskForm):
    """One button; FlaskForm checks its CSRF token against the session."""


@bp.after_request
def keep_links_private(response):
    """These pages' URLs hold a token: no Referer may carry it on, no index may keep it."""
    if request.endpoint in ("patient_email.confirm", "patient_email.unsubscribe"):
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/reminders/email")
@patient_required
def add():
    """Send a confirmation link to the address typed; it is used once the link is opened."""
    form = AddressForm(prefix="email")
    if not patient_email.state_for(g.patient, utcnow()).available:
        return render_reminders_page(g.patient, email_form=form, status=409)
    if not form.validate_on_submit():
        return render_reminders_page(g.patient, email_form=form, status=400)
    try:
        patient_email.request_change(g.patient, form.email.data, utcnow())
    except patient_email.AddressError as exc:  # asked too often today
        form.email.errors = [str(exc)]
        return render_reminders_page(g.patient, email_form=form, status=400)
    db.session.commit()
    flash(_("We sent a link to %(address)s. Open it to start reminders by e-mail.",
            address=form.email.data), "email")
    return redirect(url_for("push.reminder_settings") + "#reminder-email", code=303)


@bp.post("/reminders/email/remove")
@patient_required
def remove():
    """Stop reminders by e-mail at once (and forget an address waiting for its link)."""
    if patient_email.remove(g.patient, via="patient"):
        flash(_("Done: no more reminders by e-mail."), "email")
    db.session.commit()
    return redirect(url_for("push.reminder_settings") + "#reminder-email", code=303)


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
@csrf.exempt  # no Referer is sent (see above); the form's own CSRF token guards the POST
def confirm(token: str):
    now = utcnow()
    row = patient_email.find_confirmation(token, now)
    if row is None:
        return render_template("patient/email_link.html", state="invalid"), 404
    form = ButtonForm()
    if form.validate_on_submit():
        patient_email.confirm(row, now)
        db.session.commit()
        return redirect(url_for("patient_email.confirmed"), code=303)
    return render_template("patient/email_link.html", state="confirm", form=form,
                           address=row.address), 400 if form.errors else 200


@bp.get("/email/confirmed")
def confirmed():
    return render_template("patient/email_link.html", state="confirmed")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail client's POST has no session; the token is the proof
def unsubscribe(token: str):
    patient = patient_email.find_unsubscriber(token)
    if patient is None:
        return render_template("patient/email_link.html", state="invalid"), 404
    if request.method == "GET":
        return render_template("patient/email_link.html", state="unsubscribe")
    patient_email.remove(patient, via="unsubscribe")
    db.session.commit()
    if request.form.get("from") == "page":  # our own button: leave the token's address
        return redirect(url_for("patient_email.unsubscribed"), code=303)
    return render_template("patient/email_link.html", state="unsubscribed")


@bp.get("/email/unsubscribed")
def unsubscribed():
    return render_template("patient/email_link.html", state="unsubscribed")
