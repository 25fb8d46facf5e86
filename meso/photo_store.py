"""Photo services: store a patient's progress photo, find one to serve, and lay them out for
the Timeline and the staff page (per session, with the first and the latest side by side).

These functions only add and flush: the view commits. The bytes are made by meso/photos.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from meso import photos, policy
from meso.extensions import db
from meso.models import CheckIn, Clinic, Patient, Photo

# Photos a patient adds in one local day at most: plenty for a few angles, and a bound on
# what one device cookie can pour into the database.
MAX_PER_DAY = 10

PHOTOS_OFF = _l("Your clinic does not take photos in this app.")
DAY_FULL = _l("You have added %(n)d photos today, the most for one day. "
              "Please add more tomorrow.", n=MAX_PER_DAY)


def enabled(clinic: Clinic) -> bool:
    """Whether the clinic lets its patients add photos (on unless an admin turned it off).
    Read from the clinic's settings as loaded with it (a patient's request has them)."""
    return policy.clinic_settings(clinic).photos_enabled


def add(patient: Patient, data: bytes, now: datetime, check_in: CheckIn | None = None) -> Photo:
    """Check, clean and store a photo the patient sent; raise photos.PhotoError if refused.

    It is filed under the session the patient is in and their local calendar day at ``now``.
    """
    photo = prepare(patient, data, now)
    photo.check_in_id = check_in.id if check_in is not None else None
    db.session.add(photo)
    db.session.flush()
    return photo


def prepare(patient: Patient, data: bytes, now: datetime) -> Photo:
    """Check and clean a photo the patient sent, as a row not yet added (the caller adds it,
    with what it belongs to); raise photos.PhotoError if refused. Nothing is written."""
    if not enabled(patient.clinic):
        raise photos.PhotoError(PHOTOS_OFF)
    day = now.astimezone(policy.zone_for(patient)).date()
    taken_today = db.session.scalar(
        sa.select(sa.func.count()).select_from(Photo)
        .where(Photo.patient_id == patient.id, Photo.local_date == day)) or 0
    if taken_today >= MAX_PER_DAY:
        raise photos.PhotoError(DAY_FULL)
    clean = photos.process(data)
    return Photo(
        patient_id=patient.id,
        session_number=policy.plan_for(patient, now).sessions_done,
        local_date=day,
        content_type=clean.content_type,
        data=clean.image,
        thumbnail=clean.thumbnail,
        width=clean.width,
        height=clean.height,
        created_at=now,
    )


@dataclass(frozen=True)
class StoredImage:
    """One photo's bytes (or its thumbnail's), with whose it is."""

    patient_id: int
    clinic_id: int
    content_type: str
    data: bytes


def image(photo_id: int, thumb: bool = False) -> StoredImage | None:
    """Return a photo's JPEG (or thumbnail) and its owner, or None if there is no such photo.

    The caller decides who may see it (the patient, or their clinic's staff).
    """
    column = Photo.thumbnail if thumb else Photo.data
    row = db.session.execute(
        sa.select(Photo.patient_id, Patient.clinic_id, Photo.content_type, column)
        .join(Patient, Patient.id == Photo.patient_id)
        .where(Photo.id == photo_id)
    ).first()
    return StoredImage(*row) if row is not None else None


def of_patient(patient_id: int) -> list[Photo]:
    """The patient's photos, oldest first, without their bytes (the columns are deferred)."""
    return list(db.session.scalars(
        sa.select(Photo).where(Photo.patient_id == patient_id)
        .order_by(Photo.created_at, Photo.id)))


def of_check_ins(check_in_ids: list[int]) -> dict[int, list[Photo]]:
    """The photos sent with these check-ins, by check-in id, oldest first, without their
    bytes: one query for a page of check-ins."""
    by_check_in: dict[int, list[Photo]] = {}
    if not check_in_ids:
        return by_check_in
    for photo in db.session.scalars(
            sa.select(Photo).where(Photo.check_in_id.in_(check_in_ids))
            .order_by(Photo.created_at, Photo.id)):
        by_check_in.setdefault(photo.check_in_id or 0, []).append(photo)
    return by_check_in


@dataclass(frozen=True)
class SessionPhotos:
    """The photos taken after one session (0: before the first)."""

    session_number: int
    photos: list[Photo]


@dataclass(frozen=True)
class Gallery:
    """A patient's photos per session, and the first and latest for a before-and-after."""

    sessions: list[SessionPhotos]
    first: Photo | None
    latest: Photo | None

    @property
    def compare(self) -> bool:
        """Whether there are two different photos to show side by side."""
        return self.first is not None and self.latest is not None and self.first is not self.latest

    @property
    def empty(self) -> bool:
        return not self.sessions


def gallery(taken: list[Photo]) -> Gallery:
    """Group photos (oldest first) by session, in order. Pure."""
    sessions: list[SessionPhotos] = []
    for photo in sorted(taken, key=lambda p: (p.session_number, p.created_at, p.id)):
        if not sessions or sessions[-1].session_number != photo.session_number:
            sessions.append(SessionPhotos(photo.session_number, []))
        sessions[-1].photos.append(photo)
    in_time = sorted(taken, key=lambda p: (p.created_at, p.id))
    return Gallery(sessions, in_time[0] if in_time else None, in_time[-1] if in_time else None)


def gallery_of(patient: Patient) -> Gallery:
    return gallery(of_patient(patient.id))
