"""The database model, one module per area; everything a patient owns hangs off Patient.id.

Import models from here (``from meso.models import Patient``): the modules are an internal split.
"""

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

__all__ = [
    "Clinic",
    "Course",
    "Patient",
    "PatientDevice",
    "StaffUser",
    "TreatmentSession",
    "UTCDateTime",
    "hash_token",
    "new_token",
    "utcnow",
]
