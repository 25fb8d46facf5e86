"""Staff forms: each field validates itself and reports next to the field."""

from __future__ import annotations

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
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange

from meso import protocol, timeutil
from meso.courses import INTERVAL_RANGE, SESSIONS_RANGE


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
        return True
