"""Staff forms: each field validates itself and reports next to the field."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from meso import protocol, timeutil
from meso.courses import INTERVAL_RANGE, SESSIONS_RANGE
from meso.models import utcnow

FIRST_SESSION_PAST = timedelta(days=365)
FIRST_SESSION_AHEAD = timedelta(days=730)


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class EnrolForm(FlaskForm):
    name = StringField(
        _l("Patient name"),
        description=_l("As the patient likes to be addressed. No other personal data is needed."),
        validators=[DataRequired(), Length(max=120)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    area = SelectField(
        _l("Treatment area"),
        choices=[SelectChoice(key, _l(protocol.AREA_NAMES[key])) for key in protocol.AREAS],
        validators=[InputRequired()],
    )
    first_session = DateTimeLocalField(
        _l("First session (date and time)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(message=_l("Enter the date and time of the first session."))],
    )
    planned_sessions = IntegerField(
        _l("Planned sessions"),
        default=4,
        validators=[InputRequired(), NumberRange(*SESSIONS_RANGE)],
    )
    interval_weeks = IntegerField(
        _l("Weeks between sessions"),
        default=3,
        validators=[InputRequired(), NumberRange(*INTERVAL_RANGE)],
    )
    timezone = SelectField(_l("Patient's time zone"), validators=[InputRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(name) for name in timeutil.zone_names()]
        self.first_session_utc = None

    def validate(self, extra_validators=None) -> bool:
        """Also check that the session time exists in the chosen zone (DST gaps)."""
        if not super().validate(extra_validators):
            return False
        try:
            tz = timeutil.zone(self.timezone.data)
            self.first_session_utc = timeutil.local_to_utc(self.first_session.data, tz)
        except timeutil.TimeInputError as exc:
            self.first_session.errors.append(str(exc))
            return False
        now = utcnow()
        if not now - FIRST_SESSION_PAST <= self.first_session_utc <= now + FIRST_SESSION_AHEAD:
            # Almost always a typo in the year; a real course is enrolled around its sessions.
            self.first_session.errors.append(
                _("Check the date: it must be within a year before or two years after today.")
            )
            return False
        return True


SESSION_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class SessionTimeForm(FlaskForm):
    """A session's local date and time in the patient's zone (DST gaps refused)."""

    starts_at = DateTimeLocalField(
        _l("Date and time"),
        format=SESSION_FORMATS,
        validators=[InputRequired(message=_l("Enter the date and time of the session."))],
    )

    starts_at_utc: datetime  # the session's instant, set by validate()

    def __init__(self, timezone: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone_name = timezone

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        try:
            self.starts_at_utc = timeutil.local_to_utc(
                self.starts_at.data, timeutil.zone(self.zone_name))
        except timeutil.TimeInputError as exc:
            self.starts_at.errors.append(str(exc))
            return False
        return True


class PlanForm(FlaskForm):
    planned_sessions = IntegerField(
        _l("Planned sessions"), validators=[InputRequired(), NumberRange(*SESSIONS_RANGE)])
    interval_weeks = IntegerField(
        _l("Weeks between sessions"), validators=[InputRequired(), NumberRange(*INTERVAL_RANGE)])


MAX_WINDOW_HOURS = int(protocol.MAX_WINDOW.total_seconds() // 3600)


def window_field(key: str, required: bool) -> IntegerField:
    """An hours field for one restriction window (0 to 90 days)."""
    first = InputRequired() if required else Optional()
    return IntegerField(
        _l(protocol.RESTRICTIONS[key].ok_name),
        validators=[first, NumberRange(0, MAX_WINDOW_HOURS,
                                       message=_l("Between 0 and %(max)d hours (90 days).",
                                                  max=MAX_WINDOW_HOURS))],
    )


class PatientWindowsForm(FlaskForm):
    """The patient's own windows in hours; an empty field means the clinic's window."""

    def window_hours(self) -> dict[str, int | None]:
        return {key: self[key].data for key in protocol.RESTRICTIONS}


for _key in protocol.RESTRICTIONS:
    setattr(PatientWindowsForm, _key, window_field(_key, required=False))
