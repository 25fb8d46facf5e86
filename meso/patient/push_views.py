"""Push reminders for the patient: the VAPID key, subscriptions, a test, and the settings page.

The JSON routes answer JSON, errors included (a 400 names the field), and are CSRF-protected
like every other state change: the page's script sends its <meta name="csrf-token">.
"""

from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from meso import access, courses, messages, outbox, push, reminders
from meso.extensions import db
from meso.models import PushSubscription, ReminderSettings, utcnow
from meso.patient.reminder_form import ReminderSettingsForm
from meso.patient.views import patient_required
from meso.worker import live_subscriptions, pusher_for

bp = Blueprint("push", __name__)

MAX_DEVICES = 10  # subscriptions kept per patient; the oldest go first


def public_key_for(app) -> str:
    """Return the VAPID public key browsers subscribe with (derived once per process)."""
    key = app.extensions.get("meso.vapid_public_key")
    if key is None:
        key = app.extensions["meso.vapid_public_key"] = push.public_key(
            push.load_key(app.config["VAPID_PRIVATE_KEY"])
        )
    return key


def json_patient(view):
    """Load the patient (and this browser's device) from the device cookie; 401 JSON without."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        device = access.device_for_cookie(request.cookies.get(current_app.config["DEVICE_COOKIE"]))
        if device is None:
            return {"error": "not signed in: open the link from your clinic"}, 401
        g.patient, g.device = device.patient, device
        return view(*args, **kwargs)

    return wrapped


def bad(field: str, message: str, status: int = 400):
    return {"error": message, "field": field}, status


@bp.get("/push/key")
def key():
    """The application server key; the CSRF token lets the service worker re-subscribe."""
    try:
        public = public_key_for(current_app)
    except push.PushConfigError:
        return {"error": "reminders are not set up on this server"}, 503
    return {"publicKey": public, "csrfToken": generate_csrf()}


@bp.post("/push/subscriptions")
@json_patient
def subscribe():
    """Store this browser's subscription (upsert by endpoint); reminders still due follow."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return bad("subscription", "expected a JSON object")
    allow_insecure = current_app.debug or current_app.config["PUSH_ALLOW_INSECURE_ENDPOINTS"]
    try:
        subscription = push.parse_subscription(data, allow_insecure)
    except push.InvalidSubscription as exc:
        return bad(exc.field, str(exc))
    created = upsert(subscription)
    old = data.get("oldEndpoint")  # sent by the service worker after pushsubscriptionchange
    if isinstance(old, str) and old != subscription.endpoint:
        forget(old)
    outbox.rearm(g.patient)
    db.session.commit()
    return {"ok": True, "devices": device_count(g.patient.id)}, 201 if created else 200


def upsert(subscription: push.Subscription) -> bool:
    """Insert or take over the row for this endpoint; return whether it is new.

    An endpoint belongs to one browser: if another patient's row has it, the phone changed
    hands (or links), and the reminders go to whoever subscribed last.
    """
    row = db.session.scalar(
        sa.select(PushSubscription).where(PushSubscription.endpoint == subscription.endpoint)
    )
    created = row is None
    if created:
        row = PushSubscription(endpoint=subscription.endpoint, created_at=utcnow())
        db.session.add(row)
    row.patient_id, row.device_id = g.patient.id, g.device.id
    row.p256dh, row.auth = subscription.p256dh, subscription.auth
    db.session.flush()
    surplus = db.session.scalars(
        sa.select(PushSubscription.id)
        .where(PushSubscription.patient_id == g.patient.id)
        .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
        .offset(MAX_DEVICES)
    ).all()
    if surplus:
        db.session.execute(sa.delete(PushSubscription).where(PushSubscription.id.in_(surplus)))
    return created


def forget(endpoint: str) -> int:
    """Delete the patient's own subscription with this endpoint (never anyone else's)."""
    return db.session.execute(
        sa.delete(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.patient_id == g.patient.id
        )
    ).rowcount


def device_count(patient_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(PushSubscription.patient_id == patient_id)
    )


@bp.delete("/push/subscriptions")
@json_patient
def unsubscribe():
    data = request.get_json(silent=True)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > push.ENDPOINT_MAX:
        return bad("endpoint", "the endpoint is missing")
    forget(endpoint)
    db.session.commit()
    return "", 204


@bp.post("/push/test")
@json_patient
def send_test():
    """Send "this is how reminders look" to the patient's devices, now, and say how it went."""
    try:
        pusher = pusher_for(current_app)
    except push.PushConfigError:
        return {"error": "reminders are not set up on this server"}, 503
    subscriptions = live_subscriptions([g.patient.id]).get(g.patient.id, [])
    if not subscriptions:
        return bad("device", "no device has reminders turned on", 409)
    message = messages.trial_message(outbox.settings_for(g.patient))
    outcomes = [(s.endpoint, pusher.send(s, message)) for s in subscriptions]
    sent = [endpoint for endpoint, o in outcomes if o.kind == push.SENT]
    outbox.prune([endpoint for endpoint, o in outcomes if o.kind == push.GONE])
    outbox.mark_success(sent, utcnow())
    db.session.commit()
    return {"sent": len(sent), "failed": len(outcomes) - len(sent)}, 200 if sent else 502


@bp.route("/reminders", methods=["GET", "POST"])
@patient_required
def reminder_settings():
    patient = g.patient
    row = db.session.get(ReminderSettings, patient.id)
    form = ReminderSettingsForm(obj=row) if row else ReminderSettingsForm(
        data=ReminderSettingsForm.defaults(outbox.settings_for(patient))
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
    status = 400 if form.errors else 200
    return render_template("patient/reminders.html", patient=patient, form=form,
                           saved=get_flashed_messages()), status


@bp.app_template_global()
def reminder_devices(patient) -> int:
    """How many devices get the patient's reminders (for the card on Today)."""
    return device_count(patient.id)


@bp.app_template_global()
def reminder_prefs(patient) -> reminders.Settings:
    """The patient's reminder settings (their quiet hours are named on the card)."""
    return outbox.settings_for(patient)
