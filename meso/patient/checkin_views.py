"""Check-in routes: the form page, and POST /checkins (a form, JSON from the offline queue, or
the queue's multipart/form-data when the check-in carries a photo).

Both answer a repeated submission (same idempotency key) with the first one's result, so a
phone that lost the answer can simply send again. A photo comes with its check-in or not at
all: stored in the same transaction, tied to it, and never a second time for a repeat.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, g, request
from flask_babel import gettext as _

from meso import checkins, error_pages, input_guard, photo_store, photos
from meso.extensions import db
from meso.models import Patient, utcnow
from meso.patient import pages, photo_views
from meso.patient.views import patient_required

bp = Blueprint("checkins", __name__)


@bp.app_template_global()
def new_checkin_key() -> str:
    """A fresh idempotency key for a form (JavaScript makes its own for each submission)."""
    return pages.fresh_token()


@bp.get("/checkins/new")
@patient_required
def new():
    return form_page(g.patient, errors={}, values={})


def form_page(patient: Patient, errors: dict, values: dict):
    """The check-in page: blank, or again with the answers sent and what was wrong."""
    return pages.render("patient/checkin.html", patient, errors=errors, values=values,
                        checkin_photos=photo_store.enabled(patient.clinic))


@bp.post("/checkins")
@input_guard.body_limit(photos.MAX_BODY)  # a photo; JSON and plain forms keep the small limit
@patient_required
def submit():
    # The queue sends JSON, or a form asking for JSON back when the check-in has a photo.
    as_json = error_pages.wants_json()
    data = request.get_json(silent=True) if request.is_json else form_data()
    if not isinstance(data, dict):
        return {"error": "send a JSON object"}, 400
    owner = data.get("owner")
    if owner is not None and not (
        isinstance(owner, str)
        and hmac.compare_digest(owner.encode(), checkins.owner_pseudonym(g.patient).encode())
    ):
        # Someone else's queued check-in, left on a shared phone: never store it here.
        return {"errors": {"owner": _("This check-in was made by another person.")}}, 400
    now = utcnow()
    submission, errors = checkins.parse(data, now)
    if submission is None:
        if as_json:
            return {"errors": errors}, 400
        return form_page(g.patient, errors, data), 400
    try:
        checkin, created = checkins.record(g.patient, submission, now, photo=uploaded_photo())
    except (checkins.DayFull, photos.PhotoError) as refused:
        # Refused before anything was written: nothing of it stays, photo or check-in. A 400
        # with the reason, not a 429: waiting never helps (the check-in stays dated to that
        # day), and the offline queue drops a 400 with errors but retries a 429 forever.
        if isinstance(refused, photos.PhotoError):
            message, errors = str(refused.message), {"photo": str(refused.message)}
        else:
            message, errors = str(refused), {"at": str(refused)}
        if as_json:
            return {"error": message, "errors": errors}, 400
        return form_page(g.patient, errors, data), 400
    db.session.commit()
    if as_json:
        return checkins.result(checkin, submission.filled_at), 201 if created else 200
    return pages.render("patient/checkin_result.html", g.patient, checkin=checkin,
                        reasons=checkins.reasons(checkin, submission.filled_at),
                        photos=photo_store.of_check_ins([checkin.id]).get(checkin.id, []))


def uploaded_photo() -> bytes | None:
    """The photo sent with the check-in (a form's file field), or None: JSON has none, and a
    form whose file field was left empty sends it with no name and no bytes."""
    upload = request.files.get("photo")
    if upload is None:
        return None
    # One byte more than allowed is enough to know it is too large.
    data = upload.stream.read(photos.MAX_BYTES + 1)
    if not data and not upload.filename:
        return None
    return data


@bp.errorhandler(413)
def too_large(error):
    """Only a check-in carrying its photo (multipart) may be large: past that, the photo's
    limit is what to say. Anything else gets the app's own answer."""
    if request.mimetype == "multipart/form-data":
        return photo_views.too_large(error)
    return error_pages.for_status(413)


def form_data() -> dict:
    """A form's fields as the JSON of a check-in: signs come as sign_<key>=<level>. The
    offline queue's form (a check-in with its photo) carries its owner too."""
    form = request.form
    signs = {name.removeprefix(checkins.SIGN_FIELD): form.get(name) for name in form
             if name.startswith(checkins.SIGN_FIELD)}
    return {
        "owner": form.get("owner"),
        "key": form.get("key"),
        "feeling": form.get("feeling"),
        "symptoms": form.getlist("symptoms"),
        "no_flags": form.get("no_flags") == "1" if "no_flags" in form else None,
        "signs": signs or None,
        "trend": form.get("trend"),
        "at": form.get("at"),
    }
