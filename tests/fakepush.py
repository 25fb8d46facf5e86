"""A fake Web Push service on 127.0.0.1: real HTTP, real decryption, real VAPID checks.

It plays both ends a push service stands between: it hands out subscriptions as a browser
would (a P-256 key pair and an auth secret per endpoint), and on every POST it checks what a
push service checks (VAPID JWT signed by the expected key, for its own origin, not expired;
TTL, Urgency, Topic) and decrypts the body with http_ece as the browser would. Each endpoint
can be told to answer 201, 404, 410, 429 (with Retry-After), 500, a redirect, to hang, or to
trickle its answer a byte at a time (a per-read time-out never fires on that).
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

URGENCIES = ("very-low", "low", "normal", "high")
TRICKLE = 0.25  # seconds between the bytes of a trickled answer
TRICKLED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    """One message as the push service saw it, decrypted."""

    name: str
    ttl: int
    urgency: str
    topic: str
    payload: dict
    status: int  # what the fake answered (0: it trickled, the sender hung up first)
    vapid_key: str
    claims: dict
    size: int  # bytes of the encrypted body: all a push service sees of the payload


@dataclass
class Client:
    """The browser end of one subscription: its keys decrypt what the service receives."""

    name: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    answers: list = field(default_factory=list)  # queued (status, headers), "hang", "trickle"

    @property
    def json(self) -> dict:
        """The subscription as PushSubscription.toJSON() gives it to a page."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}


class Server(ThreadingHTTPServer):
    # A push service's backlog, not http.server's 5: eight senders connecting at once would
    # otherwise wait a second for a SYN to be sent again.
    request_queue_size = 128


class FakePushService:
    def __init__(self, vapid_public_key: str | None = None, delay: float = 0.0,
                 origin: str | None = None):
        self.vapid_public_key = vapid_public_key  # when set, every message must be signed by it
        self.delay = delay  # seconds before answering each message (a slow service)
        self.clients: dict[str, Client] = {}
        self.received: list[Received] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # ends every hang
        # With ``origin``, no server of its own: another one (the bench's, which answers at
        # once) hands it what arrived there through keep(), to check in settle().
        self.unchecked: list[tuple[Client, object, bytes]] = []
        self.server = None if origin else Server(("127.0.0.1", 0), self._handler())
        if self.server is None:
            self.origin = origin
        else:
            self.server.daemon_threads = True
            self.origin = f"http://127.0.0.1:{self.server.server_port}"
            self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakePushService:
        if self.server is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=5)

    def subscription(self, name: str | None = None) -> Client:
        """Return a new subscription on this service, as a browser would get it."""
        name = name or f"s{len(self.clients) + 1}-{os.urandom(4).hex()}"
        client = Client(name, f"{self.origin}/push/{name}",
                        ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        self.clients[name] = client
        return client

    def answer(self, client: Client, status: int, times: int = 1, **headers) -> None:
        """Queue ``times`` answers for the client's endpoint (201 once the queue is empty)."""
        client.answers.extend([(status, headers)] * times)

    def hang(self, client: Client, times: int = 1) -> None:
        client.answers.extend(["hang"] * times)

    def trickle(self, client: Client, times: int = 1) -> None:
        """Answer 201 one byte every TRICKLE seconds: about 10 s for the whole answer."""
        client.answers.extend(["trickle"] * times)

    def keep(self, path: str, headers, body: bytes) -> None:
        """A message that arrived at another server (see ``origin``), checked in settle()."""
        client = self.clients.get(urlsplit(path).path.rsplit("/", 1)[-1])
        with self.lock:
            if client is None:
                self.errors.append(f"{path}: no such subscription")
            else:
                self.unchecked.append((client, headers, body))

    def settle(self) -> None:
        """Check and decrypt the messages handed to keep()."""
        with self.lock:
            kept, self.unchecked = self.unchecked, []
        for client, headers, body in kept:
            self.record(client, headers, body, 201)

    def record(self, client: Client, headers, body: bytes, status: int) -> bool:
        """Check and decrypt one message and keep it in ``received``, or its fault in
        ``errors``; return whether it passed."""
        try:
            received = self.check(client, headers, body, status)
        except AssertionError as exc:
            with self.lock:
                self.errors.append(f"{client.name}: {exc}")
            return False
        with self.lock:
            self.received.append(received)
        return True

    def messages(self, name: str | None = None, status: int | None = 201) -> list[Received]:
        with self.lock:
            return [r for r in self.received if (name is None or r.name == name)
                    and (status is None or r.status == status)]

    # -- the HTTP side ---------------------------------------------------------------------

    def _handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as push services do: a sender may reuse its connection.
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                service.handle(self)

            def log_message(self, *args):
                pass

        return Handler

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        name = urlsplit(request.path).path.rsplit("/", 1)[-1]
        client = self.clients.get(name)
        if client is None:
            return self._reply(request, 404)
        answer = client.answers.pop(0) if client.answers else (201, {})
        if answer == "hang":
            self.release.wait(timeout=30)
            return
        status = 0 if answer == "trickle" else answer[0]
        if not self.record(client, request.headers, body, status):
            return self._reply(request, 400)
        if answer == "trickle":
            return self._trickle(request)
        if self.delay:
            time.sleep(self.delay)
        self._reply(request, answer[0], answer[1])

    def _trickle(self, request: BaseHTTPRequestHandler) -> None:
        request.close_connection = True
        for byte in TRICKLED:
            if self.release.wait(TRICKLE):
                return
            try:
                request.wfile.write(bytes([byte]))
                request.wfile.flush()
            except OSError:
                return  # the sender gave up on us: what its deadline is for

    def _reply(self, request, status: int, headers: dict | None = None) -> None:
        request.send_response(status)
        for header, value in (headers or {}).items():
            request.send_header(header.replace("_", "-"), str(value))
        request.send_header("Content-Length", "0")
        request.end_headers()

    def check(self, client: Client, headers, body: bytes, status: int) -> Received:
        """Check the message as a push service would, and decrypt it as the browser would."""
        ttl = headers.get("TTL", "")
        assert ttl.isdigit() and int(ttl) > 0, f"TTL must be > 0, got {ttl!r}"
        urgency = headers.get("Urgency", "")
        assert urgency in URGENCIES, f"bad Urgency {urgency!r}"
        topic = headers.get("Topic", "")
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", topic), f"bad Topic {topic!r}"
        assert headers.get("Content-Encoding") == "aes128gcm", "expected aes128gcm"
        key, claims = self.check_vapid(headers.get("Authorization", ""))
        try:
            payload = http_ece.decrypt(body, private_key=client.private_key,
                                       auth_secret=client.auth, version="aes128gcm")
        except http_ece.ECEException as exc:
            raise AssertionError(f"the body does not decrypt: {exc.message}") from None
        return Received(client.name, int(ttl), urgency, topic, json.loads(payload), status,
                        key, claims, len(body))

    def check_vapid(self, authorization: str) -> tuple[str, dict]:
        """Verify `vapid t=<JWT>,k=<key>` (RFC 8292): ES256 signature, audience, expiry."""
        match = re.fullmatch(r"vapid t=([\w-]+\.[\w-]+\.[\w-]+),\s*k=([\w-]+)", authorization)
        assert match, f"bad Authorization header {authorization[:40]!r}"
        token, key = match.groups()
        if self.vapid_public_key:
            assert key == self.vapid_public_key, "signed with another VAPID key"
        signed, signature = token.rsplit(".", 1)
        raw = unb64url(signature)
        assert len(raw) == 64, "ES256 signatures are 64 bytes"
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        try:
            public.verify(
                encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:])),
                signed.encode(), ec.ECDSA(hashes.SHA256()),
            )
        except InvalidSignature:
            raise AssertionError("the VAPID signature does not verify") from None
        header = json.loads(unb64url(signed.split(".")[0]))
        claims = json.loads(unb64url(signed.split(".")[1]))
        assert header.get("alg") == "ES256", header
        assert claims.get("aud") == self.origin, f"aud {claims.get('aud')!r} is not ours"
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600, "exp out of range"
        assert re.match(r"(mailto:|https:)", claims.get("sub", "")), "sub must be mailto/https"
        return key, claims
