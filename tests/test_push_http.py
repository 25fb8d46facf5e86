"""meso/push_http.py: the worker's Sender (one loop, one client, a bounded number of sends in
flight), closed wherever the worker stops."""

from __future__ import annotations

import asyncio
import re
import socketserver
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fakepush import FakePushService

from meso import push_http


def test_a_sender_is_closed_inside_a_host_that_runs_an_event_loop():
    """The worker closes its Sender from the thread that ran it: under an async host
    (Playwright's loop, in a test run), that thread already runs a loop of its own."""
    with FakePushService() as service:
        endpoint = service.subscription().endpoint

        async def host() -> int:  # an async host calling the worker's sync code
            with push_http.Sender(2) as sender:
                answer = sender.submit(sender.post(endpoint, b"not a real message",
                                                   {"TTL": "60"}, 5.0)).result()
            assert not sender.thread.is_alive() and sender.loop.is_closed()
            return answer.status

        # The host runs on a thread of its own: this test's thread may already run a loop
        # (Playwright's, after a browser test in the same run), where asyncio.run() refuses.
        with ThreadPoolExecutor(max_workers=1) as host_thread:
            assert isinstance(host_thread.submit(lambda: asyncio.run(host())).result(), int)
        # The one-off post (Pusher.send) works from such a host too.
        with ThreadPoolExecutor(max_workers=1) as host_thread:

            async def once() -> push_http.Answer:
                return push_http.post(endpoint, b"not a real message", {"TTL": "60"}, 5.0)

            assert isinstance(host_thread.submit(lambda: asyncio.run(once())).result().status,
                              int)


def test_a_sender_keeps_at_most_its_concurrency_in_flight():
    """--concurrency bounds the sends in flight on the one loop (a slow push service holds
    a slot each, not more)."""
    with FakePushService() as service:
        endpoint = service.subscription().endpoint
        peak, now = [0], [0]
        lock = threading.Lock()

        async def send(sender: push_http.Sender) -> int:
            with lock:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
            try:
                answer = await sender.post(endpoint, b"x", {"TTL": "60"}, 5.0)
            finally:
                with lock:
                    now[0] -= 1
            return answer.status

        with push_http.Sender(3) as sender:
            futures = [sender.submit(send(sender)) for _ in range(9)]
            statuses = [future.result() for future in futures]
        assert peak[0] == 3  # all nine would start at once without the bound
        assert statuses == [400] * 9  # not a real message: the service refused each


# -- the Sender's HTTP/1.1: kept connections, what is refused, what is not HTTP -------------


class Canned:
    """A TCP server on 127.0.0.1 answering each request with the next canned answer (the
    last one repeats); it counts connections and requests, and keeps what it received."""

    def __init__(self, *answers: bytes):
        self.answers = list(answers)
        self.connections = 0
        self.requests: list[bytes] = []
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/push/abc?x=1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        canned = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                canned.connections += 1
                while True:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        line = self.rfile.readline()
                        if not line:
                            return
                        head += line
                    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
                    canned.requests.append(head + self.rfile.read(length))
                    answer = canned.answers.pop(0) if len(canned.answers) > 1 \
                        else canned.answers[0]
                    self.wfile.write(answer)
                    if b"Connection: close" in answer or answer == HANGS_UP:
                        return

        return Handler

    def __enter__(self) -> Canned:
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
HANGS_UP = b"HTTP/1.1 201 Cre"  # the service hangs up mid-answer


def send_all(sender: push_http.Sender, url: str, count: int, headers=None) -> list:
    futures = [sender.submit(sender.post(url, b"body", headers or {"TTL": "60"}, 5.0))
               for _ in range(count)]
    return [future.result() for future in futures]


def test_one_connection_carries_many_messages():
    with Canned(CREATED) as service, push_http.Sender(1) as sender:
        answers = send_all(sender, service.url, 20)
    assert {a.status for a in answers} == {201}
    assert (service.connections, len(service.requests)) == (1, 20)
    first = service.requests[0]
    assert first.startswith(b"POST /push/abc?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nContent-Length: 4\r\nTTL: 60\r\n\r\nbody" in first


def test_a_connection_is_not_kept_when_the_answer_says_close_or_has_no_length():
    with Canned(b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                b"HTTP/1.1 429 Too Many\r\nRetry-After: 30\r\nContent-Length: 2\r\n\r\nno",
                CREATED) as service, push_http.Sender(1) as sender:
        answers = send_all(sender, service.url, 4)
    assert [a.status for a in answers] == [201, 429, 201, 201]
    assert (answers[1].reason, answers[1].retry_after) == ("Too Many", "30")
    # The first said close: a second connection; the 429's body was read, so it was kept.
    assert service.connections == 2


def test_a_connection_idle_too_long_is_not_used_again(monkeypatch):
    monkeypatch.setattr(push_http, "IDLE", 0.05)
    with Canned(CREATED) as service, push_http.Sender(1) as sender:
        send_all(sender, service.url, 1)
        time.sleep(0.1)
        send_all(sender, service.url, 1)
    assert service.connections == 2


@pytest.mark.parametrize("answer", [
    b"SMTP/1.0 220 hello\r\n\r\n",
    b"HTTP/1.1 2OO OK\r\n\r\n",
    b"HTTP/1.1 201 Created\r\nno colon here\r\n\r\n",
    b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n" + b"X-Pad: " + b"a" * 70000 + b"\r\n\r\n",
    HANGS_UP,
])
def test_an_answer_that_is_not_http_is_unreachable_not_a_crash(answer):
    with (Canned(answer) as service, push_http.Sender(1) as sender,
          pytest.raises(push_http.Unreachable)):
        sender.run(sender.post(service.url, b"body", {"TTL": "60"}, 5.0))


@pytest.mark.parametrize("headers", [{"TTL": "60\r\nX-Evil: 1"}, {"Bad Name": "1"},
                                     {"TTL": "60\n"}, {"Topic": "caf\u00e9\u2603"}])
def test_a_header_that_would_break_its_line_is_never_sent(headers):
    with (Canned(CREATED) as service, push_http.Sender(1) as sender,
          pytest.raises(push_http.Unreachable)):
        sender.run(sender.post(service.url, b"body", headers, 5.0))
    assert service.requests == []


def test_a_send_after_the_deadline_is_timed_out_and_its_connection_dropped():
    with Canned(b"") as service, push_http.Sender(1) as sender:  # never answers
        started = time.monotonic()
        with pytest.raises(push_http.TimedOut):
            sender.run(sender.post(service.url, b"body", {"TTL": "60"}, 0.3))
        assert time.monotonic() - started < 2
        assert sender.idle == {} or all(not kept for kept in sender.idle.values())
