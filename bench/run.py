"""`make bench`: every figure of issue 14 beside its target, in one table.

    .venv/bin/python bench/run.py

Seeds its own data and cleans up after itself: a SQLite file in a temporary folder for the
pages (served by gunicorn, measured with wrk), and a PostgreSQL database of its own (created
on BENCH_PG_URL's server, `meso_bench_<pid>`, dropped at the end) for the roster, the planner
and the reminder worker. Never part of `make test`.

Settings (environment): BENCH_PATIENTS (the large roster, 100000), BENCH_SECONDS (each wrk
run, 10), BENCH_ROUNDS (runs of each, taken in turn, and their medians: wrk on hello world
and /today; 3), BENCH_PUSH_ROUNDS (the same for the bare loop, one worker and two; 5),
BENCH_PUSHES (messages per sending run, 3000), BENCH_PG_URL (a PostgreSQL server the bench
may create a database on; postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import contextvars
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import cores  # noqa: E402 - the bench's own modules, found through the lines above
import pushes  # noqa: E402
import seed  # noqa: E402
import today_budget  # noqa: E402
import web  # noqa: E402

from meso import clinic_replans, clinics, create_app, outbox, policy, push  # noqa: E402
from meso.extensions import db  # noqa: E402
from meso.models import Clinic, ClinicReplan, Patient, StaffUser  # noqa: E402
from meso.roster_query import roster_page  # noqa: E402

LARGE = int(os.environ.get("BENCH_PATIENTS", "100000"))
SMALL = min(1000, LARGE)
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # runs of each, alternating: the medians
# The sending runs are short (a few seconds each) and a busy moment on a shared machine moves
# one of them by a third: more rounds, for steadier medians.
PUSH_ROUNDS = int(os.environ.get("BENCH_PUSH_ROUNDS", "5"))
# Messages per sending run: the rate is read from the first to the last arrival, and the
# workers are started and waiting before the rows are let go (bench/pushes.py).
PUSHES = int(os.environ.get("BENCH_PUSHES", "3000"))
PG_URL = os.environ.get("BENCH_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PAGES = ("/today", "/timeline", "/api/plan")
ROSTER_VIEWS: dict[str, dict] = {
    "attention first (default)": {}, "by next session": {"sort": "next"},
    "by name": {"sort": "name"}, "by enrolment": {"sort": "recent"},
    "needs attention": {"attention_only": True}, "name search": {"query": "ross"},
    # The seed archives nobody: this times finding a clinic's archived patients among the rest.
    "archived list": {"archived": True},
}


class Table:
    """The figures as they come, printed at the end in one table."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, figure: str, value: str, target: str = "", met: bool | None = None) -> None:
        verdict = "" if met is None else ("ok" if met else "MISSED")
        self.rows.append((figure, value, target, verdict))
        print(f"  {figure}: {value}", flush=True)

    def print(self) -> None:
        widths = [max(len(row[i]) for row in [*self.rows, HEADER]) for i in range(4)]
        for row in [HEADER, tuple("-" * w for w in widths), *self.rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


HEADER = ("figure", "measured", "target", "")


def make_app(url: str, instance: str, **config):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                       "MESO_BASE_URL": "http://localhost", **config}, instance_path=instance)


@contextmanager
def counting_statements(engine: sa.Engine):
    """Count the SQL statements sent while the block runs: ``with ... as count: count()``."""
    seen = [0]

    def count(*args) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield lambda: seen[0]
    finally:
        event.remove(engine, "before_cursor_execute", count)


def device_client(app, token: str):
    client = app.test_client()
    client.set_cookie(app.config["DEVICE_COOKIE"], token, domain="localhost")
    return client


def best_ms(run: Callable[[], object], times: int = 15) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def median_ms(run: Callable[[], object], times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


# -- the pages, on SQLite ---------------------------------------------------------------------


def pages(table: Table, folder: str) -> None:
    url = f"sqlite:///{folder}/bench.sqlite3"
    app = make_app(url, folder)
    with app.app_context():
        db.create_all()
        _, token = seed.busiest_patient(seed.clinic())
        engine = db.engine
    # Requests from here on run outside the app context above, each in its own (as on a
    # server): nothing they load is left in a shared session for the next one.
    client = device_client(app, token)
    for path in PAGES:
        with counting_statements(engine) as cold:
            assert client.get(path).status_code == 200, path
        with counting_statements(engine) as warm:
            client.get(path)
        table.add(f"SQL statements {path} (first / again)", f"{cold()} / {warm()}",
                  "<= 6 cold / <= 3 warm", cold() <= 6 and warm() <= 3)
    cpu = median_ms(lambda: client.get("/today"), 200)
    table.add("/today in-process, median", f"{cpu:.2f} ms")
    wire = today_budget.first_load(client)
    total = sum(len(body) for _, body in wire)
    table.add("Today + CSS + JS on the wire", f"{total / 1024:.1f} KB "
              f"({len(wire)} responses; the page in gzip, CSS and JS in br)", "<= 30 KB",
              total <= today_budget.BUDGET)
    cookie = f"{app.config['DEVICE_COOKIE']}={token}"
    env = {"DATABASE_URL": url, "SECRET_KEY": "bench"}
    with web.Gunicorn("bench.hello:app", env) as hello, web.Gunicorn("app:app", env) as meso:
        headers = {"Cookie": web.session_cookie(meso.base, cookie),
                   "Accept-Encoding": "br, gzip"}
        hello_load, today_load = web.side_by_side(
            [(hello, "/", {}), (meso, "/today", headers)], SECONDS, ROUNDS)
    for name, load in (("hello world", hello_load), ("/today", today_load)):
        errors = f", {load.errors} errors" if load.errors else ""
        table.add(f"{name}: requests/s, p99", f"{load.requests_per_second:,.0f}/s, "
                  f"{load.p99_ms:.1f} ms{errors}")
    ratio = today_load.requests_per_second / hello_load.requests_per_second
    table.add("/today / hello world, requests/s", f"{ratio:.2f}", ">= 0.50", ratio >= 0.5)
    p99 = today_load.p99_ms / hello_load.p99_ms
    table.add("/today / hello world, p99", f"{p99:.1f}x", "<= 4x", p99 <= 4)
    table.add("RSS of a web worker", f"{today_load.worker_rss_mb:.0f} MB", "<= 80 MB",
              today_load.worker_rss_mb <= 80)


# -- the roster, the planner and the worker, on PostgreSQL ------------------------------------


@contextmanager
def postgres_database():
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"meso_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(PG_URL).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def name_search_index() -> None:
    """The trigram index the migrations make for the roster's name search, per clinic
    (03572659bd66): db.create_all() leaves it out, and the bench measures what production
    runs."""
    for extension in ("pg_trgm", "btree_gin"):
        db.session.execute(sa.text(f"CREATE EXTENSION IF NOT EXISTS {extension}"))
    db.session.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_patient_clinic_name_trgm ON "
                               "patient USING gin (clinic_id, name gin_trgm_ops)"))
    db.session.commit()


def analyzed() -> None:
    """Bring PostgreSQL's statistics up to date after a bulk load, as autovacuum does on a
    server within a minute of one: without them its plans for the new rows are guesses."""
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))


def roster_times(clinic: Clinic) -> dict[str, float]:
    """Time the roster's first page (each sort, the filter, a search), best of fifteen, in
    ms. The first read settles the rows the seed left due for review
    (meso/attention_watch.py), as the reminder worker does on a server; then the statistics
    are brought up to date."""
    protocol = policy.clinic_protocol(clinic)
    now = datetime.now(UTC)
    roster_page(clinic.id, protocol, now)
    analyzed()  # after the settling: it rewrote the review instant of every seeded row
    return {label: best_ms(lambda kw=kwargs: roster_page(clinic.id, protocol, now, **kw))
            for label, kwargs in ROSTER_VIEWS.items()}


@dataclass
class Sized:
    """One database of the bench's: its app, the clinic grown to a size and its busiest
    patient's device token."""

    app: Flask
    clinic_id: int
    protocol: object
    token: str


def sized(url: str, folder: str, count: int) -> Sized:
    """A database with one clinic of ``count`` patients (the first SMALL the same in every
    database: the seed is fixed), its rows due for review settled (as the reminder worker
    does on a server) and its statistics up to date."""
    app = make_app(url, folder)
    with app.app_context():
        db.create_all()
        name_search_index()
        clinic = seed.clinic()
        _, token = seed.busiest_patient(clinic)
        started = time.perf_counter()
        seed.patients(clinic.id, SMALL - 1)
        if count > SMALL:
            seed.patients(clinic.id, count - SMALL, seed=4)
        print(f"  (seeded {count:,} patients in {time.perf_counter() - started:.0f} s)",
              flush=True)
        protocol = policy.clinic_protocol(clinic)
        roster_page(clinic.id, protocol, datetime.now(UTC))  # settles the rows for review
        analyzed()  # after the settling: it rewrote the review instant of every seeded row
        return Sized(app, clinic.id, protocol, token)


def in_turn(sizes: list[Sized], rounds: int = 15, requests: int = 50) -> list[dict[str, float]]:
    """Each database's roster views (best of ``rounds``) and Today (median of ``requests``),
    in ms, timed in turn: one size, then the other, again and again. Timed minutes apart
    (before and after seeding the large clinic), a busy spell on the shared machine fell on
    one size only, and the ratio said more of the machine than of the roster or the page."""
    now = datetime.now(UTC)
    times: list[dict[str, float]] = [dict.fromkeys(ROSTER_VIEWS, float("inf")) for _ in sizes]
    for label, kwargs in ROSTER_VIEWS.items():
        for _ in range(rounds):
            for size, best in zip(sizes, times, strict=True):
                with size.app.app_context():
                    started = time.perf_counter()
                    roster_page(size.clinic_id, size.protocol, now, **kwargs)
                    best[label] = min(best[label], (time.perf_counter() - started) * 1000)
    clients = [device_client(size.app, size.token) for size in sizes]
    samples: list[list[float]] = [[] for _ in sizes]
    for turn in range(requests + 1):
        for client, taken in zip(clients, samples, strict=True):
            started = time.perf_counter()
            # A context of its own, as on a server: not the bench's app context and session.
            assert contextvars.Context().run(client.get, "/today").status_code == 200
            if turn:  # the first fills the page cache
                taken.append((time.perf_counter() - started) * 1000)
    for best, taken in zip(times, samples, strict=True):
        best["/today"] = statistics.median(taken)
    return times


def at_scale(table: Table, folder: str) -> None:
    with postgres_database() as small_url, postgres_database() as url:
        small, large = sized(small_url, folder, SMALL), sized(url, folder, LARGE)
        few, many = in_turn([small, large])
        for label in ROSTER_VIEWS:
            table.add(f"roster {label}, {SMALL:,} / {LARGE:,}",
                      f"{few[label]:.1f} / {many[label]:.1f} ms", "< 50 ms", many[label] < 50)
        worst = max(ROSTER_VIEWS, key=lambda label: many[label] / few[label])
        ratio = many[worst] / few[worst]
        table.add(f"roster {LARGE:,}/{SMALL:,} (worst: {worst})", f"{ratio:.2f}",
                  "<= 1.3", ratio <= 1.3)
        ratio = many["/today"] / few["/today"]
        table.add(f"/today {SMALL:,} / {LARGE:,} patients",
                  f"{few['/today']:.1f} / {many['/today']:.1f} ms (ratio {ratio:.2f})",
                  "<= 1.3", ratio <= 1.3)
        for size in (small, large):
            with size.app.app_context():
                db.engine.dispose()  # the small database is dropped next: no connection left
        with large.app.app_context():
            clinic = db.session.get(Clinic, large.clinic_id)
            assert clinic is not None
            settings_change(table, clinic)
            many_clinics(table)
            planning(table)
            sending(table, url, folder)
            db.session.remove()
            db.engine.dispose()


def settings_change(table: Table, clinic: Clinic, batches: int = 10) -> None:
    """A clinic's settings saved at 100,000 patients (the request queues the re-plan), then
    the worker's re-plan batches (clinic_replans.run_batch, 200 patients each)."""
    admin = StaffUser(clinic_id=clinic.id, email="bench-admin@clinic.example",
                      password_hash="-", role="admin")  # noqa: S106 - never signs in
    db.session.add(admin)
    db.session.commit()
    started = time.perf_counter()
    clinics.update_settings(admin, {**policy.default_window_hours(), "heat": 72}, 21,
                            dt_time(9), dt_time(21), dt_time(8))
    db.session.commit()
    saved_ms = (time.perf_counter() - started) * 1000
    table.add(f"clinic settings saved, {LARGE:,} patients", f"{saved_ms:.1f} ms (re-plan queued)")
    started, done = time.perf_counter(), 0
    for _ in range(batches):
        done += clinic_replans.run_batch(datetime.now(UTC), timedelta(minutes=5))
    seconds = time.perf_counter() - started
    table.add("settings re-plan in the worker", f"{done / seconds:,.0f} patients/s "
              f"({done:,} in batches of {clinic_replans.BATCH})")
    # The rest of the pass is left out: the push figures below measure sending alone.
    db.session.execute(sa.delete(ClinicReplan))
    db.session.commit()


def many_clinics(table: Table, count: int = 1000) -> None:
    """The roster's first page in one of ``count`` clinics sharing LARGE more patients."""
    started = time.perf_counter()
    ids = seed.clinics(count)
    seed.spread(ids, LARGE // count, seed=5)
    print(f"  (seeded {count:,} clinics of {LARGE // count:,} in "
          f"{time.perf_counter() - started:.0f} s)")
    one = db.session.get(Clinic, ids[count // 2])
    assert one is not None
    times = roster_times(one)
    for label in ROSTER_VIEWS:
        table.add(f"roster {label}, 1 of {count:,} clinics", f"{times[label]:.1f} ms",
                  "< 50 ms", times[label] < 50)


def planning(table: Table, count: int = 300) -> None:
    # The last enrolled: never planned yet (the seed inserts rows; the settings re-plan above
    # went through the first ones).
    patients = db.session.scalars(
        sa.select(Patient).order_by(Patient.id.desc()).limit(count)).all()
    started = time.perf_counter()
    added = 0
    for patient in patients:
        added += outbox.replan(patient).added
    db.session.commit()
    seconds = time.perf_counter() - started
    table.add("reminders planned", f"{added / seconds:,.0f}/s ({len(patients) / seconds:,.0f} "
              f"patients/s)")


def sending(table: Table, url: str, folder: str) -> None:
    """The bare loop, one worker and two, taken in turn PUSH_ROUNDS times; the medians. One run
    of each on a shared machine put a busy moment on one of them only."""
    started = time.perf_counter()
    settled = pushes.settle_attention()
    # The database settled as autovacuum leaves a server's between bursts: after the seeding
    # (200,000 patients and their courses, every roster row rewritten once) it could start on
    # those tables during a timed run, on the cores the senders use.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    print(f"  (settled {settled:,} roster rows due for review and vacuumed in "
          f"{time.perf_counter() - started:.0f} s)", flush=True)
    service = pushes.PushService(PUSHES)
    runs: dict[str, list[pushes.Sending]] = {"bare": [], "one": [], "two": []}
    try:
        key = push.generate_private_key()
        env = {"DATABASE_URL": url, "SECRET_KEY": "bench", "VAPID_PRIVATE_KEY": key,
               "MESO_BASE_URL": "http://localhost",
               "VAPID_SUBJECT": pushes.SUBJECT, "MESO_PUSH_SERVICES": service.origin,
               "MESO_LOG_FORMAT": "text"}
        for _ in range(PUSH_ROUNDS):
            runs["bare"].append(pushes.bare_loop(service, key))
            runs["one"].append(pushes.worker_runs(service, env, 1))
            runs["two"].append(pushes.worker_runs(service, env, 2))
        assert service.ask("errors") == 0, "the fake push service refused messages"
    finally:
        service.close()
    bare, one, two = (statistics.median(run.per_second for run in runs[name])
                      for name in ("bare", "one", "two"))
    every = [f"{run.per_second:,.0f}" for name in ("one", "two") for run in runs[name]]
    table.add("bare pywebpush.webpush loop", f"{bare:,.0f}/s (runs: "
              f"{', '.join(f'{run.per_second:,.0f}' for run in runs['bare'])})")
    table.add("reminder worker, 1 process", f"{one:,.0f}/s ({one / bare:.1f}x bare; runs: "
              f"{', '.join(every[:PUSH_ROUNDS])})", ">= 2x bare", one / bare >= 2)
    table.add("reminder workers, 2 processes", f"{two:,.0f}/s ({two / one:.2f}x one; runs: "
              f"{', '.join(every[PUSH_ROUNDS:])})", ">= 1.6x one", two / one >= 1.6)
    ceiling, ratios = cores.two_over_one(max(5, PUSH_ROUNDS))
    table.add("this machine: 2 CPU-bound processes / 1", f"{ceiling:.2f}x (runs: "
              f"{', '.join(f'{ratio:.2f}' for ratio in ratios)}; no worker scales past it)")
    workers = runs["one"] + runs["two"]
    exact = all(run.sent == run.received == PUSHES for run in workers)
    table.add("each message sent exactly once",
              f"{sum(run.received for run in workers):,} of {PUSHES * len(workers):,} "
              f"({len(workers)} runs)", "all, once", exact)
    rss = max(run.rss_mb for run in runs["one"])
    table.add("RSS of a reminder worker", f"{rss:.0f} MB", "<= 120 MB", rss <= 120)


def main() -> int:
    table = Table()
    with tempfile.TemporaryDirectory() as folder:
        print(f"pages (SQLite, gunicorn -w {web.WORKERS} sync, wrk -c{web.CONNECTIONS} "
              f"-d{SECONDS}s, {ROUNDS} rounds in turn, medians):", flush=True)
        pages(table, folder)
        print(f"at scale (PostgreSQL, {SMALL:,} and {LARGE:,} patients in one clinic):",
              flush=True)
        at_scale(table, folder)
    print()
    table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
