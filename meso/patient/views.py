"""Patient blueprint: the invite landing, Today, the Timeline, the access code and the plan as
JSON, and patient_required, the one decorator that asks for the device cookie."""

from __future__ import annotations

from datetime import datetime
from functools import wraps

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField

from meso import (
    access,
    accesscode,
    courses,
    error_pages,
    locale_selector,
    locales,
    patient_language,
    photo_store,
    policy,
)
from meso.extensions import csrf, db
from meso.models import Patient, PatientDevice, utcnow
from meso.patient import cards, course_timeline, pages, phase_strip, presenters

bp = Blueprint("patient", __name__)


class OpenInviteForm(FlaskForm):
    """The landing's one button. FlaskForm checks its CSRF token against the session."""

    # "1" on the confirmation step: sign the other aftercare out of this browser.
    switch = HiddenField()


@bp.after_request
def keep_invite_links_private(response):
    """The landing's URL holds the token: no Referer may carry it on, no index may keep it."""
    if request.endpoint == "patient.open_invite":
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


# Flask-WTF's global check also wants a Referer on HTTPS, which this page must not send; the
# form's own CSRF token check (validate_on_submit) still guards the POST.
@bp.route("/i/<token>", methods=["GET", "POST"])
@csrf.exempt
def open_invite(token: str):
    """GET shows one button and grants nothing (link previews and crawlers only GET); its POST
    turns the invite into this browser's device cookie and goes to a clean /today."""
    now = utcnow()
    patient = access.patient_for_invite(token, now)
    if patient is None:
        return render_template("patient/invalid_link.html"), 404
    current = access.device_from_request()
    own = current is not None and current.patient_id == patient.id
    other = None if own else current
    if access.invite_used_up(patient) and not own:
        return used_up()
    g.locale_patient = patient  # the landing speaks the invited patient's language
    locale_selector.forget()
    form = OpenInviteForm()
    if form.validate_on_submit():
        if own:  # this browser already opens this aftercare: nothing to add
            return redirect(url_for("patient.today"), code=303)
        if other is None or form.switch.data == "1":
            return grant_device(patient, token, other, now)
    # A failed CSRF check shows the button again (400); another patient's browser that did
    # not confirm the switch gets the question (409). Nothing is granted either way.
    status = 200 if request.method == "GET" else 400 if form.errors else 409
    return render_template("patient/invite_landing.html", form=form, other=other,
                           max_devices=access.INVITE_MAX_DEVICES), status


def grant_device(patient: Patient, token: str, other: PatientDevice | None, now: datetime):
    if not access.claim_invite(patient, token):
        db.session.rollback()
        return used_up()
    if other is not None:
        access.drop_device(other, now)  # confirmed: that aftercare and its reminders leave
    device_token = access.add_device(patient, now)
    db.session.commit()
    response = redirect(url_for("patient.today"), code=303)
    access.set_device_cookie(response, device_token)
    return response


def used_up():
    return render_template("patient/invalid_link.html", used_up=access.INVITE_MAX_DEVICES), 403


def patient_required(view):
    """Load the patient (g.patient) and this browser (g.device) from the device cookie.

    Without a live one, people get a page explaining how to get in, scripts (the API, push,
    the offline check-in queue) a JSON 401.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        device = access.device_from_request()
        if device is None:
            if request.path.startswith(("/api/", "/push/")) or request.is_json:
                return {"error": gettext("Not signed in: open the link from your clinic.")}, 401
            return render_template("patient/no_access.html"), 401
        now = utcnow()
        if now - device.last_seen_at > access.LAST_SEEN_EVERY:
            device.last_seen_at = now
            db.session.commit()
        g.patient, g.device = device.patient, device
        # The page speaks the patient's language (meso/locales.py), whatever was asked before.
        locale_selector.forget()
        return view(*args, **kwargs)

    return wrapped


@bp.get("/")
def home():
    return redirect(url_for("patient.today"))


# Today and the Timeline are rendered once per change (pages.kept): each ``make`` below runs
# only when the patient's pages changed or their plan reached its next instant, and says
# until when its page holds. Anything a page shows must be written through the ORM (or
# bump Patient.version itself: meso/page_versions.py), or come in page_cache.key.


@bp.get("/today")
@patient_required
def today():
    patient = g.patient

    def make():
        now, rules = utcnow(), policy.protocol_for(patient)
        plan = policy.plan_for(patient, now, rules)
        page = pages.render(
            "patient/today.html", patient, pages.MARKS, plan=plan,
            phase_steps=phase_strip.steps(plan, rules),
            avoid_rows=presenters.avoid_rows(plan), allowed_rows=presenters.allowed_rows(plan),
            clinic_closed=cards.clinic_closed(patient, now),
            time_requested=cards.time_requested(patient, plan),
            checkin_today=cards.checkin_today(patient),
            reminders_card=cards.reminders_card(patient),
            checkin_photos=photo_store.enabled(patient.clinic),
        )
        # Today's words also change at the evening hour ("tonight") and when the clinic opens
        # or closes (the out-of-hours advice), besides every change of the plan.
        return page, min(policy.next_change_for(patient, now, rules),
                         cards.today_words_change(patient, now))

    return pages.kept("today", patient, make)


@bp.get("/timeline")
@patient_required
def timeline():
    patient = g.patient

    def make():
        now, rules = utcnow(), policy.protocol_for(patient)
        page = timeline_html(patient, now, rules, pages.MARKS)
        return page, policy.next_change_for(patient, now, rules)

    return pages.kept("timeline", patient, make)


def timeline_page(patient: Patient, photo_error: str | None = None) -> str:
    """The Timeline: the course day by day, and the progress photos with their form (which
    comes back here with ``photo_error`` next to the file field)."""
    return timeline_html(patient, utcnow(), policy.protocol_for(patient),
                         photo_error=photo_error)


def timeline_html(patient: Patient, now: datetime, rules, served_at=None,
                  photo_error: str | None = None) -> str:
    plan = policy.plan_for(patient, now, rules)
    cycles = course_timeline.cycles(policy.timeline_for(patient, rules), plan.at.date())
    return pages.render("patient/timeline.html", patient, served_at, plan=plan, cycles=cycles,
                        gallery=photo_store.gallery_of(patient),
                        photos_on=photo_store.enabled(patient.clinic),
                        photo_error=photo_error)


@bp.get("/access-code")
@patient_required
def access_code():
    """The access code, on demand only: never inside Today or Timeline, which the service
    worker keeps for offline use. This page is not kept (static/sw.js stores only Today,
    Timeline and /api/plan) and, like every page, is sent with Cache-Control: no-store."""
    code = accesscode.ensure(g.patient)
    db.session.commit()  # a patient enrolled before access codes gets one now
    return pages.render("patient/access_code.html", g.patient, code=code)


@bp.get("/api/access-code")
@patient_required
def api_access_code():
    """The access code for Today's "Show my access code" button: asked for on demand, never
    in a page the service worker keeps (static/sw.js passes this address to the network)."""
    code = accesscode.ensure(g.patient)
    db.session.commit()
    return {"code": code}


@bp.post("/next-session/ask")
@patient_required
def ask_for_time():
    """"Ask for a time" for a next session the clinic has not booked: the roster shows it."""
    courses.ask_for_time(g.patient, utcnow())
    db.session.commit()
    return redirect(url_for("patient.today", _anchor="next"), code=303)


@bp.post("/language")
@patient_required
def set_language():
    """The patient's own language, from Today's small form (field ``lang``): stored on the
    patient, so the pages, the reminders and the offline copy follow it."""
    try:
        patient_language.change(g.patient, request.form.get("lang"), actor=None)
    except locales.UnsupportedLanguage:
        db.session.rollback()
        return error_pages.page(400, gettext("Language not available"),
                                gettext("Choose one of the languages in the list."))
    db.session.commit()
    locale_selector.forget()  # anything said from here on is in the new language
    return redirect(url_for("patient.today"), code=303)


@bp.get("/api/plan")
@patient_required
def api_plan():
    return pages.conditional(policy.plan_for(g.patient).to_json())
