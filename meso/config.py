"""Configuration: defaults, then the environment, then secrets kept in instance/."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import click

from meso import mailer
from meso.push_services import DEFAULT as PUSH_SERVICES
from meso.timeutil import DEFAULT_ZONE_NAME

# The number a patient's phone dials for "call emergency services now": the EU-wide number,
# which most mobile networks elsewhere also route to their own.
EMERGENCY_NUMBER = "112"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
MAX_CONTENT_LENGTH = 64 * 1024  # bytes: our largest form or JSON body is a few KiB
STAFF_IDLE_MINUTES = 30
STAFF_SESSION_HOURS = 12
BASE_URL_MISSING = (
    "MESO_BASE_URL is not set: set it to the address patients and staff open, "
    "e.g. MESO_BASE_URL=https://aftercare.clinic.example (only debug runs may leave it out)"
)


class ConfigError(RuntimeError):
    """A setting the app cannot start with; the message is one line saying what to set."""


def load_config(app, overrides: dict) -> None:
    """Fill app.config from the environment, then ``overrides``; a missing SECRET_KEY comes
    from instance/ (created there on first run)."""
    instance = Path(app.instance_path)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'meso.sqlite3'}"
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=database_url,
        # The public origin every link is built on (meso/links.py); requests naming another
        # host are refused (TRUSTED_HOSTS, derived below). Required outside debug and tests.
        MESO_BASE_URL=os.environ.get("MESO_BASE_URL") or "",
        INVITE_DAYS=14,
        DEVICE_COOKIE="meso_device",
        DEVICE_COOKIE_DAYS=400,  # the longest lifetime browsers accept for a cookie
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token is tied to the session, not to a clock
        # en_GB: 24-hour clock and day-month dates, as European clinics write them; each
        # request's own locale comes from meso/locales.py.
        BABEL_DEFAULT_LOCALE="en_GB",
        # The repository's translations/ (Flask-Babel would read a relative path from meso/).
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        DEMO_TIMEZONE=DEFAULT_ZONE_NAME,
        # Web Push (VAPID). Without VAPID_PRIVATE_KEY, the key `flask --app app init` keeps in
        # instance/ is used; VAPID_PUBLIC_KEY, when set, must be its pair (checked at start-up).
        # VAPID_SUBJECT (mailto: or https:) is required to send.
        VAPID_PRIVATE_KEY=os.environ.get("VAPID_PRIVATE_KEY")
        or instance_text(instance / "vapid_private_key"),
        VAPID_PUBLIC_KEY=os.environ.get("VAPID_PUBLIC_KEY") or "",
        VAPID_SUBJECT=os.environ.get("VAPID_SUBJECT") or "",
        # The origins a push subscription may point at (comma-separated, "*." for any
        # subdomain): the worker POSTs there. http:// only for a loopback address (tests).
        MESO_PUSH_SERVICES=os.environ.get("MESO_PUSH_SERVICES") or ",".join(PUSH_SERVICES),
        # Seconds a whole send may take (connect to answer), not a per-read time-out.
        MESO_PUSH_DEADLINE=os.environ.get("MESO_PUSH_DEADLINE") or 10,
        # E-mail to the clinic's admins when a check-in asks it to call (meso/mailer.py): the
        # server as smtp:// or smtps://, user and password URL-encoded in it. Unset: no e-mail
        # is queued or sent. MAIL_FROM defaults to no-reply at MESO_BASE_URL's host name.
        SMTP_URL=os.environ.get("SMTP_URL") or "",
        MAIL_FROM=os.environ.get("MAIL_FROM") or "",
        MESO_EMERGENCY_NUMBER=emergency_number(os.environ.get("MESO_EMERGENCY_NUMBER", "")),
        # Where rendered patient pages are kept (meso/page_cache.py): Redis, shared by every
        # process and machine, when set; else each process keeps its own, up to so many.
        REDIS_URL=os.environ.get("REDIS_URL") or "",
        MESO_PAGE_CACHE_ENTRIES=env_int("MESO_PAGE_CACHE_ENTRIES", 500, 0),
        # A kept Today or Timeline answered before Flask's request machinery, with one SQL
        # statement (meso/kept_pages.py); 0 sends every request through Flask.
        MESO_KEPT_PAGES=env_int("MESO_KEPT_PAGES", 1, 0) > 0,
        **limits_from_env(),
    )
    secure = os.environ.get("MESO_INSECURE_COOKIES") != "1" and not app.debug
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["REMEMBER_COOKIE_SECURE"] = secure
    app.config.update(overrides)
    if "TRUSTED_HOSTS" not in overrides:
        app.config.update(base_url_settings(app.config["MESO_BASE_URL"]))
    app.config.update(mail_settings(app.config["SMTP_URL"], app.config["MAIL_FROM"],
                                    app.config["MESO_BASE_URL"]))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or instance_secret(instance)


def limits_from_env() -> dict:
    """The request, session and proxy limits, from the environment."""
    return {
        # Bodies are read before anyone is signed in (CSRF, the NUL guard): keep them small.
        "MAX_CONTENT_LENGTH": env_int("MESO_MAX_CONTENT_LENGTH", MAX_CONTENT_LENGTH, 1024),
        "STAFF_IDLE_MINUTES": env_int("MESO_STAFF_IDLE_MINUTES", STAFF_IDLE_MINUTES, 1),
        "STAFF_SESSION_HOURS": env_int("MESO_STAFF_SESSION_HOURS", STAFF_SESSION_HOURS, 1),
        # How many reverse proxies (TLS terminator, load balancer) stand in front of the app:
        # their X-Forwarded-* headers are then trusted for the client address (rate limits,
        # the staff session's network), the host and the scheme (Secure cookies, strict CSRF
        # Referer checks). 0: trust none.
        "PROXY_HOPS": env_int("MESO_PROXY_HOPS", 0, 0),
    }


def base_url_settings(value: str) -> dict:
    """Return MESO_BASE_URL as an origin without a trailing slash, and the TRUSTED_HOSTS it
    implies (its host only; None when unset: any host, for debug runs and tests).

    Raise ConfigError for anything but http(s)://host[:port]: a path, a query or a user name
    would be glued into every link the app hands out.
    """
    base = (value or "").strip().rstrip("/")
    if not base:
        return {"MESO_BASE_URL": "", "TRUSTED_HOSTS": None}
    parts = urlsplit(base)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = parts._replace(scheme="")
    # An IPv6 literal is refused too: Werkzeug's host check cannot match one.
    if (parts.scheme not in ("http", "https") or not parts.hostname or ":" in parts.hostname
            or parts.path or parts.query or parts.fragment or "@" in parts.netloc):
        raise ConfigError(
            f"MESO_BASE_URL must be an origin like https://aftercare.clinic.example "
            f"(scheme, host name or IPv4 address, optional port; no path), not {value!r}"
        )
    return {"MESO_BASE_URL": base, "TRUSTED_HOSTS": [parts.hostname]}


def mail_settings(smtp_url: str, mail_from: str, base_url: str) -> dict:
    """Return SMTP_URL checked and MAIL_FROM resolved; ConfigError (never quoting the URL,
    which may hold a password) for a URL or an address the worker could not use."""
    try:
        if smtp_url.strip():
            mailer.parse_url(smtp_url)
        sender = mailer.sender_address(mail_from, base_url)
    except mailer.MailConfigError as exc:
        raise ConfigError(str(exc)) from None
    return {"SMTP_URL": smtp_url.strip(), "MAIL_FROM": sender}


def require_base_url(app) -> None:
    """Refuse to serve without MESO_BASE_URL (debug runs and tests excepted): links would
    otherwise come from whatever Host header a client sends."""
    if app.config["MESO_BASE_URL"] or app.debug or app.testing or not starting_a_server():
        return
    raise ConfigError(BASE_URL_MISSING)


def starting_a_server() -> bool:
    """Whether this process is about to serve requests.

    A WSGI server (gunicorn) imports the app outside any click command, and `flask run` loads
    it inside its own; other `flask` commands (init, db upgrade, reminders run) load it while
    the `flask` group looks the command up. Those need no public address, and the ones that
    print a link ask for it themselves (meso/links.py).
    """
    context = click.get_current_context(silent=True)
    return context is None or context.info_name == "run"


def env_int(name: str, default: int, low: int) -> int:
    """Return a whole-number setting from the environment; a bad value stops the start."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < low:
        raise ConfigError(f"{name} must be a whole number of at least {low}, not {text!r}")
    return int(text)


def emergency_number(value: str) -> str:
    """Return the emergency number a tel: link dials (default 112); a bad one stops the start:
    a wrong number on the one button that matters must never reach a patient."""
    number = value.strip() or EMERGENCY_NUMBER
    if not (number.isascii() and number.isdigit() and 2 <= len(number) <= 6):
        raise ConfigError(f"MESO_EMERGENCY_NUMBER must be 2 to 6 digits, like 112, not {value!r}")
    return number


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
