"""Staff sessions held on the server: each sign-in is a row, and a session ends at sign-out,
after an idle spell (MESO_STAFF_IDLE_MINUTES, default 30), at a fixed lifetime
(MESO_STAFF_SESSION_HOURS, default 12), and never works from another network.

The signed session cookie only carries a random token; the row holds its hash. Services flush;
the request commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from meso import ratelimit
from meso.extensions import db
from meso.models import StaffSession, StaffUser, hash_token, new_token

# Last-seen is written at most this often, so reading pages is rarely a write; an idle
# session may end up to this much early.
TOUCH_EVERY = timedelta(minutes=1)

IDLE = "idle"
TOO_OLD = "too old"


def idle_limit() -> timedelta:
    return timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])


def lifetime() -> timedelta:
    return timedelta(hours=current_app.config["STAFF_SESSION_HOURS"])


def address_key(address: str) -> str:
    """The network a session is bound to: the address MESO_PROXY_HOPS resolved (never a
    header the client chose), an IPv6 client by its /64, kept as a keyed digest."""
    return ratelimit.client_key(address)


def start(user: StaffUser, address: str, now: datetime) -> str:
    """Open a session for the user at this address and return its cookie token."""
    prune(now)
    token = new_token()
    db.session.add(StaffSession(staff_user_id=user.id, token_hash=hash_token(token),
                                address_key=address_key(address), created_at=now,
                                last_seen_at=now))
    db.session.flush()
    return token


def find(token: str | None) -> StaffSession | None:
    if not token or not isinstance(token, str) or len(token) > 100:
        return None
    return db.session.scalar(
        sa.select(StaffSession).where(StaffSession.token_hash == hash_token(token)))


def ended(row: StaffSession, now: datetime) -> str | None:
    """Return why the session is over (IDLE, TOO_OLD), or None while it lasts."""
    if now - row.created_at >= lifetime():
        return TOO_OLD
    if now - row.last_seen_at >= idle_limit():
        return IDLE
    return None


def touch(row: StaffSession, now: datetime) -> bool:
    """Note activity on the session; return whether that was a write."""
    if now - row.last_seen_at < TOUCH_EVERY:
        return False
    row.last_seen_at = now
    db.session.flush()
    return True


def end(token: str | None) -> None:
    """End a session: every copy of its cookie stops working."""
    row = find(token)
    if row is not None:
        db.session.delete(row)
        db.session.flush()


def prune(now: datetime) -> None:
    """Delete the sessions that can no longer be used."""
    db.session.execute(sa.delete(StaffSession).where(sa.or_(
        StaffSession.last_seen_at <= now - idle_limit(),
        StaffSession.created_at <= now - lifetime(),
    )))
