"""Forms of the admin pages (staff accounts, clinic settings) and the set-password page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from meso import opening_hours, protocol, reminders
from meso.passwords import MIN_LENGTH
from meso.staff.forms import LANGUAGES, strip, window_field

ROLE_CHOICES = [SelectChoice("practitioner", _l("Practitioner")),
                SelectChoice("admin", _l("Admin"))]


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        description=_l("At least %(n)d characters. A short sentence is easy to remember.",
                       n=MIN_LENGTH),
        validators=[DataRequired(), Length(min=MIN_LENGTH, max=1000)],
    )
    confirm = PasswordField(
        _l("The same password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class InviteForm(FlaskForm):
    email = EmailField(_l("Colleague's email"),
                       validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[InputRequired()])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[InputRequired()])


class SettingsForm(FlaskForm):
    phone = StringField(_l("Clinic phone"), description=_l("On the patient's pages and card."),
                        validators=[Length(max=40)], filters=[strip])
    lang = SelectField(
        _l("Patients' language"),
        description=_l("What a new patient gets; staff can pick another at enrolment."),
        choices=LANGUAGES, validators=[DataRequired()],  # left out: as it is
    )
    first_weeks_days = IntegerField(
        _l("First weeks phase (days)"),
        description=_l("From two days after a session until this day. Default %(n)d.",
                       n=protocol.DEFAULT_FIRST_WEEKS.days),
        validators=[InputRequired(), NumberRange(*protocol.FIRST_WEEKS_RANGE)],
    )
    reminder_time = TimeField(_l("Default reminder time (morning)"),
                              validators=[InputRequired()])
    quiet_start = TimeField(_l("Quiet hours from"), validators=[InputRequired()])
    quiet_end = TimeField(_l("Quiet hours until"), validators=[InputRequired()])
    photos_enabled = BooleanField(
        _l("Patients can add progress photos"),
        description=_l("On their Timeline. Turning this off keeps the photos already added."),
    )

    def window_hours(self) -> dict[str, int]:
        return {key: self[key].data for key in protocol.RESTRICTIONS}

    def week(self) -> opening_hours.Week:
        """The opening hours entered: a day with both times is open, else closed."""
        days = []
        for day in range(opening_hours.DAYS):
            opens, closes = self[f"opens_{day}"].data, self[f"closes_{day}"].data
            days.append((opens, closes) if opens and closes else None)
        return tuple(days)

    def opening_hours_data(self, week: opening_hours.Week | None) -> None:
        """Fill the day fields from a stored week (on GET)."""
        for day in range(opening_hours.DAYS):
            hours = week[day] if week else None
            self[f"opens_{day}"].data = hours[0] if hours else None
            self[f"closes_{day}"].data = hours[1] if hours else None

    def _validate_opening_hours(self) -> bool:
        valid = True
        for day in range(opening_hours.DAYS):
            opens, closes = self[f"opens_{day}"], self[f"closes_{day}"]
            if bool(opens.data) != bool(closes.data):
                (closes if opens.data else opens).errors.append(
                    _l("Give both times, or neither for a closed day."))
                valid = False
            elif opens.data and closes.data and not opens.data < closes.data:
                closes.errors.append(_l("Closing comes after opening."))
                valid = False
        return valid

    def validate(self, extra_validators=None) -> bool:
        """Also check the quiet hours make sense and leave the morning time free."""
        if not super().validate(extra_validators):
            return False
        if not self._validate_opening_hours():
            return False
        problem = reminders.quiet_hours_conflict(
            self.quiet_start.data, self.quiet_end.data, self.reminder_time.data)
        if problem == "same":
            self.quiet_end.errors.append(_l("Quiet hours must end at another time."))
        elif problem == "morning":
            self.reminder_time.errors.append(_l("This time is inside the quiet hours."))
        return problem is None


for _key in protocol.RESTRICTIONS:
    setattr(SettingsForm, _key, window_field(_key, required=True))


class EraseForm(FlaskForm):
    """Erasing a patient: the admin types the patient's full name (checked in the view)."""

    name = StringField(_l("Type the patient's full name to confirm"),
                       validators=[DataRequired(), Length(max=200)], filters=[strip])


# Opening hours, Monday first: on Today, patients are told what to do when the clinic is closed.
for _day in range(opening_hours.DAYS):
    setattr(SettingsForm, f"opens_{_day}", TimeField(_l("Opens"), validators=[Optional()]))
    setattr(SettingsForm, f"closes_{_day}", TimeField(_l("Closes"), validators=[Optional()]))
