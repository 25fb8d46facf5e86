"""What two busy processes get on this machine: a pure-Python loop alone, then two copies at
once, taken in turn; the median of their throughput ratio.

Two reminder workers cannot scale past what the machine gives two CPU-bound processes: on a
virtual machine whose two cores share their host, that is well under 2 (and it moves from
one second to the next). The bench prints it beside the workers' own ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

LOOP = "s = 0\nfor i in range(4_000_000):\n    s += i * i % 7\n"


def _run(copies: int) -> float:
    started = time.perf_counter()
    processes = [subprocess.Popen([sys.executable, "-c", LOOP]) for _ in range(copies)]
    for process in processes:
        if process.wait() != 0:
            raise RuntimeError("the CPU loop failed")
    return time.perf_counter() - started


def two_over_one(rounds: int) -> tuple[float, list[float]]:
    """The median of twice one copy's time over two copies' time, and every round's."""
    ratios = []
    for _ in range(rounds):
        one = _run(1)
        ratios.append(2 * one / _run(2))
    return statistics.median(ratios), ratios
