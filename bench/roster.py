"""Seed one clinic with 10,000 patients and time the roster query (no assertions).

    python bench/roster.py                      # a throwaway SQLite file
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench python bench/roster.py

The database is emptied first: never point it at real data.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meso import create_app, policy
from meso.extensions import db
from meso.models import Clinic, Course, Patient, PatientDevice, TreatmentSession
from meso.roster_query import roster_page

PATIENTS = int(os.environ.get("BENCH_PATIENTS", "10000"))
NAMES = ["Maria", "Luca", "Giulia", "Marco", "Sofia", "Anna", "Paolo", "Elena", "Sara", "Luigi"]
SURNAMES = ["Rossi", "Bianchi", "Verdi", "Neri", "Russo", "Ferrari", "Esposito", "Romano"]


def seed(clinic_id: int, now: datetime) -> None:
    rng = random.Random(3)
    patients, courses_, sessions, devices = [], [], [], []
    for i in range(1, PATIENTS + 1):
        created = now - timedelta(days=rng.randint(0, 200))
        patients.append({"id": i, "clinic_id": clinic_id, "created_at": created,
                         "name": f"{rng.choice(NAMES)} {rng.choice(SURNAMES)} {i}"})
        planned, interval = rng.randint(3, 6), rng.randint(2, 4)
        courses_.append({"id": i, "patient_id": i, "area": rng.choice(["face", "scalp", "body"]),
                         "planned_sessions": planned, "interval_weeks": interval,
                         "timezone": "Europe/Rome", "created_at": created})
        first = created + timedelta(hours=rng.randint(0, 48))
        for n in range(rng.randint(1, planned)):
            sessions.append({"course_id": i, "number": n + 1,
                             "starts_at": first + timedelta(weeks=interval * n)})
        if rng.random() < 0.8:
            devices.append({"patient_id": i, "token_hash": f"{i:064x}", "created_at": created,
                            "last_seen_at": created})
    for model, rows in ((Patient, patients), (Course, courses_), (TreatmentSession, sessions),
                        (PatientDevice, devices)):
        for start in range(0, len(rows), 2000):
            db.session.execute(sa.insert(model), rows[start:start + 2000])
    db.session.commit()


def timed(label: str, **kwargs) -> None:
    clinic = db.session.scalar(sa.select(Clinic))
    protocol = policy.clinic_protocol(clinic)
    now = datetime.now(UTC)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        page = roster_page(clinic.id, protocol, now, **kwargs)
        best = min(best, time.perf_counter() - start)
    print(f"{label:<34} {best * 1000:7.1f} ms  ({page.total} matching, page {page.page} "
          f"of {page.pages})")


def main() -> None:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "MESO_BASE_URL": "http://localhost"},
                     instance_path=tempfile.mkdtemp())
    with app.app_context():
        db.drop_all()
        db.create_all()
        clinic = Clinic(name="Bench Clinic", timezone="Europe/Rome")
        db.session.add(clinic)
        db.session.commit()
        start = time.perf_counter()
        seed(clinic.id, datetime.now(UTC))
        print(f"{db.engine.dialect.name}: seeded {PATIENTS} patients in "
              f"{time.perf_counter() - start:.1f} s; best of 5 runs:")
        timed("first page, by next session")
        timed("page 100, by next session", page=100)
        timed("by name", sort="name")
        timed("search 'ross'", query="ross")
        timed("needs attention only", attention_only=True)
        db.drop_all()


if __name__ == "__main__":
    main()
