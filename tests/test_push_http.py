"""meso/push_http.py: each send thread's kept client, closed wherever the worker stops."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fakepush import FakePushService

from meso import push_http


def test_clients_are_closed_inside_a_host_that_runs_an_event_loop():
    """The worker closes its send threads' clients from the thread that ran it: under an
    async host (Playwright's loop, in a test run), that thread already runs a loop, and
    closing ours there raised "Cannot run the event loop while another loop is running"."""
    with FakePushService() as service:
        endpoint = service.subscription().endpoint
        with ThreadPoolExecutor(max_workers=1) as pool:  # a send thread: it keeps its client
            answer = pool.submit(push_http.post, endpoint, b"not a real message",
                                 {"TTL": "60"}, 5.0).result()
        assert isinstance(answer.status, int)
        assert len(push_http._clients) == 1

        async def host() -> None:  # an async host calling the worker's sync code
            push_http.close_all()

        # The host runs on a thread of its own: this test's thread may already run a loop
        # (Playwright's, after a browser test in the same run), where asyncio.run() refuses.
        with ThreadPoolExecutor(max_workers=1) as host_thread:
            host_thread.submit(lambda: asyncio.run(host())).result()
    assert push_http._clients == []
