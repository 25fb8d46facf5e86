"""Web Push: VAPID keys, the app's push settings and one send. The only module that encrypts
(http_ece) and signs (py_vapid); push_http carries the result, push_services says where it
may go. (pywebpush is left to the bench's bare loop: its WebPusher copied and re-parsed the
subscription for each message.)

The rest of the app speaks in Subscription, Message and Outcome, so swapping the library (or
faking the network in a test) touches these files alone. What reaches a push service says
nothing about the treatment: the payload is encrypted and padded to a fixed size, and the Topic
header is a keyed digest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from meso import push_http, push_services

if TYPE_CHECKING:
    from py_vapid import Vapid

# cryptography and py_vapid (~13 MB) are imported where a key is made or read: a web worker
# needs them only for the public key, once, and to check a new subscription's key.

KEY_FILE = "vapid_private_key"
DEADLINE = 10.0  # seconds for a whole send: one slow push service must not hold a batch
URGENCIES = ("very-low", "low", "normal", "high")
PAD_BLOCK = 1024  # payloads are padded to a multiple of this: their size tells nothing
JWT_LIFETIME = 12 * 3600  # seconds a VAPID signature stays valid (push services allow 24 h)
JWT_RENEW = 6 * 3600  # a kept JWT is signed anew once less than this is left of it
JWT_AUDIENCES = 1000  # JWTs kept at most (one per push service host)

SENT, GONE, RETRY, FAILED = "sent", "gone", "retry", "failed"


class PushConfigError(RuntimeError):
    """The push configuration cannot work; the message says what to set."""


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Message:
    """A notification: ``payload`` is what the service worker reads (title, body, url, tag).

    ``topic`` says what the message is about (say, a rule and a course): a later message with
    the same topic replaces an undelivered one. Only its keyed digest leaves (Pusher.topic).
    """

    payload: dict
    ttl: int  # seconds the push service may hold it: until the reminder is pointless
    topic: str
    urgency: str = "normal"


@dataclass(frozen=True)
class Sealed:
    """One message ready to post: encrypted body and headers (TTL, Urgency, Topic, VAPID)."""

    endpoint: str
    body: bytes
    headers: dict[str, str]


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
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def load_key(text: str) -> Vapid:
    """Parse a private key given as raw base64url (as generated here), DER base64 or PEM."""
    from py_vapid import Vapid

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
    from cryptography.hazmat.primitives import serialization

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


# -- the app's configuration -----------------------------------------------------------------


def services_for(app) -> tuple[push_services.Origin, ...]:
    """Return the origins of MESO_PUSH_SERVICES, parsed once per value; raise PushConfigError."""
    value = app.config["MESO_PUSH_SERVICES"]
    cached = app.extensions.get("meso.push_services")
    if cached is None or cached[0] != value:
        try:
            cached = app.extensions["meso.push_services"] = (value, push_services.parse(value))
        except ValueError as exc:
            raise PushConfigError(str(exc)) from None
    return cached[1]


def pusher_for(app) -> Pusher:
    """Return the app's Pusher (one parsed VAPID key per configuration); raise PushConfigError."""
    names = ("VAPID_PRIVATE_KEY", "VAPID_SUBJECT", "VAPID_PUBLIC_KEY", "MESO_PUSH_SERVICES",
             "MESO_PUSH_DEADLINE", "SECRET_KEY")
    settings = tuple(str(app.config.get(name)) for name in names)
    cached = app.extensions.get("meso.pusher")
    if cached is not None and cached[0] == settings:
        return cached[1]
    try:
        deadline = float(app.config["MESO_PUSH_DEADLINE"])
    except (TypeError, ValueError):
        deadline = 0.0
    if not 0 < deadline <= 300:
        raise PushConfigError("MESO_PUSH_DEADLINE must be a number of seconds, above 0, "
                              "at most 300 (default 10)")
    pusher = Pusher(app.config["VAPID_PRIVATE_KEY"], app.config["VAPID_SUBJECT"],
                    services_for(app), app.config["SECRET_KEY"].encode(), deadline)
    configured = app.config.get("VAPID_PUBLIC_KEY")
    if configured and configured.rstrip("=") != pusher.public_key:
        raise PushConfigError(
            "VAPID_PUBLIC_KEY is not the pair of VAPID_PRIVATE_KEY: unset it (it is "
            "derived from the private key) or set the matching one"
        )
    app.extensions["meso.pusher"] = (settings, pusher)
    return pusher


# -- sending ---------------------------------------------------------------------------------


class Pusher:
    """Sends messages with one parsed VAPID key; safe to share between threads."""

    def __init__(self, private_key: str, subject: str,
                 services: Iterable[push_services.Origin], topic_key: bytes,
                 deadline: float = DEADLINE):
        self.vapid = load_key(private_key)
        self.public_key = public_key(self.vapid)
        self.subject = check_subject(subject)
        self.services = tuple(services)
        self.topic_key = topic_key
        self.deadline = deadline
        self._jwts: dict[str, tuple[int, dict[str, str]]] = {}  # audience: (exp, header)
        self._jwts_lock = threading.Lock()

    def topic(self, about: str) -> str:
        """The Topic header for a message about ``about``: opaque, stable, 32 characters
        (RFC 8030's limit), so a re-send still replaces, and the service learns nothing."""
        digest = hmac.new(self.topic_key, b"push topic\0" + about.encode(), hashlib.sha256)
        return b64url(digest.digest()[:24])

    def authorization(self, audience: str, now: float | None = None) -> dict[str, str]:
        """The VAPID Authorization header for a push service (``audience``, its origin).

        One signed JWT per audience, reused until less than JWT_RENEW of its JWT_LIFETIME is
        left (RFC 8292 lets a sender reuse it): signing one per message was a fifth of a
        send's time. Never more than JWT_AUDIENCES kept: an origin listed as ``*.host`` may
        have many hosts.
        """
        now = time.time() if now is None else now
        held = self._jwts.get(audience)
        if held is None or held[0] - now < JWT_RENEW:
            expires = int(now) + JWT_LIFETIME
            held = (expires, self.vapid.sign({"sub": self.subject, "aud": audience,
                                              "exp": expires}))
            with self._jwts_lock:  # two threads may both sign: harmless, one is kept
                if len(self._jwts) >= JWT_AUDIENCES:
                    self._jwts.clear()
                self._jwts[audience] = held
        return held[1]

    def seal(self, subscription: Subscription, message: Message) -> Sealed | Outcome:
        """Check, encrypt and sign one message: what to post, or the Outcome of a message
        that cannot go."""
        if message.urgency not in URGENCIES:
            return Outcome(FAILED, error="bad urgency")
        if not push_services.allowed(subscription.endpoint, self.services):
            # The worker drops these before sending; this is the last door.
            return Outcome(GONE, error="not at a listed push service")
        try:
            body = encrypt(padded(message.payload), subscription)
        except ValueError as exc:  # keys that parse but do not encrypt
            return Outcome(FAILED, error=f"encryption: {type(exc).__name__}")
        parts = urlsplit(subscription.endpoint)
        headers = {"TTL": str(max(1, int(message.ttl))), "Urgency": message.urgency,
                   "Topic": self.topic(message.topic), "Content-Encoding": "aes128gcm",
                   **self.authorization(f"{parts.scheme}://{parts.netloc}")}
        return Sealed(subscription.endpoint, body, headers)

    def send(self, subscription: Subscription, message: Message) -> Outcome:
        """Encrypt and post one message; never raises for network or service trouble."""
        sealed = self.seal(subscription, message)
        if isinstance(sealed, Outcome):
            return sealed
        try:
            answer = push_http.post(sealed.endpoint, sealed.body, sealed.headers, self.deadline)
        except push_http.TimedOut:
            return Outcome(RETRY, error="timed out")
        except push_http.Unreachable as exc:
            return Outcome(RETRY, error=f"network: {exc}")
        return outcome_for(answer)

    async def send_with(self, sender: push_http.Sender, subscription: Subscription,
                        message: Message) -> Outcome:
        """``send`` on the reminder worker's Sender loop (a coroutine given to its submit)."""
        sealed = self.seal(subscription, message)
        if isinstance(sealed, Outcome):
            return sealed
        try:
            answer = await sender.post(sealed.endpoint, sealed.body, sealed.headers,
                                       self.deadline)
        except push_http.TimedOut:
            return Outcome(RETRY, error="timed out")
        except push_http.Unreachable as exc:
            return Outcome(RETRY, error=f"network: {exc}")
        return outcome_for(answer)


def encrypt(data: bytes, subscription: Subscription) -> bytes:
    """The body of a Web Push message (RFC 8291: aes128gcm, RFC 8188) for the subscription's
    keys, with a new ephemeral key; raise ValueError for keys that do not encrypt.

    What pywebpush's WebPusher.encode does for aes128gcm (http_ece does the work), without
    copying and re-parsing the subscription for every message.
    """
    # Imported here: only the reminder worker sends.
    import http_ece
    from cryptography.hazmat.primitives.asymmetric import ec

    receiver, secret = b64url_decode(subscription.p256dh), b64url_decode(subscription.auth)
    if len(receiver) != 65 or receiver[0] != 4:
        raise ValueError("p256dh is not an uncompressed P-256 point")
    try:
        return http_ece.encrypt(data, private_key=ec.generate_private_key(ec.SECP256R1()),
                                dh=receiver, auth_secret=secret, version="aes128gcm")
    except http_ece.ECEException as exc:
        raise ValueError(exc.message) from None


def padded(payload: dict) -> bytes:
    """The payload as JSON, padded with spaces (still valid JSON) to a multiple of PAD_BLOCK,
    so that the size of what crosses the push service does not tell one reminder from another."""
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return data + b" " * (-len(data) % PAD_BLOCK)


def outcome_for(answer: push_http.Answer) -> Outcome:
    """Map a push service's answer to what the outbox does next (no payload, no endpoint)."""
    status = answer.status
    if 200 <= status <= 202:
        return Outcome(SENT, status)
    error = f"HTTP {status} {answer.reason}".strip()[:200]
    if 300 <= status < 400:
        return Outcome(FAILED, status, error=f"{error} (redirects are not followed)"[:200])
    if status in (404, 410):
        return Outcome(GONE, status, error=error)
    if status == 429 or status >= 500:
        return Outcome(RETRY, status, retry_after=parse_retry_after(answer.retry_after),
                       error=error)
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
