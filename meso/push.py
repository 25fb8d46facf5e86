"""Web Push: VAPID keys, subscription checks and one send. The only module importing pywebpush.

The rest of the app speaks in Subscription, Message and Outcome, so swapping the library (or
faking the network in a test) touches this file alone.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

KEY_FILE = "vapid_private_key"
ENDPOINT_MAX = 1000
TIMEOUT = (3.05, 10.0)  # connect, read: a hung push service must not stall a batch
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # RFC 8030: base64url alphabet, 32 at most
URGENCIES = ("very-low", "low", "normal", "high")

SENT, GONE, RETRY, FAILED = "sent", "gone", "retry", "failed"


class PushConfigError(RuntimeError):
    """The VAPID configuration cannot work; the message says what to set."""


class InvalidSubscription(ValueError):
    """A subscription a browser sent that cannot be used; ``field`` names the culprit."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Message:
    """A notification: ``payload`` is what the service worker reads (title, body, url, tag)."""

    payload: dict
    ttl: int  # seconds the push service may hold it: until the reminder is pointless
    topic: str
    urgency: str = "normal"


@dataclass(frozen=True)
class Outcome:
    kind: str  # SENT | GONE (subscription dead) | RETRY (later) | FAILED (give up)
    status: int | None = None
    retry_after: float | None = None  # seconds, from the push service's Retry-After
    error: str = field(default="")


# -- keys ------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url strictly (no stray characters); raise ValueError."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", text):
        raise ValueError("not base64url")
    text = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def generate_private_key() -> str:
    """Return a new VAPID private key: the raw 32-byte P-256 scalar, base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def load_key(text: str) -> Vapid:
    """Parse a private key given as raw base64url (as generated here), DER base64 or PEM."""
    text = (text or "").strip()
    if not text:
        raise PushConfigError("VAPID_PRIVATE_KEY is empty")
    try:
        if text.startswith("-----BEGIN"):
            return Vapid.from_pem(text.encode())
        return Vapid.from_string(text)
    except Exception as exc:  # the libraries raise several types for one meaning
        raise PushConfigError(
            "VAPID_PRIVATE_KEY is not a P-256 private key (raw base64url, DER or PEM)"
        ) from exc


def public_key(vapid: Vapid) -> str:
    """Return the application server key browsers subscribe with: the uncompressed point."""
    point = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def ensure_instance_key(instance: Path) -> tuple[str, bool]:
    """Return the private key kept in instance/ and whether it was created just now (mode 600)."""
    path = instance / KEY_FILE
    if path.exists():
        return path.read_text().strip(), False
    instance.mkdir(parents=True, exist_ok=True)
    key = generate_private_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text().strip(), False
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key, True


def check_subject(subject: str | None) -> str:
    """Return the VAPID subject or raise PushConfigError saying how to set it."""
    subject = (subject or "").strip()
    if re.fullmatch(r"mailto:[^@\s]+@[^@\s]+\.[^@\s]+", subject) or re.fullmatch(
        r"https://[^\s/]+\.[^\s]+", subject
    ):
        return subject
    if not subject:
        raise PushConfigError(
            "VAPID_SUBJECT is not set: push services need a contact for this server, e.g. "
            "VAPID_SUBJECT=mailto:ops@clinic.example (or an https: address)"
        )
    raise PushConfigError(
        f"VAPID_SUBJECT must be a mailto: or https: address, not {subject!r}"
    )


# -- subscriptions ---------------------------------------------------------------------------


def parse_subscription(data: object, allow_insecure: bool = False) -> Subscription:
    """Check a PushSubscription's JSON from a browser; raise InvalidSubscription."""
    if not isinstance(data, dict):
        raise InvalidSubscription("subscription", "expected a JSON object")
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidSubscription("endpoint", "the endpoint is missing")
    check_endpoint(endpoint, allow_insecure)
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise InvalidSubscription("keys", "the keys are missing")
    for name in ("p256dh", "auth"):
        if not isinstance(keys.get(name), str) or not keys[name]:
            raise InvalidSubscription(f"keys.{name}", f"keys.{name} is missing")
    try:
        point = b64url_decode(keys["p256dh"])
        if len(point) != 65 or point[0] != 4:
            raise ValueError("not an uncompressed point")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise InvalidSubscription(
            "keys.p256dh", "keys.p256dh must be a base64url P-256 public key"
        ) from None
    try:
        secret = b64url_decode(keys["auth"])
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise InvalidSubscription("keys.auth", "keys.auth must be 16 bytes, base64url")
    return Subscription(endpoint, b64url(point), b64url(secret))


def check_endpoint(endpoint: str, allow_insecure: bool) -> None:
    """Refuse endpoints a push service would never hand out (and ones aimed at our network)."""
    if len(endpoint) > ENDPOINT_MAX:
        raise InvalidSubscription("endpoint", f"the endpoint is longer than {ENDPOINT_MAX}")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidSubscription("endpoint", "the endpoint must be an https URL")
    if parts.username or parts.password:
        raise InvalidSubscription("endpoint", "the endpoint must not carry credentials")
    if allow_insecure:
        return
    if parts.scheme != "https":
        raise InvalidSubscription("endpoint", "the endpoint must be an https URL")
    # The worker POSTs to this address: no IP literals, no local names (no SSRF into our LAN).
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise InvalidSubscription("endpoint", "the endpoint must name a push service host")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")) or (
        "." not in host
    ):
        raise InvalidSubscription("endpoint", "the endpoint must name a push service host")


# -- sending ---------------------------------------------------------------------------------


class Pusher:
    """Sends messages with one parsed VAPID key; safe to share between threads."""

    def __init__(self, private_key: str, subject: str, timeout=TIMEOUT):
        self.vapid = load_key(private_key)
        self.public_key = public_key(self.vapid)
        self.subject = check_subject(subject)
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        # requests.Session is not thread-safe; one per thread keeps connections warm safely.
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def send(self, subscription: Subscription, message: Message) -> Outcome:
        """Encrypt and post one message; never raises for network or service trouble."""
        if not TOPIC.match(message.topic) or message.urgency not in URGENCIES:
            return Outcome(FAILED, error="bad topic or urgency")
        info = {
            "endpoint": subscription.endpoint,
            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        }
        try:
            response = webpush(
                info,
                data=json.dumps(message.payload, separators=(",", ":")),
                vapid_private_key=self.vapid,
                # webpush() writes "aud" and "exp" into the claims it is given: a fresh dict
                # per send, so one endpoint's audience never leaks into the next.
                vapid_claims={"sub": self.subject},
                ttl=max(1, int(message.ttl)),
                headers={"Urgency": message.urgency, "Topic": message.topic},
                timeout=self.timeout,
                requests_session=self._session(),
            )
        except WebPushException as exc:
            return outcome_for_status(exc.response)
        except requests.Timeout:
            return Outcome(RETRY, error="timed out")
        except requests.RequestException as exc:
            return Outcome(RETRY, error=f"network: {type(exc).__name__}")
        except ValueError as exc:  # keys that parse but do not encrypt (a bad point)
            return Outcome(FAILED, error=f"encryption: {type(exc).__name__}")
        return Outcome(SENT, status=response.status_code)


def outcome_for_status(response) -> Outcome:
    """Map a push service's refusal to what the outbox does next (no payload in the error)."""
    if response is None:
        return Outcome(FAILED, error="refused before sending")
    status = response.status_code
    error = f"HTTP {status} {response.reason or ''}".strip()[:200]
    if status in (404, 410):
        return Outcome(GONE, status, error=error)
    if status == 429 or status >= 500:
        after = parse_retry_after(response.headers.get("Retry-After"))
        return Outcome(RETRY, status, retry_after=after, error=error)
    return Outcome(FAILED, status, error=error)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Return Retry-After in seconds (it may be a number or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
