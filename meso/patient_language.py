"""Changing a patient's language (by staff on the patient's page, or by the patient on Today).

Everything the patient reads follows it: their pages (the patient's row changes, so their
version is bumped and no kept page in the old language is served: meso/page_versions.py),
reminders (worded at send time in the patient's language: meso/notifications.py) and their
calendar feed (a new revision, so calendar apps take the new texts). Only flushes.
"""

from __future__ import annotations

from meso import audit, calendar_feeds, locales
from meso.models import Patient, StaffUser


def change(patient: Patient, code: str | None, actor: StaffUser | None) -> bool:
    """Set the patient's language; UnsupportedLanguage for a code the app does not speak.

    Return whether it changed. ``actor`` is the staff member (None: the patient).
    """
    lang = locales.check(code)
    if lang == locales.patient_lang(patient) and patient.lang is not None:
        return False
    patient.lang = lang
    calendar_feeds.after_course_change(patient)
    audit.by(actor, "patient.language_changed", patient, lang=lang,
             by="staff" if actor is not None else "patient")
    return True
