"""Clinic administration services: the clinic itself, its protocol settings, staff accounts.

Services add and flush and record who did it; the request commits.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from meso import audit, clinic_replans, opening_hours, policy, protocol
from meso.extensions import db
from meso.models import (
    Clinic,
    ClinicSettings,
    StaffInvite,
    StaffUser,
    hash_token,
    new_token,
    utcnow,
)
from meso.passwords import hash_password
from meso.timeutil import DEFAULT_ZONE_NAME

ROLES = ("admin", "practitioner")
INVITE_VALID = timedelta(days=7)
RESET_VALID = timedelta(days=1)


class AccountError(ValueError):
    """A staff-account change that cannot be made; the message says why."""


def get_or_create_clinic(name: str, timezone: str = DEFAULT_ZONE_NAME) -> Clinic:
    clinic = db.session.scalar(sa.select(Clinic).where(Clinic.name == name))
    if clinic is None:
        clinic = Clinic(name=name, timezone=timezone)
        db.session.add(clinic)
        db.session.flush()
    return clinic


def set_phone(actor: StaffUser, phone: str) -> None:
    """Change the clinic's phone number (shown on the patient's pages and card)."""
    clinic = actor.clinic
    if clinic.phone != phone:
        audit.by(actor, "settings.changed", changes={"phone": [clinic.phone, phone]})
        clinic.phone = phone


def set_language(actor: StaffUser, lang: str) -> None:
    """Change the language new patients of the clinic get (and those who never had one)."""
    clinic = actor.clinic
    if clinic.lang != lang:
        audit.by(actor, "settings.changed", changes={"lang": [clinic.lang, lang]})
        clinic.lang = lang


def update_settings(actor: StaffUser, window_hours: dict[str, int], first_weeks_days: int,
                    reminder_time: time, quiet_start: time, quiet_end: time,
                    photos_enabled: bool | None = None) -> dict:
    """Save the clinic's settings (windows equal to the default are not stored); return the
    changes as {name: [old, new]}. ``photos_enabled`` None leaves that setting as it is."""
    protocol.validate_overrides(window_hours)
    settings = ClinicSettings.of(actor.clinic_id)
    old = _settings_facts(settings)
    defaults = policy.default_window_hours()
    settings.window_hours = {
        key: hours for key, hours in window_hours.items() if hours != defaults[key]
    }
    settings.first_weeks_days = first_weeks_days
    settings.reminder_time, settings.quiet_start, settings.quiet_end = (
        reminder_time, quiet_start, quiet_end)
    if photos_enabled is not None:
        settings.photos_enabled = photos_enabled
    new = _settings_facts(settings)
    changes = {k: [old[k], new[k]] for k in new if old[k] != new[k]}
    if not changes:
        return {}
    settings.updated_at = utcnow()
    db.session.add(settings)
    db.session.flush()
    db.session.expire(actor.clinic, ["settings"])  # a new row: Clinic.settings may hold None
    audit.by(actor, "settings.changed", changes=changes)
    # Every patient's reminders follow, re-planned by the worker (not in this request).
    clinic_replans.request(actor.clinic_id)
    return changes


def set_opening_hours(actor: StaffUser, week: opening_hours.Week) -> bool:
    """Save the clinic's opening hours (all days closed: none given); return whether they
    changed. Today tells patients what to do when the clinic is closed."""
    settings = ClinicSettings.of(actor.clinic_id)
    stored, old = opening_hours.dump(week), settings.opening_hours
    if stored == old:
        return False
    settings.opening_hours = stored
    settings.updated_at = utcnow()
    db.session.add(settings)
    db.session.flush()
    audit.by(actor, "settings.changed", changes={"opening_hours": [old, stored]})
    return True


def _settings_facts(settings: ClinicSettings) -> dict:
    hours = policy.clinic_window_hours(settings)
    facts = {f"{key}_hours": value for key, value in hours.items()}
    facts["first_weeks_days"] = settings.first_weeks_days
    for name in ("reminder_time", "quiet_start", "quiet_end"):
        facts[name] = getattr(settings, name).strftime("%H:%M")
    facts["photos_enabled"] = settings.photos_enabled
    return facts


# -- staff accounts ---------------------------------------------------------------------------


def invite_colleague(actor: StaffUser, email: str, role: str) -> tuple[StaffInvite, str]:
    """Make a one-time set-password link for a new colleague; return it with its token."""
    email = email.strip().lower()
    if role not in ROLES:
        raise AccountError(_("Choose a role."))
    if db.session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email)):
        raise AccountError(_("This email already has an account."))
    invite, token = _new_link(actor, email, role, None, INVITE_VALID)
    audit.by(actor, "staff.invited", role=role, invite=invite.id)
    return invite, token


def reset_link(actor: StaffUser, user: StaffUser) -> tuple[StaffInvite, str]:
    """Make a one-time link for a colleague who forgot their password."""
    invite, token = _new_link(actor, user.email, user.role, user.id, RESET_VALID)
    audit.by(actor, "staff.reset_link", colleague=user.id)
    return invite, token


def _new_link(actor, email, role, user_id, valid) -> tuple[StaffInvite, str]:
    now = utcnow()
    # One live link per address: a new one replaces any earlier.
    db.session.execute(sa.delete(StaffInvite).where(
        StaffInvite.clinic_id == actor.clinic_id, StaffInvite.email == email,
        StaffInvite.used_at.is_(None)))
    token = new_token()
    invite = StaffInvite(clinic_id=actor.clinic_id, email=email, role=role,
                         staff_user_id=user_id, token_hash=hash_token(token),
                         created_by_id=actor.id, created_at=now, expires_at=now + valid)
    db.session.add(invite)
    db.session.flush()
    return invite, token


def cancel_invite(actor: StaffUser, invite_id: int) -> bool:
    """Delete one of the clinic's open links; return whether there was one."""
    invite = db.session.scalar(sa.select(StaffInvite).where(
        StaffInvite.id == invite_id, StaffInvite.clinic_id == actor.clinic_id))
    if invite is None:
        return False
    audit.by(actor, "staff.invite_cancelled", invite=invite.id)
    db.session.delete(invite)
    db.session.flush()
    return True


def live_invite(token: str | None, now: datetime) -> StaffInvite | None:
    if not token or len(token) > 100:
        return None
    invite = db.session.scalar(
        sa.select(StaffInvite).where(StaffInvite.token_hash == hash_token(token)))
    return invite if invite is not None and invite.usable(now) else None


def accept_invite(invite: StaffInvite, password: str) -> StaffUser:
    """Set the password from a one-time link: a new account, or a reset of an existing one."""
    now = utcnow()
    if invite.staff_user_id is None:
        if db.session.scalar(sa.select(StaffUser.id).where(StaffUser.email == invite.email)):
            raise AccountError(_("This email already has an account."))
        user = StaffUser(clinic_id=invite.clinic_id, email=invite.email, role=invite.role,
                         password_hash=hash_password(password))
        db.session.add(user)
    else:
        user = db.session.get_one(StaffUser, invite.staff_user_id)
        user.password_hash = hash_password(password)
        user.session_version += 1  # a reset ends every session of the old password
    invite.used_at = now
    db.session.flush()
    audit.by(user, "staff.joined", reset=invite.staff_user_id is not None)
    return user


def set_active(actor: StaffUser, user: StaffUser, active: bool) -> None:
    if user.id == actor.id:
        raise AccountError(_("You cannot deactivate your own account."))
    if user.active == active:
        return
    if not active and user.role == "admin":
        _keep_an_admin(user)
    user.active = active
    # Deactivation ends the colleague's sessions at once (the user loader checks the version).
    user.session_version += 1
    audit.by(actor, "staff.activated" if active else "staff.deactivated", colleague=user.id)


def set_role(actor: StaffUser, user: StaffUser, role: str) -> None:
    if role not in ROLES:
        raise AccountError(_("Choose a role."))
    if user.role == role:
        return
    if user.role == "admin":
        _keep_an_admin(user)
    before, user.role = user.role, role
    audit.by(actor, "staff.role_changed", colleague=user.id, role=[before, role])


def active_admins(clinic_id: int) -> sa.Select:
    """The clinic's active admins, by id: who manages the team, and who is e-mailed when a
    check-in asks the clinic to call (clinic_mail.py)."""
    return sa.select(StaffUser).where(
        StaffUser.clinic_id == clinic_id, StaffUser.role == "admin",
        StaffUser.active.is_(True)).order_by(StaffUser.id)


def _keep_an_admin(user: StaffUser) -> None:
    others = db.session.scalar(
        active_admins(user.clinic_id).where(StaffUser.id != user.id)
        .with_only_columns(sa.func.count()).order_by(None))
    if not others:
        raise AccountError(_("A clinic needs at least one active admin."))
