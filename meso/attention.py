"""What happens when a check-in asks the clinic to follow up (advice call_clinic or emergency).

Called once for every new alert check-in, inside the request that stored it: add and flush
only, the request commits.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from meso import clinic_mail
from meso.models import CheckIn


def checkin_needs_attention(checkin: CheckIn, now: datetime) -> None:
    """Tell the clinic. With SMTP_URL set, its admins get an e-mail within a minute (queued
    here, sent by the worker); without it nothing is queued."""
    if current_app.config.get("SMTP_URL"):
        clinic_mail.notify_admins(checkin, now)
