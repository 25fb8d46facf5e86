"""One POST to a push service, over within a total deadline, never following a redirect.

requests and urllib3 time-outs bound each socket read, not the exchange: a push service (or
anything posing as one) that trickles a byte a second would hold a send, and the worker's
batch, for as long as it likes. aiohttp's ``ClientTimeout(total=…)`` bounds the whole of it:
connecting, TLS, sending, and the answer's status line and headers (the body is never read).
Each send runs on an event loop of its own, so the worker's threads stay plain threads.
"""

from __future__ import annotations

import asyncio
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

import certifi


@cache
def tls() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


class TimedOut(Exception):
    """The deadline passed before the push service answered."""


class Unreachable(Exception):
    """No answer: the connection failed (the message names the error's type only)."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    retry_after: str | None


def post(url: str, body: bytes, headers: dict[str, str], deadline: float) -> Answer:
    """POST ``body`` and return the push service's answer; raise TimedOut or Unreachable."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _send(url, body, headers, deadline)
    # This thread already runs an event loop (an async host; Playwright's, in the tests), and
    # a thread runs one loop at a time: send from a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_send, url, body, headers, deadline).result()


def _send(url: str, body: bytes, headers: dict[str, str], deadline: float) -> Answer:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_post(url, body, headers, deadline))
    finally:
        # Not asyncio.run(): it waits for the loop's resolver threads, so a name lookup that
        # hangs would outlive the deadline. close() lets such a thread finish on its own.
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _post(url: str, body: bytes, headers: dict[str, str], deadline: float) -> Answer:
    # Imported here: only the reminder worker sends; a web worker never needs aiohttp's memory.
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=deadline)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, data=body, headers=headers, allow_redirects=False,
                         ssl=tls()) as response,
        ):
            return Answer(response.status, response.reason or "",
                          response.headers.get("Retry-After"))
    except TimeoutError:
        raise TimedOut from None
    except aiohttp.ClientError as exc:
        raise Unreachable(type(exc).__name__) from None
