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
HTTP/1.1 itself (writing the request, reading the answer, whether the connection may carry
another) is h11's, the protocol library httpx and others are built on; this module only
keeps the connections and the deadline. aiohttp's client, used before, cost half a
message's time in the worker. h11 refuses a header or path that could break out of its line
before anything is sent; an answer that is not HTTP/1 is Unreachable."""

from __future__ import annotations

import asyncio
import queue
import ssl
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit

import certifi
import h11

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
                return await self._exchange(target, request, body)
        except TimeoutError:  # before OSError: it is one
            raise TimedOut from None
        except (OSError, EOFError, ValueError, h11.ProtocolError) as exc:
            # OSError: refused, reset, TLS; EOFError: closed before an answer; ValueError:
            # not a URL; h11's: headers we cannot send, or an answer that is not HTTP.
            raise Unreachable(type(exc).__name__) from None

    async def _exchange(self, target: _Target, request: h11.Request, body: bytes) -> Answer:
        connection = self._kept(target.key) or await _Connection.open(target)
        try:
            answer, reusable = await connection.exchange(request, body)
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
LIMIT = 64 * 1024  # bytes of a body read to keep the connection
HEAD_LIMIT = 16 * 1024  # an answer's head still incomplete past this is not HTTP we take
READ = 8 * 1024  # bytes asked of the socket at a time (so a head stops soon past its limit)
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


def _request(target: _Target, body: bytes, headers: dict[str, str]) -> h11.Request:
    """The request; h11.LocalProtocolError for a header or path that cannot be sent."""
    return h11.Request(method="POST", target=target.path, headers=[
        ("Host", target.host_header), ("Content-Length", str(len(body))), *headers.items()])


def _answer(response: h11.Response) -> Answer:
    values = [value for name, value in response.headers if name == b"retry-after"]
    # Repeated with other values: never trusted.
    retry_after = values[0].decode("latin-1") if values and len(set(values)) == 1 else None
    return Answer(response.status_code, response.reason.decode("latin-1").strip(), retry_after)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.http = h11.Connection(h11.CLIENT, max_incomplete_event_size=HEAD_LIMIT)
        self.idle_since = 0.0

    async def exchange(self, request: h11.Request, body: bytes) -> tuple[Answer, bool]:
        """Send the request; return the answer, and whether the connection may carry
        another. A body is read only when short and announced (to keep the connection);
        else the answer is taken without it and the connection is dropped."""
        http = self.http
        self.writer.write(http.send(request) + http.send(h11.Data(data=body))
                          + http.send(h11.EndOfMessage()))
        answer = None
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                http.receive_data(await self.reader.read(READ))  # b"": the end
            elif isinstance(event, h11.Response):
                answer = _answer(event)
                lengths = [v for n, v in event.headers if n == b"content-length"]
                if not lengths or not lengths[0].isdigit() or int(lengths[0]) > LIMIT:
                    return answer, False
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                if answer is None:
                    raise EOFError("closed before an answer")
                return answer, False
            # h11.Data: a short body, read to keep the connection; h11.InformationalResponse
            # (100 Continue): the real answer follows.
        assert answer is not None  # EndOfMessage comes after a Response
        if http.our_state is h11.DONE and http.their_state is h11.DONE:
            http.start_next_cycle()
            return answer, True
        return answer, False  # Connection: close, HTTP/1.0...

    @classmethod
    async def open(cls, target: _Target) -> _Connection:
        reader, writer = await asyncio.open_connection(
            target.host, target.port, ssl=tls() if target.tls else None,
            server_hostname=target.host if target.tls else None, limit=LIMIT)
        return cls(reader, writer)

    def close(self) -> None:
        self.writer.close()  # no wait for the goodbye: the loop finishes it
