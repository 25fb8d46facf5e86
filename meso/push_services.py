"""Which push services a subscription may point at: the origins of MESO_PUSH_SERVICES.

A subscription's endpoint is a URL the browser hands us, so anyone with a device cookie chooses
where the reminder worker will POST. Left open, that lets a patient make the server send
requests into its own network. Only the listed origins are accepted (by default the browsers'
own push services), compared after normalising the host: IDNA, lower case, no trailing dot.
IP addresses count only when written in their one canonical form and listed exactly, because
HTTP clients also read `127.1`, `0x7f.1` or `2130706433` as 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import idna

DEFAULT = (
    "https://fcm.googleapis.com",  # Chrome, Edge on Android, Samsung Internet
    "https://updates.push.services.mozilla.com",  # Firefox
    "https://*.push.apple.com",  # Safari, iOS home-screen apps
    "https://*.notify.windows.com",  # Edge on Windows
)
PORTS = {"https": 443, "http": 80}
REFUSED = "the endpoint must be at a browser push service this server accepts"
# WHATWG URL parsing treats a host whose last label is a number as IPv4 (decimal, octal, hex).
NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")
UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str  # normalised (see normal_host)
    port: int
    subdomains: bool = False  # listed as "*.host": any name below host, never host itself

    def admits(self, scheme: str, host: str, port: int) -> bool:
        if (scheme, port) != (self.scheme, self.port):
            return False
        if self.subdomains:
            return not is_ip(host) and host.endswith("." + self.host)
        return host == self.host


@lru_cache(maxsize=4096)  # pure, and IDNA is slow: the worker checks every endpoint twice
def normal_host(host: str) -> str:
    """Return the host to compare: an IP address in canonical form, else the IDNA A-label in
    lower case without the trailing dot. Raise ValueError for an IPv4 address written any other
    way (`127.1`, `0177.0.0.1`, `0x7f.1`, `2130706433`) and for names that are not host names.
    """
    if host.endswith("."):
        host = host[:-1]
    if ":" in host:  # only IPv6 has colons (urlsplit took the brackets off)
        return ipaddress.IPv6Address(host).compressed
    if NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        return str(ipaddress.IPv4Address(host))  # only dotted decimal parses
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"not a host name: {exc}") from None


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def parse(value: str | Iterable[str]) -> tuple[Origin, ...]:
    """Read MESO_PUSH_SERVICES (comma-separated origins); raise ValueError saying what is wrong."""
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [item.strip() for item in items if item.strip()]
    if not items:
        raise ValueError("MESO_PUSH_SERVICES is empty: list the push services' origins, e.g. "
                         + ",".join(DEFAULT))
    return tuple(parse_origin(item) for item in items)


def parse_origin(text: str) -> Origin:
    wrong = ValueError(f"MESO_PUSH_SERVICES: {text!r} is not an origin like "
                       "https://push.example.com or https://*.push.example.com")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise wrong from None
    host = parts.hostname or ""
    subdomains = host.startswith("*.")
    host = host.removeprefix("*.")
    if (parts.scheme not in PORTS or not host or "@" in parts.netloc or UNSAFE.search(text)
            or parts.path not in ("", "/") or parts.query or parts.fragment):
        raise wrong
    try:
        host = normal_host(host)
    except ValueError:
        raise wrong from None
    if subdomains and is_ip(host):
        raise wrong
    if parts.scheme == "http" and (subdomains or not is_ip(host)
                                   or not ipaddress.ip_address(host).is_loopback):
        # Plain http only for a push service on this machine: a fake one, in tests.
        raise ValueError(f"MESO_PUSH_SERVICES: {text!r}: http:// is allowed only on a loopback "
                         "address such as http://127.0.0.1:8080; use https://")
    return Origin(parts.scheme, host, port or PORTS[parts.scheme], subdomains)


def check(endpoint: str, origins: Iterable[Origin]) -> None:
    """Raise ValueError, with a message for the browser, unless the endpoint is at an origin."""
    where = endpoint_origin(endpoint)
    if isinstance(where, str):
        raise ValueError(where)
    if not any(origin.admits(*where) for origin in origins):
        raise ValueError(REFUSED)


@lru_cache(maxsize=1024)  # a batch or two in flight; bounded, as browsers send the keys
def endpoint_origin(endpoint: str) -> tuple[str, str, int] | str:
    """The endpoint's (scheme, normal host, port), or why it is no push endpoint at all.
    Kept for the endpoints seen last: the worker checks each device's endpoint when it loads
    the batch and again before it seals the message; parsing was an eighth of loading a batch."""
    if UNSAFE.search(endpoint):
        return "the endpoint must be a URL without spaces or backslashes"
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return "the endpoint is not a valid URL"
    if parts.scheme not in PORTS or not parts.hostname:
        return "the endpoint must be an https URL"
    if "@" in parts.netloc:
        return "the endpoint must not carry a user name or password"
    try:
        host = normal_host(parts.hostname)
    except ValueError:
        return REFUSED
    return parts.scheme, host, PORTS[parts.scheme] if port is None else port


def allowed(endpoint: str, origins: Iterable[Origin]) -> bool:
    try:
        check(endpoint, origins)
    except ValueError:
        return False
    return True
