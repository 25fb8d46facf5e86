"""E-mail over SMTP: SMTP_URL read and checked, one message sent, its outcome classified.

The only module that imports smtplib. It knows nothing of the database or of what a message
says (clinic_mail.py writes them, the worker sends them), and it never puts an address, a
subject or a body into an error or a log line: outcomes carry SMTP codes and exception names.

SMTP_URL is ``smtp://user:password@host:port`` (STARTTLS whenever the server offers it) or
``smtps://…`` (TLS from the first byte); user and password are URL-encoded, both or neither.
Default ports: 587 for smtp:// (message submission, RFC 6409: what a program that signs in to
send mail speaks; port 25 is for mail servers relaying to each other and is blocked outbound
by most hosting providers) and 465 for smtps:// (RFC 8314). A relay on port 25 is written
with its port. Certificates are checked against the system's store (``SSL_CERT_FILE`` names
another, e.g. for a relay with a private CA), and a password is never sent over a connection
that is not encrypted: a server offering no STARTTLS gets no password, and the e-mail fails.
"""

from __future__ import annotations

import ipaddress
import re
import smtplib
import ssl
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
# Seconds any one network step (connect, TLS, a command's answer) may take: a hung server costs
# a worker thread this long per step, never forever.
TIMEOUT = 15.0
SENDER_NAME = "Meso aftercare"

SENT = "sent"
RETRY = "retry"  # connection trouble or a 4xx answer: try again later
FAILED = "failed"  # a 5xx answer, a refused sign-in: trying again would not help

URL_SHAPE = ("SMTP_URL must look like smtp://user:password@host:587 (STARTTLS when offered) or "
             "smtps://user:password@host:465 (TLS), user and password URL-encoded")
ENCODE = " (URL-encode any : / ? # @ in the user or password, e.g. %2F for /)"
# An enhanced status code (RFC 3463) at the start of a server's answer, e.g. "5.1.1".
_ENHANCED = re.compile(r"\s*([245]\.\d{1,3}\.\d{1,3})\b")


class MailConfigError(ValueError):
    """SMTP_URL or MAIL_FROM cannot be used; the message says why (never the value: a URL
    may hold a password)."""


class PasswordNeedsTls(smtplib.SMTPException):
    """The server offers no STARTTLS, and we will not send a password in clear."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send, from SMTP_URL."""

    host: str
    port: int
    implicit_tls: bool  # smtps://: TLS from the start; smtp://: STARTTLS when offered
    username: str = ""
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class Outcome:
    """What one send came to: SENT, RETRY or FAILED, and a reason without personal data."""

    kind: str
    error: str = ""
    # The recipient's server refused the address for good (a 5xx answer to RCPT TO): the
    # address bounces, whatever we try. Other 5xx answers (sign-in, sender, content) do not.
    bounced: bool = False


def parse_url(value: str) -> SmtpSettings:
    """Return the settings SMTP_URL names; MailConfigError for anything else."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:  # a port that is not a number in 0-65535, a broken [IPv6] literal
        raise MailConfigError(f"{URL_SHAPE}; its port or host cannot be read{ENCODE}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise MailConfigError(f"{URL_SHAPE}; it must start with smtp:// or smtps://")
    if not parts.hostname:
        raise MailConfigError(f"{URL_SHAPE}; it names no host")
    if port == 0:
        raise MailConfigError(f"{URL_SHAPE}; port 0 is not a port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise MailConfigError(f"{URL_SHAPE}; nothing may follow the host and port{ENCODE}")
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    if bool(username) != bool(password):
        raise MailConfigError(f"{URL_SHAPE}; give both a user and a password, or neither")
    return SmtpSettings(parts.hostname, port or DEFAULT_PORTS[scheme], scheme == "smtps",
                        username, password)


def sender_address(mail_from: str, base_url: str) -> str:
    """Return the From of every e-mail: MAIL_FROM, or no-reply at MESO_BASE_URL's host name.

    An IP address or no base URL at all (debug runs) gives no-reply@localhost.
    """
    text = (mail_from or "").strip()
    if text:
        _, address = parseaddr(text)
        if "\n" in text or "\r" in text or not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            raise MailConfigError(
                "MAIL_FROM must be an e-mail address, e.g. aftercare@clinic.example or "
                "'Aftercare <aftercare@clinic.example>'")
        return text
    host = urlsplit(base_url or "").hostname or "localhost"
    try:
        ipaddress.ip_address(host)
        host = "localhost"
    except ValueError:
        pass
    return formataddr((SENDER_NAME, f"no-reply@{host}"))


def message(sender: str, to: str, subject: str, body: str, now: datetime,
            headers: dict[str, str] | None = None) -> EmailMessage:
    """Build a plain-text e-mail; ``headers`` are added as given (e.g. List-Unsubscribe)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_msgid(domain=domain)  # given a domain: no slow getfqdn()
    # RFC 3834: an automatic message, so vacation responders do not answer it.
    mail["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        mail[name] = value
    # Quoted-printable outside ASCII: any server takes it, 8BITMIME or not.
    mail.set_content(body, cte=None if body.isascii() else "quoted-printable")
    return mail


class Mailer:
    """Sends e-mails through one SMTP server, a new connection for each (alerts are rare)."""

    def __init__(self, settings: SmtpSettings, sender: str, timeout: float = TIMEOUT):
        self.settings = settings
        self.sender = sender
        self.timeout = timeout

    def send(self, to: str, subject: str, body: str, now: datetime,
             headers: dict[str, str] | None = None, sender_name: str | None = None) -> Outcome:
        """Send one e-mail and say how it went; never raises for a network or SMTP error.

        ``sender_name`` replaces the From's display name (the address stays MAIL_FROM's).
        """
        sender = self.sender
        if sender_name is not None:
            sender = formataddr((sender_name, parseaddr(self.sender)[1]))
        try:
            self._deliver(message(sender, to, subject, body, now, headers))
        except (smtplib.SMTPException, OSError) as exc:
            return classify(exc)
        return Outcome(SENT)

    def _deliver(self, mail: EmailMessage) -> None:
        s = self.settings
        # A fresh context each time: the system's CA store (or SSL_CERT_FILE) as it is now.
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.implicit_tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            encrypted = s.implicit_tls
            if not encrypted and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()  # the server's extensions again, now over TLS (AUTH may appear)
                encrypted = True
            if s.username:
                if not encrypted:
                    raise PasswordNeedsTls()
                smtp.login(s.username, s.password)
            smtp.send_message(mail)
        finally:
            _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    """Say goodbye; a server hanging up at QUIT changes nothing once the message is sent."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def classify(exc: BaseException) -> Outcome:
    """Sort a failed send into RETRY (connection trouble, a 4xx answer) or FAILED (a 5xx
    answer, a refused sign-in, no TLS for the password, no AUTH at the server)."""
    if isinstance(exc, PasswordNeedsTls):
        return Outcome(FAILED, "the server offers no STARTTLS: the password is never sent "
                               "in clear (use smtps:// or a server with STARTTLS)")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Outcome(FAILED, "the server does not support a step we need (AUTH?)")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        code, text = answers[0] if answers else (550, b"")
        outcome = by_code(code, text)
        return replace(outcome, bounced=outcome.kind == FAILED)
    if isinstance(exc, smtplib.SMTPResponseException):  # sign-in, sender, data, greeting
        return by_code(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Outcome(RETRY, f"TLS certificate refused: {exc.verify_message}")
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        # smtplib reports a read that timed out as the server having disconnected.
        return Outcome(RETRY, "timed out")
    # Refused or dropped connections, DNS, TLS, a server that hung up mid-way.
    return Outcome(RETRY, f"no connection: {type(exc).__name__}")


def by_code(code: int, text: bytes | str) -> Outcome:
    """4xx: try again later; 5xx: permanent. Keep the code and the enhanced status code only:
    the rest of a server's answer often quotes the recipient's address."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    enhanced = _ENHANCED.match(text)
    reason = f"SMTP {code}" + (f" {enhanced.group(1)}" if enhanced else "")
    return Outcome(FAILED if 500 <= code < 600 else RETRY, reason)


def mailer_for(config) -> Mailer | None:
    """The app's Mailer, or None when SMTP_URL is not set (no e-mail is sent or queued)."""
    url = config.get("SMTP_URL") or ""
    if not url.strip():
        return None
    sender = config.get("MAIL_FROM") or sender_address("", config.get("MESO_BASE_URL", ""))
    return Mailer(parse_url(url), sender)
