"""The database model, one module per area; everything a patient owns hangs off Patient.id.

Import models from here (``from meso.models import Patient``): the modules are an internal split.
"""

from meso.models.calendar_feed import CalendarFeed
from meso.models.checkins import ALERT_LEVELS, CheckIn
from meso.models.clinic import (
    AccessCode,
    AuditEvent,
    ClinicReplan,
    ClinicSettings,
    RateLimit,
    StaffInvite,
    StaffSession,
    WindowOverride,
)
from meso.models.core import (
    Clinic,
    Course,
    Patient,
    PatientDevice,
    StaffUser,
    TreatmentSession,
    UTCDateTime,
    hash_token,
    new_token,
    utcnow,
)
from meso.models.email import EmailConfirmation
from meso.models.photos import Photo
from meso.models.push import OutboundEmail, PushSubscription, Reminder, ReminderSettings

__all__ = [
    "ALERT_LEVELS",
    "AccessCode",
    "AuditEvent",
    "CalendarFeed",
    "CheckIn",
    "Clinic",
    "ClinicReplan",
    "ClinicSettings",
    "Course",
    "EmailConfirmation",
    "OutboundEmail",
    "Patient",
    "PatientDevice",
    "Photo",
    "PushSubscription",
    "RateLimit",
    "Reminder",
    "ReminderSettings",
    "StaffInvite",
    "StaffSession",
    "StaffUser",
    "TreatmentSession",
    "UTCDateTime",
    "WindowOverride",
    "hash_token",
    "new_token",
    "utcnow",
]
