"""Failure counters in the database: fixed windows per key, shared by every process.

Used where a secret can be guessed: patient access codes and staff sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from meso.extensions import db
from meso.models import RateLimit

Limit = tuple[int, timedelta]  # (failures allowed, window)


def limited(keys_and_limits: list[tuple[str, Limit]], now: datetime) -> bool:
    """Return whether any key is over its limit."""
    return any(over(key, limit, now) for key, limit in keys_and_limits)


def count_failures(keys_and_limits: list[tuple[str, Limit]], now: datetime) -> None:
    for key, limit in keys_and_limits:
        count_failure(key, limit, now)


def keyed(prefix: str, value: str) -> str:
    """Return a counter key for personal data (an address, an email): a keyed digest only."""
    secret = current_app.config["SECRET_KEY"].encode()
    return prefix + hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:40]


def client_key(client: str) -> str:
    # Addresses are personal data: keep only a keyed digest, enough to count by.
    return keyed("ip:", client)


def over(key: str, limit: tuple[int, timedelta], now: datetime) -> bool:
    row = db.session.get(RateLimit, key)
    return row is not None and row.window_start + limit[1] > now and row.count >= limit[0]


def retry_after(key: str, limit: Limit, now: datetime) -> int:
    """Seconds until the key's window ends (at least 1): a 429's Retry-After."""
    row = db.session.get(RateLimit, key)
    if row is None:
        return 1
    return max(1, math.ceil((row.window_start + limit[1] - now).total_seconds()))


def count_failure(key: str, limit: tuple[int, timedelta], now: datetime) -> None:
    row = db.session.get(RateLimit, key, with_for_update=True)
    if row is None:
        prune(now)
        try:
            with db.session.begin_nested():  # another worker may insert the same key first
                db.session.add(RateLimit(key=key, window_start=now, count=1))
            return
        except sa.exc.IntegrityError:
            row = db.session.get_one(RateLimit, key, with_for_update=True,
                                     populate_existing=True)
    if row.window_start + limit[1] <= now:
        row.window_start, row.count = now, 1
    else:
        row.count = RateLimit.count + 1  # atomic in SQL: two workers cannot lose a count
    db.session.flush()


def prune(now: datetime) -> None:
    """Forget windows that ended long ago (the longest limit is an hour)."""
    db.session.execute(sa.delete(RateLimit).where(RateLimit.window_start < now - timedelta(days=1)))


