"""The reminder settings form: categories, the morning time, quiet hours, discreet mode."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, TimeField
from wtforms.validators import InputRequired

from meso import protocol, reminders

# Longer quiet hours would silence the day itself: most reminders would be dropped.
MAX_QUIET = timedelta(hours=14)


def _category(key: str) -> BooleanField:
    return BooleanField(_l(protocol.REMINDER_CATEGORY_NAMES[key]))


class ReminderSettingsForm(FlaskForm):
    sun = _category("sun")
    heat = _category("heat")
    exfoliants = _category("exfoliants")
    sessions = _category("sessions")
    checkins = _category("checkins")
    morning = TimeField(
        _l("Morning reminders at"),
        description=_l("Sun and skincare reminders come at this time."),
        validators=[InputRequired(message=_l("Enter a time, like 09:00."))],
    )
    quiet_start = TimeField(
        _l("Quiet from"), validators=[InputRequired(message=_l("Enter a time, like 21:00."))]
    )
    quiet_end = TimeField(
        _l("Quiet until"), validators=[InputRequired(message=_l("Enter a time, like 08:00."))]
    )
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
