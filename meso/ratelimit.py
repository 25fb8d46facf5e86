"""Failure counters in the database: fixed windows per key, shared by every process.

Used where a secret can be guessed: patient access codes and staff sign-in. Every refusal
says how long to wait (`retry_after`), in the page and in a Retry-After header.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import ngettext

from meso.extensions import db
from meso.models import RateLimit

Limit = tuple[int, timedelta]  # (failures allowed, window)

# An IPv6 home or mobile connection gets a whole /64 and may use any address in it (privacy
# addresses change daily), so one client is one /64: counting single addresses would give
# a guesser 2^64 fresh counters.
IPV6_CLIENT_PREFIX = 64


def limited(keys_and_limits: list[tuple[str, Limit]], now: datetime) -> bool:
    """Return whether any key is over its limit."""
    return retry_after(keys_and_limits, now) is not None


def retry_after(keys_and_limits: list[tuple[str, Limit]], now: datetime) -> int | None:
    """Return the whole seconds until no key is over its limit, or None when none is."""
    waits = [wait for key, limit in keys_and_limits if (wait := seconds_left(key, limit, now))]
    return max(waits) if waits else None


def seconds_left(key: str, limit: Limit, now: datetime) -> int:
    """Return how many seconds this key stays over its limit (0: it is not over)."""
    row = db.session.get(RateLimit, key)
    if row is None or row.count < limit[0]:
        return 0
    return max(0, math.ceil((row.window_start + limit[1] - now).total_seconds()))


def over(key: str, limit: Limit, now: datetime) -> bool:
    return seconds_left(key, limit, now) > 0


def wait_text(seconds: int) -> str:
    """Say when a refused person may try again ("Try again in 12 minutes.")."""
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext("Try again in %(num)d minute.", "Try again in %(num)d minutes.", minutes)


def count_failures(keys_and_limits: list[tuple[str, Limit]], now: datetime) -> None:
    for key, limit in keys_and_limits:
        count_failure(key, limit, now)


def keyed(prefix: str, value: str) -> str:
    """Return a counter key for personal data (an address, an email): a keyed digest only."""
    secret = current_app.config["SECRET_KEY"].encode()
    return prefix + hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:40]


def client_network(address: str) -> str:
    """Return what counts as one client: an IPv4 address, or an IPv6 address's /64.

    The address is the one MESO_PROXY_HOPS resolved (request.remote_addr behind ProxyFix);
    an IPv4 address mapped into IPv6 counts as that IPv4 address.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP address (a Unix socket): one client
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    return str(ipaddress.ip_network(f"{ip}/{IPV6_CLIENT_PREFIX}", strict=False))


def client_key(address: str) -> str:
    """The counter key of a client address: every per-client limit goes through here."""
    # Addresses are personal data: keep only a keyed digest, enough to count by.
    return keyed("ip:", client_network(address))


def count_failure(key: str, limit: Limit, now: datetime) -> None:
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
