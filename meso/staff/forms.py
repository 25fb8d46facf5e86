"""Staff forms: each field validates itself and reports next to the field."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from meso import attention, courses, locales, patient_email, protocol, timeutil

# The languages, each named in itself (meso/locales.py).
LANGUAGES = [SelectChoice(code, name) for code, name in locales.choices()]
# What a datetime-local field sends (browsers add seconds when the step asks for them).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def strip(value):
    """A field filter: surrounding spaces are never meant."""
    return value.strip() if isinstance(value, str) else value


class LocalTimeForm(FlaskForm):
    """A form with a date-and-time field read as wall-clock time in a zone. Once valid,
    ``instant`` is its UTC instant; a time the clocks skip, or a date so far off it is surely
    a typo, is refused next to the field."""

    instant: datetime

    def local_time(self) -> tuple[DateTimeLocalField, str]:
        """Return the field to read and the name of the zone to read it in."""
        raise NotImplementedError

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        field, zone_name = self.local_time()
        try:
            instant = timeutil.local_to_utc(field.data, timeutil.zone(zone_name))
            courses.check_plausible(instant)
        except timeutil.SkippedTime as exc:
            field.errors.append(gettext(
                "%(time)s does not exist in %(zone)s: the clocks change that night",
                time=f"{exc.wall:%Y-%m-%d %H:%M}", zone=exc.zone))
            return False
        except timeutil.TimeInputError:
            field.errors.append(gettext("That date and time is out of range."))
            return False
        except courses.CourseChangeError as exc:
            field.errors.append(str(exc))
            return False
        self.instant = instant
        return True


def reminder_address(form, field) -> None:
    """An optional e-mail address for reminders, stored as patient_email normalises it."""
    if not (field.data or "").strip():
        field.data = None
        return
    try:
        field.data = patient_email.normalise(field.data)
    except patient_email.AddressError as exc:
        raise ValidationError(str(exc)) from None


def consent_given(form, field) -> None:
    """An address needs the patient's consent, ticked by staff who asked them."""
    if form.email.data and not field.data:
        raise ValidationError(_l("Tick this once the patient has agreed to reminders by "
                                 "e-mail, or leave the address empty."))


class ReminderEmailFields:
    """The patient's e-mail for reminders and their consent (enrolment, the patient's page)."""

    email = EmailField(
        _l("E-mail for reminders (optional)"),
        description=_l("Only if the patient wants reminders by e-mail: they come when the app "
                       "cannot notify the phone."),
        validators=[reminder_address],
    )
    email_consent = BooleanField(
        _l("The patient agreed to receive reminders at this address"),
        validators=[consent_given],
    )


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class EnrolForm(ReminderEmailFields, LocalTimeForm):
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
    lang = SelectField(
        _l("Patient's language"),
        description=_l("Their pages, reminders and calendar. They can change it on Today."),
        # Left out of a post (an older form, a script): the clinic's, which the view gives.
        choices=LANGUAGES, validators=[DataRequired()],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(name) for name in timeutil.zone_names()]

    def local_time(self) -> tuple[DateTimeLocalField, str]:
        return self.first_session, self.timezone.data


class SessionTimeForm(LocalTimeForm):
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

    def local_time(self) -> tuple[DateTimeLocalField, str]:
        return self.starts_at, self.zone_name


class PatientLanguageForm(FlaskForm):
    """The patient's language, on their page (staff change it for them)."""

    lang = SelectField(_l("Patient's language"), choices=LANGUAGES,
                       validators=[InputRequired()])


class OwnLanguageForm(FlaskForm):
    """A staff member's own language for the staff pages; empty: the browser's."""

    lang = SelectField(
        _l("Language of the staff pages"),
        description=_l("Only for you. Patients read their own language."),
        choices=[SelectChoice("", _l("The browser's language")), *LANGUAGES],
    )


class PlanForm(FlaskForm):
    planned_sessions = IntegerField(
        _l("Planned sessions"),
        validators=[InputRequired(), NumberRange(*protocol.SESSIONS_RANGE)])
    interval_weeks = IntegerField(
        _l("Weeks between sessions"),
        validators=[InputRequired(), NumberRange(*protocol.INTERVAL_RANGE)])


WINDOW_UNITS = ("days", "hours")
HOURS_PER = {"days": 24, "hours": 1}
# Windows shorter than this are said and entered in hours (the first two days: 24 h, 36 h).
HOURS_BELOW = 48


def window_unit(hours: int | None) -> str:
    """The unit a window is shown in: days, or hours for the first two days (and for a
    window that is not a whole number of days, so that no hour is lost)."""
    if hours is None:
        return "days"
    return "days" if hours >= HOURS_BELOW and hours % 24 == 0 else "hours"


class WindowField(IntegerField):
    """A restriction window: a whole number and its unit (a ``<name>_unit`` select beside it),
    stored in hours. ``data`` is always hours; ``unit`` the unit shown or sent. A form sent
    without the unit (older pages, scripts) is read in hours, as before."""

    unit: str = "days"

    def process(self, formdata, data=unset_value, extra_filters=None):
        if formdata is not None:
            sent = formdata.get(f"{self.name}_unit")
            self.unit = sent if sent in WINDOW_UNITS else "hours"
        super().process(formdata, data, extra_filters)
        if formdata is None:
            self.unit = window_unit(self.data)

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            amount = int(str(valuelist[0]).strip())
        except ValueError:
            self.data = None
            raise ValueError(_l("Enter a whole number of days or hours.")) from None
        self.data = amount * HOURS_PER[self.unit]

    def pre_validate(self, form) -> None:
        if self.process_errors:  # not a number: that message alone, not a range too
            raise StopValidation()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return str(self.data // HOURS_PER[self.unit])


def window_field(key: str, required: bool) -> WindowField:
    """A window for one restriction, 0 to the protocol's longest, in days or hours."""
    first = InputRequired() if required else Optional()
    return WindowField(
        _l(protocol.RESTRICTIONS[key].ok_name),
        validators=[first, NumberRange(
            0, protocol.MAX_WINDOW_HOURS,
            message=_l("Between 0 and %(max)d hours (%(days)d days).",
                       max=protocol.MAX_WINDOW_HOURS, days=protocol.MAX_WINDOW.days))],
    )


class PatientWindowsForm(FlaskForm):
    """The patient's own windows (read in hours); an empty field means the clinic's window."""

    def window_hours(self) -> dict[str, int | None]:
        return {key: self[key].data for key in protocol.RESTRICTIONS}


for _key in protocol.RESTRICTIONS:
    setattr(PatientWindowsForm, _key, window_field(_key, required=False))


class AcknowledgeForm(FlaskForm):
    """A staff member's note on a patient's open alerts: what was done (required, short)."""

    note = TextAreaField(
        _l("Note"),
        description=_l("What was done, e.g. \"Called back, seen tomorrow at 9\". At most "
                       "%(max)d characters.", max=attention.NOTE_MAX),
        filters=[strip],
    )
    # The newest alert on screen: one that arrives later stays open (attention.acknowledge).
    seen_up_to = HiddenField()

    def validate_note(self, field) -> None:
        try:
            field.data = attention.clean_note(field.data)
        except attention.NoteError as exc:
            raise ValidationError(str(exc)) from None

    def seen_id(self) -> int | None:
        value = self.seen_up_to.data
        if isinstance(value, str) and value.isdigit() and len(value) < 12:
            return int(value)
        return None


class PatientEmailForm(ReminderEmailFields, FlaskForm):
    """Set or change the patient's e-mail for reminders from their page (given at the desk)."""

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.email.data:
            self.email.errors.append(_l("Enter an e-mail address, or use Remove."))
            return False
        return True
