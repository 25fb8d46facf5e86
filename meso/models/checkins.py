"""Daily check-ins: how the treated area feels, and any warning signs the patient ticked."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from meso.extensions import Model
from meso.models.core import Patient, UTCDateTime, utcnow


class CheckIn(Model):
    """One submission. The least that is useful: a day, a 1-5 feeling, the red flags ticked.

    A phone that was offline sends its queued check-ins later, perhaps more than once; the
    idempotency key it made for each submission keeps them stored exactly once.
    """

    __tablename__ = "check_in"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("patient.id", ondelete="CASCADE")
    )
    local_date: so.Mapped[date]  # the patient's calendar day when they filled it in
    feeling: so.Mapped[int] = so.mapped_column(sa.SmallInteger)  # 1 bad ... 5 very good
    # Keys of protocol.CHECKIN_FLAGS, sorted, comma-separated; "" when none was ticked.
    symptoms: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    idempotency_key: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    patient: so.Mapped[Patient] = so.relationship()

    __table_args__ = (
        sa.UniqueConstraint("patient_id", "idempotency_key", name="uq_check_in_patient_key"),
        sa.CheckConstraint("feeling BETWEEN 1 AND 5", name="feeling_range"),
        sa.Index("ix_check_in_patient_day", "patient_id", "local_date"),
    )

    @property
    def symptom_keys(self) -> list[str]:
        return self.symptoms.split(",") if self.symptoms else []
