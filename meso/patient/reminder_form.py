"""The reminders page's forms: the settings (categories, the morning time, quiet hours,
discreet mode) and the patient's e-mail address for reminders."""

from __future__ import annotations

from datetime import time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import BooleanField, EmailField, TimeField
from wtforms.validators import InputRequired, ValidationError
from wtforms.widgets import html_params

from meso import patient_email, protocol, reminders
from meso.formatting import time_label

# Longer quiet hours would silence the day itself: most reminders would be dropped.
MAX_QUIET = timedelta(hours=14)


# The times a picker offers: every quarter of an hour.
PICKER_MINUTES = (0, 15, 30, 45)


class TimePicker:
    """A time of day picked from a list, each written as the patient's locale writes times
    (a 24-hour clock where the locale uses one: '21:00', not '9:00 PM'), whatever the phone's
    own time input would show. The value sent is always HH:MM, as TimeField reads it."""

    def __call__(self, field, **kwargs) -> Markup:
        kwargs.setdefault("id", field.id)
        times = [time(h, m) for h in range(24) for m in PICKER_MINUTES]
        chosen = field.data if isinstance(field.data, time) else None
        if chosen is None and field.raw_data:
            chosen_text = field.raw_data[0]
        else:
            chosen_text = chosen.strftime("%H:%M") if chosen else ""
        if chosen is not None and chosen.replace(second=0, microsecond=0) not in times:
            times = sorted({*times, chosen.replace(second=0, microsecond=0)})
        values = [f"{t:%H:%M}" for t in times]
        options = [_option(value, time_label(t), value == chosen_text)
                   for value, t in zip(values, times, strict=True)]
        if chosen_text not in values:
            options.insert(0, _option("", "", True))
        # html_params and render_option escape every value and label.
        return Markup(  # noqa: S704
            f"<select {html_params(name=field.name, **kwargs)}>{''.join(options)}</select>")


def _option(value: str, label: str, selected: bool) -> str:
    return f"<option {html_params(value=value, selected=selected)}>{escape(label)}</option>"


def _time_field(label, message, description=None) -> TimeField:
    return TimeField(label, description=description, widget=TimePicker(),
                     validators=[InputRequired(message=message)])


def _category(key: str) -> BooleanField:
    return BooleanField(_l(protocol.REMINDER_CATEGORY_NAMES[key]))


class ReminderSettingsForm(FlaskForm):
    sun = _category("sun")
    heat = _category("heat")
    exfoliants = _category("exfoliants")
    sessions = _category("sessions")
    checkins = _category("checkins")
    morning = _time_field(
        _l("Morning reminders at"), _l("Enter a time, like 09:00."),
        description=_l("Sun and skincare reminders come at this time."),
    )
    quiet_start = _time_field(_l("Quiet from"), _l("Enter a time, like 21:00."))
    quiet_end = _time_field(_l("Quiet until"), _l("Enter a time, like 08:00."))
    discreet = BooleanField(
        _l("Discreet notifications"),
        description=_l("The lock screen shows only “Reminder” and no treatment words."),
    )

    @staticmethod
    def defaults(settings: reminders.Settings) -> dict:
        data: dict[str, object] = {
            key: key in settings.categories for key in protocol.REMINDER_CATEGORIES}
        data.update(morning=settings.morning, quiet_start=settings.quiet_start,
                    quiet_end=settings.quiet_end, discreet=settings.discreet)
        return data

    def validate(self, extra_validators=None) -> bool:
        """Also check the quiet hours make sense and leave the morning time free."""
        if not super().validate(extra_validators):
            return False
        problem = reminders.quiet_hours_conflict(
            self.quiet_start.data, self.quiet_end.data, self.morning.data, longest=MAX_QUIET)
        if problem == "same":
            self.quiet_end.errors.append(_("Quiet hours must start and end at different times."))
        elif problem == "too_long":
            self.quiet_end.errors.append(_("Quiet hours can last at most %(n)d hours.",
                                           n=MAX_QUIET // timedelta(hours=1)))
        elif problem == "morning":
            self.morning.errors.append(_("Choose a time outside your quiet hours."))
        return problem is None


def _address(form, field) -> None:
    try:
        field.data = patient_email.normalise(field.data)
    except patient_email.AddressError as exc:
        raise ValidationError(str(exc)) from None


class AddressForm(FlaskForm):
    email = EmailField(
        _l("Your e-mail address"),
        description=_l("We send a link to it: reminders go there once you open the link."),
        validators=[_address],
    )
