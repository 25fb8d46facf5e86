"""Staff forms: each field validates itself and reports next to the field."""

from __future__ import annotations

from datetime import datetime

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

from meso import courses, protocol, timeutil

# What a datetime-local field sends (browsers add seconds when the step asks for them).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def strip(value):
    """A field filter: surrounding spaces are never meant."""
    return value.strip() if isinstance(value, str) else value


def local_instant(field: DateTimeLocalField, zone_name: str) -> datetime | None:
    """Return the field's local time in ``zone_name`` as a UTC instant, or None with the
    reason next to the field (a time the clocks skip, a date far off: surely a typo)."""
    try:
        instant = timeutil.local_to_utc(field.data, timeutil.zone(zone_name))
        courses.check_plausible(instant)
    except (timeutil.TimeInputError, courses.CourseChangeError) as exc:
        field.errors.append(str(exc))
        return None
    return instant


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class EnrolForm(FlaskForm):
    name = StringField(
        _l("Patient name"),
        description=_l("As the patient likes to be addressed. No other personal data is needed."),
        validators=[DataRequired(), Length(max=120)],
        filters=[strip],
    )
    area = SelectField(
        _l("Treatment area"),
        choices=[SelectChoice(key, _l(protocol.AREA_NAMES[key])) for key in protocol.AREAS],
        validators=[InputRequired()],
    )
    first_session = DateTimeLocalField(
        _l("First session (date and time)"),
        format=LOCAL_FORMATS,
        validators=[InputRequired(message=_l("Enter the date and time of the first session."))],
    )
    planned_sessions = IntegerField(
        _l("Planned sessions"),
        default=protocol.DEFAULT_SESSIONS,
        validators=[InputRequired(), NumberRange(*protocol.SESSIONS_RANGE)],
    )
    interval_weeks = IntegerField(
        _l("Weeks between sessions"),
        default=protocol.DEFAULT_INTERVAL_WEEKS,
        validators=[InputRequired(), NumberRange(*protocol.INTERVAL_RANGE)],
    )
    timezone = SelectField(_l("Patient's time zone"), validators=[InputRequired()])

    first_session_utc: datetime  # the first session's instant, set by validate()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(name) for name in timeutil.zone_names()]

    def validate(self, extra_validators=None) -> bool:
        """Also check that the session time exists in the chosen zone (DST gaps)."""
        if not super().validate(extra_validators):
            return False
        instant = local_instant(self.first_session, self.timezone.data)
        if instant is None:
            return False
        self.first_session_utc = instant
        return True


class SessionTimeForm(FlaskForm):
    """A session's local date and time in the patient's zone (DST gaps refused)."""

    starts_at = DateTimeLocalField(
        _l("Date and time"),
        format=LOCAL_FORMATS,
        validators=[InputRequired(message=_l("Enter the date and time of the session."))],
    )

    starts_at_utc: datetime  # the session's instant, set by validate()

    def __init__(self, timezone: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone_name = timezone

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        instant = local_instant(self.starts_at, self.zone_name)
        if instant is None:
            return False
        self.starts_at_utc = instant
        return True


class PlanForm(FlaskForm):
    planned_sessions = IntegerField(
        _l("Planned sessions"),
        validators=[InputRequired(), NumberRange(*protocol.SESSIONS_RANGE)])
    interval_weeks = IntegerField(
        _l("Weeks between sessions"),
        validators=[InputRequired(), NumberRange(*protocol.INTERVAL_RANGE)])


def window_field(key: str, required: bool) -> IntegerField:
    """An hours field for one restriction window (0 to the protocol's longest)."""
    first = InputRequired() if required else Optional()
    return IntegerField(
        _l(protocol.RESTRICTIONS[key].ok_name),
        validators=[first, NumberRange(
            0, protocol.MAX_WINDOW_HOURS,
            message=_l("Between 0 and %(max)d hours (%(days)d days).",
                       max=protocol.MAX_WINDOW_HOURS, days=protocol.MAX_WINDOW.days))],
    )


class PatientWindowsForm(FlaskForm):
    """The patient's own windows in hours; an empty field means the clinic's window."""

    def window_hours(self) -> dict[str, int | None]:
        return {key: self[key].data for key in protocol.RESTRICTIONS}


for _key in protocol.RESTRICTIONS:
    setattr(PatientWindowsForm, _key, window_field(_key, required=False))
