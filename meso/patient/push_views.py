"""Push reminders for the patient: the VAPID key, subscriptions, a test, and the settings page.

The JSON routes answer JSON, errors included (a 400 names the field), and are CSRF-protected
like every other state change: the page's script sends its <meta name="csrf-token">.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    get_flashed_messages,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from meso import access, courses, patient_email, policy, push, subscriptions, trial_push
from meso.extensions import db
from meso.models import ReminderSettings, utcnow
from meso.models.push import ENDPOINT_MAX
from meso.patient import cards, pages
from meso.patient.reminder_form import AddressForm, ReminderSettingsForm
from meso.patient.views import patient_required

bp = Blueprint("push", __name__)


def public_key_for(app) -> str:
    """Return the VAPID public key browsers subscribe with (derived once per process)."""
    key = app.extensions.get("meso.vapid_public_key")
    if key is None:
        key = app.extensions["meso.vapid_public_key"] = push.public_key(
            push.load_key(app.config["VAPID_PRIVATE_KEY"])
        )
    return key


def bad(field: str, message: str, status: int = 400):
    return {"error": message, "field": field}, status


@bp.get("/push/key")
def key():
    """The application server key; the CSRF token lets the service worker re-subscribe."""
    try:
        public = public_key_for(current_app)
    except push.PushConfigError:
        return {"error": _("Reminders are not set up on this server.")}, 503
    return {"publicKey": public, "csrfToken": generate_csrf()}


@bp.post("/push/subscriptions")
@patient_required
def subscribe():
    """Store this browser's subscription (upsert by endpoint); reminders still due follow."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return bad("subscription", "expected a JSON object")
    try:
        services = push.services_for(current_app)
    except push.PushConfigError:
        return {"error": _("Reminders are not set up on this server.")}, 503
    try:
        subscription = subscriptions.parse(data, services)
    except subscriptions.InvalidSubscription as exc:
        return bad(exc.field, str(exc))
    if access.endpoint_held_by_another(subscription.endpoint, g.patient):
        # Only the invite landing's confirmed switch moves a browser to another patient.
        return bad("endpoint", "this browser's reminders belong to another person's "
                   "aftercare: turn reminders off and on again to get your own", 409)
    old = data.get("oldEndpoint")  # sent by the service worker after pushsubscriptionchange
    created = subscriptions.store(g.patient, g.device, subscription,
                                  old if isinstance(old, str) else None)
    db.session.commit()
    return {"ok": True, "devices": subscriptions.count(g.patient.id)}, 201 if created else 200


@bp.delete("/push/subscriptions")
@patient_required
def unsubscribe():
    data = request.get_json(silent=True)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > ENDPOINT_MAX:
        return bad("endpoint", "the endpoint is missing")
    subscriptions.forget(g.patient.id, endpoint)
    db.session.commit()
    return "", 204


@bp.post("/push/test")
@patient_required
def send_test():
    """Queue "this is how reminders look" for the patient's devices: the worker sends it."""
    now = utcnow()
    wait = trial_push.wait_seconds(g.patient.id, now)
    if wait is not None:
        minutes = -(-wait // 60)
        message = _("Too many test notifications: try again in %(minutes)d min.",
                    minutes=minutes)
        return ({"error": message,
                 "retry_after": wait}, 429, {"Retry-After": str(wait)})
    try:
        services = push.services_for(current_app)
    except push.PushConfigError:
        return {"error": _("Reminders are not set up on this server.")}, 503
    devices, _dropped = subscriptions.live([g.patient.id], services)
    if not devices:
        db.session.commit()  # live() may have dropped endpoints outside the list
        return bad("device", _("No device has reminders turned on."), 409)
    trial_push.queue(g.patient, now)
    db.session.commit()
    return {"queued": True, "devices": len(devices[g.patient.id])}, 202


@bp.route("/reminders", methods=["GET", "POST"])
@patient_required
def reminder_settings():
    patient = g.patient
    row = db.session.get(ReminderSettings, patient.id)
    form = ReminderSettingsForm(obj=row) if row else ReminderSettingsForm(
        data=ReminderSettingsForm.defaults(policy.reminder_settings_for(patient))
    )
    if form.validate_on_submit():
        if row is None:
            row = ReminderSettings(patient_id=patient.id)
            db.session.add(row)
        form.populate_obj(row)
        row.updated_at = utcnow()
        db.session.flush()
        courses.after_course_change(patient)  # the pending reminders follow the new settings
        db.session.commit()
        flash(_("Saved. Your reminders follow these settings from now on."))
        return redirect(url_for("push.reminder_settings"), code=303)
    return render_reminders_page(patient, form=form, status=400 if form.errors else 200)


def render_reminders_page(patient, form=None, email_form=None, status: int = 200):
    """The reminder settings page; ``form`` and ``email_form`` are the submitted forms."""
    if form is None:
        row = db.session.get(ReminderSettings, patient.id)
        form = ReminderSettingsForm(obj=row, formdata=None) if row else ReminderSettingsForm(
            formdata=None,
            data=ReminderSettingsForm.defaults(policy.reminder_settings_for(patient)))
    return pages.render("patient/reminders.html", patient, form=form,
                        saved=get_flashed_messages(category_filter=["message"]),
                        email_saved=get_flashed_messages(category_filter=["email"]),
                        email=patient_email.state_for(patient, utcnow()),
                        email_form=email_form or AddressForm(prefix="email", formdata=None),
                        reminders_card=cards.reminders_card(patient)), status
