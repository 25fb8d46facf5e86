"""One POST to a push service, over within a total deadline, never following a redirect.

requests and urllib3 time-outs bound each socket read, not the exchange: a push service (or
anything posing as one) that trickles a byte a second would hold a send, and the worker's
batch, for as long as it likes. aiohttp's ``ClientTimeout(total=…)`` bounds the whole of it:
connecting, TLS, sending, and the answer's status line and headers (the body is never read).
The reminder worker sends on one Sender: one event loop on a thread of its own and one
aiohttp client (its connection pool) for all its sends, so a message to a push service
already connected to costs no new connection; the worker's own thread stays a plain thread
(it keeps the database) and never runs the loop itself, so a host that already runs a loop
(Playwright's, in the tests) does not matter.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from concurrent.futures import Future
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
    """POST ``body`` once, on a client of its own, and return the push service's answer;
    raise TimedOut or Unreachable. The worker sends on its Sender; this is for one message
    (Pusher.send), from any thread, one that runs an event loop included."""
    with Sender(1) as sender:
        return sender.run(sender.post(url, body, headers, deadline))


class Sender:
    """The reminder worker's sends: one event loop on a thread of its own, one aiohttp client
    (its connections kept per push service) and at most ``concurrency`` sends in flight.

    ``submit`` hands it a coroutine from any thread and returns a concurrent Future, so the
    worker's thread keeps the database and waits on the futures as it would on a pool. One
    loop for every send, rather than a loop per pool thread: eight threads taking turns on
    the interpreter lock and starting a loop per message cost more than the sends.
    """

    def __init__(self, concurrency: int):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="push-sender",
                                       daemon=True)
        self.thread.start()
        self.slots = asyncio.Semaphore(concurrency)
        try:
            self.session = self.run(_new_session())
        except BaseException:
            self._stop()
            raise

    def run(self, coroutine):
        """Run ``coroutine`` on the loop and return its result (blocks this thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def submit(self, coroutine) -> Future:
        """Run ``coroutine`` on the loop when a slot is free; its Future."""
        return asyncio.run_coroutine_threadsafe(self._in_a_slot(coroutine), self.loop)

    async def _in_a_slot(self, coroutine):
        async with self.slots:
            return await coroutine

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   deadline: float) -> Answer:
        """POST on the loop (from a coroutine given to ``submit``), as ``post`` does."""
        return await _post(self.session, url, body, headers, deadline)

    def close(self) -> None:
        """Close the client and stop the loop (every submitted send is done by now)."""
        try:
            self.run(self.session.close())
        finally:
            self._stop()

    def _stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        # Not asyncio.run()'s shutdown: it waits for the loop's resolver threads, so a name
        # lookup that hangs would hold the worker's exit. close() lets it finish on its own.
        self.loop.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


async def _new_session():
    # Imported here: only the reminder worker sends; a web worker never needs aiohttp's memory.
    import aiohttp

    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls()))


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
