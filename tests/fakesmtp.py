"""A real SMTP server on 127.0.0.1 for the e-mail tests (aiosmtpd), and a certificate for it.

``LocalSmtp`` runs aiosmtpd's Controller on a free port in a thread: plain, with STARTTLS
(``tls="starttls"``) or TLS from the start (``tls="implicit"``), with or without a required
sign-in. It keeps every message it accepts and can answer RCPT TO with a chosen reply, a given
number of times. ``TestCertificates`` makes a throw-away CA and a server certificate for
127.0.0.1 with ``cryptography``; the client trusts the CA through SSL_CERT_FILE, as an operator
with a private CA would.
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from ipaddress import IPv4Address
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# aiosmtpd logs every command it reads, addresses and message lines included. That is the test
# server's own log, not the app's: it stays out of the suite's log-leak check.
logging.getLogger("mail.log").propagate = False
logging.getLogger("mail.log").setLevel(logging.CRITICAL)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None  # who signed in, or None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def text(self) -> str:
        """Every header and the decoded body, as a person would read them."""
        message = self.message
        headers = "\n".join(f"{name}: {value}" for name, value in message.items())
        body = message.get_body(("plain",))
        assert body is not None
        return headers + "\n\n" + body.get_content()


@dataclass
class Inbox:
    """aiosmtpd's handler: keeps what arrives, refuses recipients when told to."""

    received: list[Received] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # RCPT replies to give, in order
    logins: list[tuple[str, str]] = field(default_factory=list)  # every sign-in tried
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            if self.refusals:
                return self.refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        login = session.auth_data.login.decode() if session.authenticated else None
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content or envelope.content,
                                          login))
        return "250 Message accepted"


class LocalSmtp:
    """An SMTP server on 127.0.0.1 for a ``with`` block; ``url`` is what SMTP_URL would say."""

    def __init__(self, tls: str | None = None, certificates: TestCertificates | None = None,
                 credentials: tuple[str, str] | None = None):
        assert (tls is None) == (certificates is None), "TLS needs the test certificates"
        self.inbox = Inbox()
        self.port = free_port()
        self.tls = tls
        self.credentials = credentials
        options: dict = {}
        if credentials:
            options.update(authenticator=self._authenticate, auth_required=True,
                           # TLS from the start is TLS too, though aiosmtpd only knows STARTTLS
                           auth_require_tls=tls != "implicit")
        if tls == "starttls":
            assert certificates is not None
            options.update(tls_context=certificates.server_context(), require_starttls=True)
        elif tls == "implicit":
            assert certificates is not None
            options.update(ssl_context=certificates.server_context())
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     **options)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        given = (auth_data.login.decode(), auth_data.password.decode())
        self.inbox.logins.append(given)
        return AuthResult(success=given == self.credentials, handled=False, auth_data=auth_data)

    def url(self, userinfo: str = "") -> str:
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        return f"{scheme}://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        with self.inbox.lock:
            return list(self.inbox.received)

    def refuse(self, reply: str, times: int = 1) -> None:
        """Answer the next ``times`` RCPT TO commands with ``reply`` (e.g. "550 5.1.1 …")."""
        with self.inbox.lock:
            self.inbox.refusals.extend([reply] * times)

    def __enter__(self) -> LocalSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


class TestCertificates:
    """A throw-away CA and a certificate for 127.0.0.1 it signed, as PEM files in ``folder``."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self, folder: Path):
        now = datetime.now(UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Meso test CA")])
        ca = (self._builder(ca_name, ca_name, ca_key.public_key(), now)
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(
                  digital_signature=False, content_commitment=False, key_encipherment=False,
                  data_encipherment=False, key_agreement=False, key_cert_sign=True,
                  crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (self._builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]),
                              ca_name, key.public_key(), now)
                .add_extension(x509.SubjectAlternativeName(
                    [x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        self.ca_file = folder / "test-ca.pem"
        self.cert_file = folder / "server.pem"
        self.key_file = folder / "server-key.pem"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))

    @staticmethod
    def _builder(subject, issuer, public_key, now: datetime) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=30))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                               critical=False))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context
