"""Staff sign-in and sign-out, one-time set-password links, and the session check."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from meso import audit, clinics, ratelimit, staff_sessions
from meso.extensions import db
from meso.models import StaffUser, utcnow
from meso.passwords import check_password
from meso.staff import bp
from meso.staff.admin_forms import SetPasswordForm
from meso.staff.forms import SignInForm

# The session remembers which password/activation "version" it was signed in under, and
# the token of its server-side row (meso/staff_sessions.py).
VERSION_KEY = "staff_sv"
SESSION_KEY = "staff_sid"
JOIN_KEY = "staff_join"


def load_staff_user(user_id: str) -> StaffUser | None:
    """Flask-Login's user loader: only a live server-side session, used from the network it
    was opened on, of an active account whose password has not changed since, signs in."""
    row = staff_sessions.find(session.get(SESSION_KEY))
    if row is None or str(row.staff_user_id) != user_id:
        return None
    why = staff_sessions.ended(row, utcnow())
    if why is not None or row.address_key != staff_sessions.address_key(client_address()):
        # This cookie forgets the session, so the notice shows once.
        session.pop(SESSION_KEY, None)
        flash(ended_notice(why))
        return None
    user = db.session.get(StaffUser, row.staff_user_id)
    if user is None or not user.active or session.get(VERSION_KEY, 0) != user.session_version:
        return None
    g.staff_session = row
    return user


def ended_notice(why: str | None) -> str:
    """Tell a staff member why they must sign in again."""
    if why == staff_sessions.IDLE:
        return _("You were signed out after %(minutes)d minutes without activity. Please sign "
                 "in again.", minutes=current_app.config["STAFF_IDLE_MINUTES"])
    if why == staff_sessions.TOO_OLD:
        return _("You were signed out %(hours)d hours after signing in. Please sign in again.",
                 hours=current_app.config["STAFF_SESSION_HOURS"])
    return _("Your connection changed, so you were signed out. Please sign in again.")


def client_address() -> str:
    """The client's address as MESO_PROXY_HOPS resolved it (ProxyFix), never a header."""
    return request.remote_addr or ""


def start_session(user: StaffUser) -> None:
    staff_sessions.end(session.get(SESSION_KEY))  # one browser, one session
    session.clear()
    login_user(user)
    now = utcnow()
    session[SESSION_KEY] = staff_sessions.start(user, client_address(), now)
    session[VERSION_KEY] = user.session_version
    user.last_sign_in_at = now


@bp.before_request
def note_activity():
    """Keep a signed-in session's idle clock running; written before the view, so the
    view's own transaction stays its own."""
    row = g.get("staff_session") if current_user.is_authenticated else None
    if row is not None and staff_sessions.touch(row, utcnow()):
        db.session.commit()


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("staff.roster"))
    form = SignInForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        counters = sign_in_counters(email)
        wait = ratelimit.retry_after(counters, utcnow())
        if wait is not None:
            form.password.errors.append(
                _("Too many failed sign-ins.") + " " + ratelimit.wait_text(wait))
            return (render_template("staff/sign_in.html", form=form), 429,
                    {"Retry-After": str(wait)})
        user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
        ok = check_password(user.password_hash if user else None, form.password.data)
        if ok and user.active:
            start_session(user)
            audit.by(user, "staff.sign_in")
            db.session.commit()
            return redirect(safe_next(request.args.get("next")), code=303)
        ratelimit.count_failures(counters, utcnow())
        record_failure(user, ok)
        form.password.errors.append(_("Wrong email or password."))
        return render_template("staff/sign_in.html", form=form), 400
    status = 400 if form.errors else 200
    return render_template("staff/sign_in.html", form=form), status


SIGN_IN_LIMIT = (10, timedelta(minutes=15))  # wrong passwords per account
SIGN_IN_CLIENT_LIMIT = (30, timedelta(minutes=15))  # per address (a front desk shares one)


def sign_in_counters(email: str) -> list[tuple[str, ratelimit.Limit]]:
    """Password guessing is limited per account and per client address."""
    return [
        (ratelimit.keyed("login:", email), SIGN_IN_LIMIT),
        (ratelimit.client_key(client_address()), SIGN_IN_CLIENT_LIMIT),
    ]


def record_failure(user: StaffUser | None, password_ok: bool) -> None:
    """Audit a refused sign-in; the typed email and password are never stored."""
    if user is None:
        audit.record("staff.sign_in_failed", clinic_id=None, reason="unknown email")
    else:
        reason = "inactive account" if password_ok else "wrong password"
        audit.by(user, "staff.sign_in_failed", reason=reason)
    db.session.commit()


def safe_next(target: str | None) -> str:
    """Return a local path to go to after sign-in; anything pointing elsewhere goes home."""
    # Browsers read "\" as "/", so "/\evil.example" would leave the site too.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("staff.roster")


@bp.post("/sign-out")
@login_required
def sign_out():
    audit.by(current_user, "staff.sign_out")
    staff_sessions.end(session.get(SESSION_KEY))
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("staff.sign_in"), code=303)


# "/i/" in the path: the access-log filter (meso/logredact.py) redacts the token after it.
@bp.get("/i/<token>")
def join(token: str):
    """Keep a set-password link's token in the session and go to a clean address."""
    if clinics.live_invite(token, utcnow()) is None:
        return render_template("staff/join_invalid.html"), 404
    session[JOIN_KEY] = token
    return redirect(url_for("staff.welcome"), code=303)


@bp.route("/welcome", methods=["GET", "POST"])
def welcome():
    invite = clinics.live_invite(session.get(JOIN_KEY), utcnow())
    if invite is None:
        return render_template("staff/join_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = clinics.accept_invite(invite, form.password.data)
        except clinics.AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            if current_user.is_authenticated:
                logout_user()
            start_session(user)
            db.session.commit()
            return redirect(url_for("staff.roster"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("staff/welcome.html", form=form, invite=invite), status
