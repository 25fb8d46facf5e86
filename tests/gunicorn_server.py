"""Run the real app under gunicorn on 127.0.0.1, as deployed (`gunicorn app:app`).

The server runs from the project folder, so it reads gunicorn.conf.py; its output (JSON lines)
goes to a file that tests read, and that the log-leak check reads too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests
from helpers import wait_until
from logleaks import CHECK

from meso import ROOT

START_TIMEOUT = 60.0  # seconds for the first worker to answer, on two busy cores


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """A gunicorn server that can be started, killed with SIGKILL, and started again."""

    def __init__(self, folder: Path, database_url: str, workers: int = 4, **env: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / f"gunicorn-{self.port}.log"
        self.workers = workers
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("MESO_", "FLASK_", "DATABASE_URL"))}
        self.env.update(DATABASE_URL=database_url, SECRET_KEY="load-test-secret",
                        MESO_BASE_URL=self.base, MESO_INSECURE_COOKIES="1", **env)
        self.process: subprocess.Popen | None = None
        self.reported = 0  # log lines already handed to the leak check

    def start(self) -> None:
        command = [sys.executable, "-m", "gunicorn", "--workers", str(self.workers),
                   "--bind", f"127.0.0.1:{self.port}", "--no-control-socket", "app:app"]
        with open(self.log_path, "a") as log:
            # A session of its own: one SIGKILL to the group ends the master and its workers.
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise

    def _wait_until_serving(self) -> None:
        # The kernel accepts connections before a worker has loaded the app: retry on time-outs.
        def answering() -> bool:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.output()}"
            try:
                return requests.get(f"{self.base}/sw.js", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        try:
            wait_until(answering, START_TIMEOUT, "gunicorn to answer")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.output()}") from None

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a power cut would for a process."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._report()

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def lines(self) -> list[str]:
        return self.output().splitlines()

    def _report(self) -> None:
        lines = self.lines()
        CHECK.add_lines(f"gunicorn:{self.port}", lines[self.reported:])
        self.reported = len(lines)

    def __enter__(self) -> Gunicorn:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
