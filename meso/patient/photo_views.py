"""Progress photo routes: the patient adds one (POST /photos, from the Timeline), and a photo
or its thumbnail is served to the patient it belongs to and to their clinic's staff only.

Served photos are never kept anywhere on the way: `Cache-Control: private, no-store` here, and
static/sw.js leaves /photos/ alone.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from meso import access, input_guard, photo_store, photos
from meso.extensions import db
from meso.models import utcnow
from meso.patient import views
from meso.patient.views import patient_required

bp = Blueprint("photos", __name__)

PHOTO_HEADERS = {
    "Cache-Control": "private, no-store",
    # Only our own pages may embed it: another site's <img> gets nothing, cookies or not.
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Disposition": "inline",
}


@bp.app_template_global("photo_thumb_size")
def photo_thumb_size(width: int, height: int) -> tuple[int, int]:
    """A stored photo's thumbnail size, for its <img width height> (no layout shift)."""
    return photos.thumbnail_size(width, height)


@bp.app_template_global("photo_upload")
def photo_upload() -> dict:
    """What a photo field tells the phone: the types it takes, the largest file, and the
    message for a larger one (checked on the phone too, before anything is sent)."""
    return {"accept": photos.ACCEPT, "max_bytes": photos.MAX_BYTES,
            "too_large": str(photos.TOO_LARGE)}


def wants_json() -> bool:
    """A script (the check-in's offline queue, later) asks for JSON; a form gets a page."""
    return request.accept_mimetypes.best == "application/json"


@bp.post("/photos")
@input_guard.body_limit(photos.MAX_BODY)
@patient_required
def add():
    upload = request.files.get("photo")
    # One byte more than allowed is enough to know it is too large.
    data = upload.stream.read(photos.MAX_BYTES + 1) if upload else b""
    try:
        photo = photo_store.add(g.patient, data, utcnow())
    except photos.PhotoError as refused:
        db.session.rollback()
        if wants_json():
            return {"error": str(refused.message), "errors": {"photo": str(refused.message)}}, 400
        return views.timeline_page(g.patient, photo_error=str(refused.message)), 400
    db.session.commit()
    if wants_json():
        return {"id": photo.id, "url": url_for("photos.show", photo_id=photo.id),
                "thumb_url": url_for("photos.thumb", photo_id=photo.id)}, 201
    return redirect(url_for("patient.timeline", _anchor="photos"), code=303)


@bp.errorhandler(413)
def too_large(error):
    """A body over MAX_BODY never reaches the view: say what the limit is, not "too much"."""
    message = str(photos.TOO_LARGE)
    if wants_json():
        return {"error": message, "errors": {"photo": message}}, 413
    return render_template("error.html", title=_("Photo too large"), message=message), 413


@bp.get("/photos/<int:photo_id>")
def show(photo_id: int):
    return serve(photo_id, thumb=False)


@bp.get("/photos/<int:photo_id>/thumb")
def thumb(photo_id: int):
    return serve(photo_id, thumb=True)


def serve(photo_id: int, thumb: bool):
    """The photo, to its patient (device cookie) or their clinic's staff (signed in); for
    anyone else it does not exist (404, the same as a photo that never was)."""
    stored = photo_store.image(photo_id, thumb)
    if stored is None or not may_see(stored):
        abort(404)
    return stored.data, 200, {"Content-Type": stored.content_type, **PHOTO_HEADERS}


def may_see(stored: photo_store.StoredImage) -> bool:
    device = access.device_from_request()
    if device is not None and device.patient_id == stored.patient_id:
        return True
    return bool(current_user.is_authenticated and current_user.clinic_id == stored.clinic_id)
