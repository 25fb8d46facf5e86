"""meso/push_http.py: the worker's Sender (one loop, one client, a bounded number of sends in
flight), closed wherever the worker stops."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

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
