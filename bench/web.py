"""Requests a second as a user's phone would meet them: gunicorn (2 sync workers) and wrk
(16 connections), the app's /today beside Flask's hello world on the same settings.

Both servers read the project's gunicorn.conf.py (access lines through the app's handler)
and write their logs to /dev/null, so neither pays for a terminal.
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
CONNECTIONS = 16
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class Load:
    requests_per_second: float
    p99_ms: float
    errors: int
    worker_rss_mb: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """``gunicorn -w 2 -k sync`` on a free port, started and stopped by the bench (by pid)."""

    def __init__(self, target: str, env: dict[str, str]):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.target = target
        self.env = {**os.environ, **env, "MESO_BASE_URL": self.base, "MESO_LOG_FORMAT": "text"}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.process = subprocess.Popen(
            [gunicorn, "-w", str(WORKERS), "-k", "sync", "-b", f"127.0.0.1:{self.port}",
             "-c", str(ROOT / "gunicorn.conf.py"), self.target],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while len(self.workers()) < WORKERS or not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {self.target} did not start")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=30)

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # an answer all the same (the app's / needs a signed-in phone)
        except OSError:
            return False

    def workers(self) -> list[int]:
        assert self.process is not None
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(child) for child in children]

    def worker_rss_mb(self) -> float:
        """The resident memory of the largest worker (VmRSS), in MB."""
        sizes = []
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            if match:
                sizes.append(int(match.group(1)) / 1024)
        return max(sizes, default=0.0)


def wrk(url: str, seconds: int, headers: dict[str, str]) -> tuple[float, float, int]:
    """Run wrk and return (requests/s, p99 in ms, non-2xx/3xx answers and socket errors)."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out,  # type: ignore[union-attr]
                            re.MULTILINE).groups()
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    for line in re.findall(r"Socket errors:(.*)", out):
        errors += sum(int(n) for n in re.findall(r"\d+", line))
    return rate, float(value) * UNITS[unit], errors


def side_by_side(targets: list[tuple[Gunicorn, str, dict[str, str]]], seconds: int,
                 rounds: int) -> list[Load]:
    """Load each (server, path, headers) in turn, ``rounds`` times, and return the median of
    each: on a machine others share, a busy moment then falls on every target alike, not
    on whichever ran during it."""
    for server, path, headers in targets:
        wrk(server.base + path, 2, headers)  # warm up: imports, first queries, caches
    runs: list[list[tuple[float, float, int]]] = [[] for _ in targets]
    for _ in range(rounds):
        for runs_of, (server, path, headers) in zip(runs, targets, strict=True):
            runs_of.append(wrk(server.base + path, seconds, headers))
    return [Load(statistics.median(r[0] for r in runs_of),
                 statistics.median(r[1] for r in runs_of), sum(r[2] for r in runs_of),
                 server.worker_rss_mb())
            for runs_of, (server, _, _) in zip(runs, targets, strict=True)]


def session_cookie(base: str, device_cookie: str) -> str:
    """Open Today once as the phone would, and return the cookies it then sends every time
    (the device cookie and the session cookie holding its CSRF secret)."""
    request = urllib.request.Request(base + "/today", headers={"Cookie": device_cookie})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200, response.status
        cookies = [header.split(";", 1)[0] for header in response.headers.get_all("Set-Cookie")
                   or []]
    return "; ".join([device_cookie, *cookies])
