"""The bench's push service: a process of its own that answers every POST at once, and checks
and decrypts what it received afterwards, with the tests' fake push service
(tests/fakepush.py).

    python bench/pushservice.py N

Prints one JSON line, {"origin", "subscriptions": [N subscriptions]}, then answers each line
on stdin: "count" prints how many messages it has accepted so far (checked and decrypted),
"errors" how many failed their checks, "span" the seconds from the first to the last
arrival since the previous "span" (the senders' rate, start-up and shut-down left out), and
"arrived" how many have arrived since then (not checked: it is asked while senders run); end
of input stops it.

While the senders run it only reads each request (head, then the body its Content-Length
announces) and answers 201, on one asyncio loop (a Protocol, its cheapest way): a
real push service's work (checking, decrypting, the HTTP stack of a server farm) is done on
its own machines, and here it would take the very cores the senders are measured on. The
checks come when asked, once the clock has stopped.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from email.parser import BytesHeaderParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakepush import FakePushService

ANSWER = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
HEAD_LIMIT = 16 * 1024


class Receiver:
    """Keeps each request as it came (request line and headers, body) until taken, and when
    each arrived."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.kept: list[tuple[bytes, bytes]] = []
        self.arrivals: list[float] = []
        self.lock = threading.Lock()
        self.server = self.loop.run_until_complete(
            self.loop.create_server(lambda: Reading(self), "127.0.0.1", 0, backlog=128))
        self.origin = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def keep(self, head: bytes, body: bytes) -> None:
        with self.lock:
            self.kept.append((head, body))
            self.arrivals.append(time.monotonic())

    def take(self) -> list[tuple[bytes, bytes]]:
        with self.lock:
            taken, self.kept = self.kept, []
        return taken

    def arrived(self) -> int:
        """How many arrived since the last span (unchecked)."""
        with self.lock:
            return len(self.arrivals)

    def span(self) -> float:
        """Seconds from the first to the last arrival since the last call (0: under two)."""
        with self.lock:
            arrivals, self.arrivals = self.arrivals, []
        return max(arrivals) - min(arrivals) if len(arrivals) > 1 else 0.0


class Reading(asyncio.Protocol):
    """One connection: each request's head, then the body its Content-Length announces,
    answered 201. A protocol on the loop's own callbacks, not streams: about 0.1 ms of CPU a
    request here, a tenth less than streams (measured with 3 KB bodies on kept connections),
    and it runs on the senders' cores."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:end + 4])
            length = content_length(head)
            if length is None:
                self.transport.close()
                return
            if len(self.buffer) < end + 4 + length:
                return  # the rest of the body is on its way
            body = bytes(self.buffer[end + 4:end + 4 + length])
            del self.buffer[:end + 4 + length]
            self.receiver.keep(head, body)
            self.transport.write(ANSWER)
        if len(self.buffer) > HEAD_LIMIT:
            self.transport.close()


def content_length(head: bytes) -> int | None:
    """The Content-Length a head announces (0 without one); None when it is not a number."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return 0


def hand_over(receiver: Receiver, service: FakePushService) -> None:
    """Give the service what the receiver kept, to be checked by its settle()."""
    for head, body in receiver.take():
        request_line, _, fields = head.partition(b"\r\n")
        method, path, _ = request_line.decode("latin-1").split(" ", 2)
        headers = BytesHeaderParser().parsebytes(fields)
        if method == "POST":
            service.keep(path, headers, body)
        else:
            service.errors.append(f"{method} {path}: not a POST")


def main() -> None:
    count = int(sys.argv[1])
    receiver = Receiver()
    service = FakePushService(origin=receiver.origin)
    subscriptions = [service.subscription(f"b{n}").json for n in range(count)]
    print(json.dumps({"origin": service.origin, "subscriptions": subscriptions}), flush=True)
    accepted = 0
    for line in sys.stdin:
        if line.strip() == "arrived":  # asked while senders run: no checking on their cores
            print(receiver.arrived(), flush=True)
            continue
        hand_over(receiver, service)
        service.settle()
        with service.lock:
            accepted += sum(1 for message in service.received if message.status == 201)
            service.received.clear()  # counted: kept, thousands a run would slow it down
        if line.strip() == "count":
            print(accepted, flush=True)
        elif line.strip() == "errors":
            print(len(service.errors), flush=True)
        elif line.strip() == "span":
            print(receiver.span(), flush=True)


if __name__ == "__main__":
    main()
