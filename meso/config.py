"""Configuration: defaults, then the environment, then secrets kept in instance/."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from meso.push_services import DEFAULT as PUSH_SERVICES


def load_config(app, overrides: dict) -> None:
    """Fill app.config from the environment, then ``overrides``; a missing SECRET_KEY comes
    from instance/ (created there on first run)."""
    instance = Path(app.instance_path)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'meso.sqlite3'}"
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=database_url,
        # Where patient links point. Unset: the address the staff member is using (or, from
        # the CLI, the local development server).
        MESO_BASE_URL=(os.environ.get("MESO_BASE_URL") or "").rstrip("/"),
        INVITE_DAYS=14,
        DEVICE_COOKIE="meso_device",
        DEVICE_COOKIE_DAYS=400,  # the longest lifetime browsers accept for a cookie
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token is tied to the session, not to a clock
        # en_GB: 24-hour clock and day-month dates, as European clinics write them. A locale
        # selector arrives with the Italian, French and Spanish translations.
        BABEL_DEFAULT_LOCALE="en_GB",
        BABEL_TRANSLATION_DIRECTORIES="translations",
        DEMO_TIMEZONE="Europe/Rome",
        # Web Push (VAPID). Without VAPID_PRIVATE_KEY, the key `flask --app app init` keeps in
        # instance/ is used; VAPID_PUBLIC_KEY, when set, must be its pair (checked at start-up).
        # VAPID_SUBJECT (mailto: or https:) is required to send.
        VAPID_PRIVATE_KEY=os.environ.get("VAPID_PRIVATE_KEY")
        or instance_text(instance / "vapid_private_key"),
        VAPID_PUBLIC_KEY=os.environ.get("VAPID_PUBLIC_KEY") or "",
        VAPID_SUBJECT=os.environ.get("VAPID_SUBJECT") or "",
        # How many reverse proxies (TLS terminator, load balancer) stand in front of the app:
        # their X-Forwarded-* headers are then trusted for the client address (rate limits)
        # and the scheme (Secure cookies, strict CSRF Referer checks). 0: trust none.
        PROXY_HOPS=int(os.environ.get("MESO_PROXY_HOPS") or 0),
        # The origins a push subscription may point at (comma-separated, "*." for any
        # subdomain): the worker POSTs there. http:// only for a loopback address (tests).
        MESO_PUSH_SERVICES=os.environ.get("MESO_PUSH_SERVICES") or ",".join(PUSH_SERVICES),
        # Seconds a whole send may take (connect to answer), not a per-read time-out.
        MESO_PUSH_DEADLINE=os.environ.get("MESO_PUSH_DEADLINE") or 10,
    )
    secure = os.environ.get("MESO_INSECURE_COOKIES") != "1" and not app.debug
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["REMEMBER_COOKIE_SECURE"] = secure
    app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or instance_secret(instance)


def instance_text(path: Path) -> str:
    """Return a secret kept in instance/, or "" when there is none yet."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def instance_secret(instance: Path) -> str:
    """Return the secret key kept in instance/, creating it (mode 600) on first run."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: if two processes start at once, the loser reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
