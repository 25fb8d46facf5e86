"""Daily check-ins: how the treated area feels, its signs and trend, any red flags ticked, the
advice the patient was given, and the clinic's acknowledgement when that advice was to call."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from meso.extensions import Model
from meso.models.core import Patient, StaffUser, UTCDateTime, utcnow

# Advice levels (checkin_rules.ADVICE_LEVELS) that ask the clinic to follow up.
ALERT_LEVELS = ("call_clinic", "emergency")


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
    # The patient chose "None of these" for the red flags: all fine, not skipped. (False with
    # no symptoms: the question was left unanswered, or came from an older page.)
    no_flags: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    # The five signs as {sign key: level} (checkin_rules.CHECKIN_SIGNS / SIGN_LEVELS); {} for a
    # check-in sent without them (an old phone's queue).
    signs: so.Mapped[dict] = so.mapped_column(
        sa.JSON, default=dict, server_default=sa.text("'{}'")
    )
    trend: so.Mapped[str | None] = so.mapped_column(sa.String(8))  # better / same / worse
    # What the patient was told (checkin_rules.ADVICE_LEVELS), kept as it was said: rules may
    # change later, the clinic follows up on what the patient read.
    advice: so.Mapped[str] = so.mapped_column(
        sa.String(12), default="expected", server_default="expected"
    )
    # A call_clinic / emergency check-in stays at the top of the roster until staff
    # acknowledge it with a short note.
    acknowledged_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    acknowledged_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    acknowledgement_note: so.Mapped[str] = so.mapped_column(
        sa.String(280), default="", server_default=""
    )
    idempotency_key: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    patient: so.Mapped[Patient] = so.relationship()
    acknowledged_by: so.Mapped[StaffUser | None] = so.relationship()

    __table_args__ = (
        sa.UniqueConstraint("patient_id", "idempotency_key", name="uq_check_in_patient_key"),
        sa.CheckConstraint("feeling BETWEEN 1 AND 5", name="feeling_range"),
        sa.Index("ix_check_in_patient_day", "patient_id", "local_date"),
        sa.Index("ix_check_in_open_alerts", "advice", "acknowledged_at"),
    )

    @property
    def needs_attention(self) -> bool:
        """Whether the clinic still has to follow this check-in up."""
        return self.advice in ALERT_LEVELS and self.acknowledged_at is None

    @property
    def symptom_keys(self) -> list[str]:
        return self.symptoms.split(",") if self.symptoms else []
