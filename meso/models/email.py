"""A patient's e-mail address waiting for its confirmation link (meso/patient_email.py)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from meso.extensions import Model
from meso.models.core import Patient, UTCDateTime, utcnow


class EmailConfirmation(Model):
    """The address a patient typed on the reminders page, until they click the link sent to it.

    One per patient: asking again replaces it. The link's token is never stored: it is an HMAC
    of this row (id, nonce, address) under SECRET_KEY, so the database alone cannot confirm an
    address, and the worker can still write the link into the e-mail when it sends it. A
    confirmed, cancelled or expired row is deleted: the link is single use.
    """

    __tablename__ = "email_confirmation"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="CASCADE"), unique=True
    )
    address: so.Mapped[str] = so.mapped_column(sa.String(254))
    nonce: so.Mapped[str] = so.mapped_column(sa.String(32))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)

    patient: so.Mapped[Patient] = so.relationship()
