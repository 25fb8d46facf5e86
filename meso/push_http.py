"""One POST to a push service, over within a total deadline, never following a redirect.

requests and urllib3 time-outs bound each socket read, not the exchange: a push service (or
anything posing as one) that trickles a byte a second would hold a send, and the worker's
batch, for as long as it likes. Here ``asyncio.timeout`` bounds the whole of it: connecting,
TLS, sending, and the answer's status line and headers (a body is read only when short and
announced, to keep the connection; else the connection is dropped).

The reminder worker sends on one Sender: one event loop on a thread of its own, its
connections kept per push service (HTTP/1.1 keep-alive), at most ``--concurrency`` sends in
flight. The worker's own thread stays a plain thread (it keeps the database) and never runs
the loop, so a host that already runs a loop (Playwright's, in the tests) does not matter.
The HTTP is the little a push service needs, written here: aiohttp's client, used before,
cost half a message's time in the worker. A request goes out only if no header or path could
break out of its line; an answer that is not HTTP/1 is Unreachable."""

from __future__ import annotations

import asyncio
import queue
import re
import ssl
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit

import certifi

from meso import push_services


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
    """The reminder worker's sends: one event loop on a thread of its own, its connections
    kept per push service, and at most ``concurrency`` sends in flight.

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
        self.idle: dict[tuple[str, int, bool], list[_Connection]] = {}
        self.tasks: set[asyncio.Task] = set()

    def run(self, coroutine):
        """Run ``coroutine`` on the loop and return its result (blocks this thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def submit(self, coroutine) -> Future:
        """Run ``coroutine`` on the loop when a slot is free; its Future."""
        return asyncio.run_coroutine_threadsafe(self._in_a_slot(coroutine), self.loop)

    async def _in_a_slot(self, coroutine):
        async with self.slots:
            return await coroutine

    def start(self, items: list[tuple[Any, Any]], answers: queue.SimpleQueue) -> None:
        """Run each ``(key, coroutine)`` when a slot is free, and put ``(key, its result)``
        on ``answers`` (or ``(key, the exception)``) when it ends. One wake-up of the loop
        for a batch, and no Future per send for the worker to wait on one by one."""
        self.loop.call_soon_threadsafe(self._start, items, answers)

    def _start(self, items, answers: queue.SimpleQueue) -> None:
        for key, coroutine in items:
            task = self.loop.create_task(self._answer(key, coroutine, answers))
            self.tasks.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self.tasks.discard)

    async def _answer(self, key, coroutine, answers: queue.SimpleQueue) -> None:
        try:
            async with self.slots:
                result = await coroutine
        except Exception as exc:
            answers.put((key, exc))
        else:
            answers.put((key, result))

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   deadline: float) -> Answer:
        """POST on the loop (from a coroutine given to ``submit``): the whole exchange within
        ``deadline`` seconds; raise TimedOut or Unreachable."""
        try:
            target = _Target.of(url)
            request = _request(target, body, headers)
            async with asyncio.timeout(deadline):
                return await self._exchange(target, request)
        except TimeoutError:  # before OSError: it is one
            raise TimedOut from None
        except (OSError, EOFError, asyncio.LimitOverrunError, ValueError) as exc:
            # OSError: refused, reset, TLS; EOFError: closed mid-answer; ValueError: not a
            # URL or headers we can send, or an answer that is not HTTP.
            raise Unreachable(type(exc).__name__) from None

    async def _exchange(self, target: _Target, request: bytes) -> Answer:
        connection = self._kept(target.key) or await _Connection.open(target)
        try:
            connection.writer.write(request)
            while True:
                head = await connection.reader.readuntil(b"\r\n\r\n")
                answer, reusable, length = _parse(head)
                if not 100 <= answer.status < 200:
                    break  # an interim answer (100 Continue) is followed by the real one
            if reusable and length:
                await connection.reader.readexactly(length)  # a short body, for reuse
        except BaseException:
            connection.close()
            raise
        if reusable:
            connection.idle_since = time.monotonic()
            self.idle.setdefault(target.key, []).append(connection)
        else:
            connection.close()
        return answer

    def _kept(self, key: tuple[str, int, bool]) -> _Connection | None:
        """A connection to this push service left open by an earlier send, if one is fresh:
        one idle longer than IDLE may have been closed by the service meanwhile, and a send
        on it would fail (it is not sent again: a POST is not repeated on a guess)."""
        kept = self.idle.get(key)
        while kept:
            connection = kept.pop()
            if (time.monotonic() - connection.idle_since < IDLE
                    and not connection.reader.at_eof()):
                return connection
            connection.close()
        return None

    def close(self) -> None:
        """Close the kept connections and stop the loop (every submitted send is done)."""
        try:
            self.run(self._close_connections())
        finally:
            self._stop()

    async def _close_connections(self) -> None:
        for kept in self.idle.values():
            for connection in kept:
                connection.close()
        self.idle.clear()

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


IDLE = 2.0  # seconds a kept connection may wait for the next send (services allow more)
LIMIT = 64 * 1024  # bytes of an answer's head, or of a body read to keep the connection
STATUS = re.compile(rb"HTTP/1\.([01]) ([1-5][0-9][0-9])(?: ([^\r\n]*))?")
UNSENDABLE = re.compile(r"[\x00-\x20\x7f-\uffff]")  # in a request line or a header name


@dataclass(frozen=True)
class _Target:
    host: str  # for DNS and TLS: IDNA A-label or IP address
    port: int
    tls: bool
    host_header: str
    path: str  # with the query, percent-encoded

    @property
    def key(self) -> tuple[str, int, bool]:
        return (self.host, self.port, self.tls)

    @classmethod
    def of(cls, url: str) -> _Target:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname or "@" in parts.netloc:
            raise ValueError("not an http(s) URL")
        host = push_services.normal_host(parts.hostname)
        tls_on = parts.scheme == "https"
        port = parts.port or (443 if tls_on else 80)
        shown = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            shown = f"{shown}:{port}"
        path = quote(parts.path or "/", safe="/%!$&'()*+,;=:@-._~")
        if parts.query:
            path += "?" + quote(parts.query, safe="/%!$&'()*+,;=:@-._~?")
        return cls(host, port, tls_on, shown, path)


def _request(target: _Target, body: bytes, headers: dict[str, str]) -> bytes:
    """The request's bytes; ValueError for a header that would break out of its line."""
    lines = [f"POST {target.path} HTTP/1.1", f"Host: {target.host_header}",
             f"Content-Length: {len(body)}"]
    for name, value in headers.items():
        if not name or UNSENDABLE.search(name) or "\r" in value or "\n" in value:
            raise ValueError("a header that cannot be sent")
        lines.append(f"{name}: {value}")
    if UNSENDABLE.search(target.path):
        raise ValueError("a path that cannot be sent")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _parse(head: bytes) -> tuple[Answer, bool, int]:
    """An answer's head: the Answer, whether the connection may carry another request, and
    the length of the body to read first."""
    status_line, *lines = head[:-4].split(b"\r\n")
    match = STATUS.fullmatch(status_line)
    if not match:
        raise ValueError("not an HTTP/1 answer")
    fields: dict[bytes, bytes] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        name = name.strip().lower()
        if not colon or not name:
            raise ValueError("a malformed header")
        if name in fields and fields[name] != value.strip():
            fields[name] = b"\x00"  # repeated with another value: never trusted below
        else:
            fields[name] = value.strip()
    retry_after = fields.get(b"retry-after")
    answer = Answer(int(match.group(2)), (match.group(3) or b"").decode("latin-1").strip(),
                    retry_after.decode("latin-1") if retry_after is not None else None)
    length = fields.get(b"content-length", b"")
    reusable = (match.group(1) == b"1" and length.isdigit() and int(length) <= LIMIT
                and b"transfer-encoding" not in fields
                and fields.get(b"connection", b"").lower() != b"close")
    return answer, reusable, int(length) if reusable else 0


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.idle_since = 0.0

    @classmethod
    async def open(cls, target: _Target) -> _Connection:
        reader, writer = await asyncio.open_connection(
            target.host, target.port, ssl=tls() if target.tls else None,
            server_hostname=target.host if target.tls else None, limit=LIMIT)
        return cls(reader, writer)

    def close(self) -> None:
        self.writer.close()  # no wait for the goodbye: the loop finishes it
