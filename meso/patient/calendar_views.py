"""The course in the patient's own calendar: the page that makes, shows once and stops the
calendar link (/calendar), the one-off file (/calendar/course.ics) and the feed itself
(/cal/<token>.ics), which a calendar app fetches without any cookie."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, get_flashed_messages, redirect, session, url_for
from flask_babel import gettext as _

from meso import audit, calendar_feeds, policy
from meso.extensions import db
from meso.models import utcnow
from meso.patient import pages
from meso.patient.views import patient_required

bp = Blueprint("calendar", __name__)

CONTENT_TYPE = "text/calendar; charset=utf-8"
# The file carries someone's appointments: no cache, shared or on disk, may keep it. Calendar
# apps poll on their own schedule (the feed's REFRESH-INTERVAL asks for hourly), so a
# max-age would save nothing worth the risk.
CACHE_CONTROL = "private, no-store"
FILENAME = "calendar.ics"
# The new link rides in the signed session across the redirect, to be shown once.
SHOW_ONCE = "calendar_link"


@bp.get("/calendar")
@patient_required
def page():
    patient = g.patient
    token = session.pop(SHOW_ONCE, None)
    feed = calendar_feeds.live(patient)
    fresh = None
    if token and feed is not None:  # a link stopped since it was made is not shown
        fresh = {"webcal": calendar_feeds.webcal_url(token),
                 "https": calendar_feeds.feed_url(token)}
    zone = policy.zone_for(patient)
    return pages.render(
        "patient/calendar.html", patient, fresh=fresh, feed=feed,
        issued_at=feed.issued_at.astimezone(zone) if feed and feed.issued_at else None,
        discreet=policy.reminder_settings_for(patient).discreet,
        said=get_flashed_messages(),
    )


@bp.post("/calendar/link")
@patient_required
def make_link():
    """Make the calendar link (a new one replaces the old, which stops at once)."""
    session[SHOW_ONCE] = calendar_feeds.issue(g.patient, utcnow())
    # Who can read the patient's appointments changed: the clinic's trail says when.
    audit.record("calendar.linked", clinic_id=g.patient.clinic_id, patient_id=g.patient.id)
    db.session.commit()
    return redirect(url_for("calendar.page"), code=303)


@bp.post("/calendar/link/stop")
@patient_required
def stop_link():
    if calendar_feeds.stop(g.patient):
        audit.record("calendar.unlinked", clinic_id=g.patient.clinic_id, patient_id=g.patient.id)
        flash(_("Your calendar link is stopped. Your calendar will no longer update, and the "
                "events it shows may go away at its next refresh."))
    db.session.commit()
    session.pop(SHOW_ONCE, None)
    return redirect(url_for("calendar.page"), code=303)


@bp.get("/calendar/course.ics")
@patient_required
def download():
    """The course as a file, for calendars that cannot subscribe: a copy that does not update."""
    now = utcnow()
    body = calendar_feeds.ical(g.patient, calendar_feeds.live(g.patient), now, one_off=True)
    return body, 200, {"Content-Type": CONTENT_TYPE, "Cache-Control": CACHE_CONTROL,
                       "Content-Disposition": f'attachment; filename="{FILENAME}"'}


@bp.get("/cal/<token>.ics")
def feed(token: str):
    """What a subscribed calendar fetches: the token is the only key (no cookie, no CSRF: it
    only reads)."""
    found = calendar_feeds.feed_for_token(token)
    if found is None:
        abort(404)
    now = utcnow()
    body = calendar_feeds.ical(found.patient, found, now)
    if calendar_feeds.note_fetch(found, now):
        db.session.commit()
    return body, 200, {"Content-Type": CONTENT_TYPE, "Cache-Control": CACHE_CONTROL,
                       "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}
