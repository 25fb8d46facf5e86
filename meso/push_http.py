"""One POST to a push service, over within a total deadline, never following a redirect.

requests and urllib3 time-outs bound each socket read, not the exchange: a push service (or
anything posing as one) that trickles a byte a second would hold a send, and the worker's
batch, for as long as it likes. aiohttp's ``ClientTimeout(total=…)`` bounds the whole of it:
connecting, TLS, sending, and the answer's status line and headers (the body is never read).
Each worker thread keeps one event loop and one aiohttp client (its connection pool) for all
its sends, so the threads stay plain threads and a message to a push service already
connected to costs no new connection (``close_all`` closes them when the worker stops); a
thread that already runs an event loop sends from a thread of its own, as before.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

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


def _loop_running_here() -> bool:
    """Whether this thread already runs an event loop (an async host; Playwright's, in the
    tests): a thread runs one loop at a time, so ours must then run on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def post(url: str, body: bytes, headers: dict[str, str], deadline: float) -> Answer:
    """POST ``body`` and return the push service's answer; raise TimedOut or Unreachable."""
    if not _loop_running_here():
        loop, session = _client()
        return loop.run_until_complete(_post(session, url, body, headers, deadline))
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_send_once, url, body, headers, deadline).result()


_local = threading.local()
_clients: list[tuple[asyncio.AbstractEventLoop, Any]] = []
_clients_lock = threading.Lock()


def _client() -> tuple[asyncio.AbstractEventLoop, Any]:
    """This thread's event loop and aiohttp client, made with its first send."""
    held = getattr(_local, "client", None)
    if held is None:
        loop = asyncio.new_event_loop()
        held = _local.client = (loop, loop.run_until_complete(_new_session()))
        with _clients_lock:
            _clients.append(held)
    return held


async def _new_session():
    # Imported here: only the reminder worker sends; a web worker never needs aiohttp's memory.
    import aiohttp

    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls()))


@contextmanager
def clients_closed_after() -> Iterator[None]:
    """Close every thread's client when the block ends (the worker's send threads are done)."""
    try:
        yield
    finally:
        close_all()


def close_all() -> None:
    """Close every thread's client and loop (the worker stops; its threads are done)."""
    with _clients_lock:
        held, _clients[:] = list(_clients), []
    if held and _loop_running_here():
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(_close, held).result()
    else:
        _close(held)
    _local.__dict__.clear()


def _close(held: list[tuple[asyncio.AbstractEventLoop, Any]]) -> None:
    for loop, session in held:
        loop.run_until_complete(session.close())
        # Not asyncio.run()'s shutdown: it waits for the loop's resolver threads, so a name
        # lookup that hangs would hold the worker's exit. close() lets it finish on its own.
        loop.close()


def _send_once(url: str, body: bytes, headers: dict[str, str], deadline: float) -> Answer:
    loop = asyncio.new_event_loop()
    try:
        session = loop.run_until_complete(_new_session())
        try:
            return loop.run_until_complete(_post(session, url, body, headers, deadline))
        finally:
            loop.run_until_complete(session.close())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _post(session, url: str, body: bytes, headers: dict[str, str],
                deadline: float) -> Answer:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=deadline)
    try:
        async with session.post(url, data=body, headers=headers, allow_redirects=False,
                                timeout=timeout) as response:
            return Answer(response.status, response.reason or "",
                          response.headers.get("Retry-After"))
    except TimeoutError:
        raise TimedOut from None
    except aiohttp.ClientError as exc:
        raise Unreachable(type(exc).__name__) from None
