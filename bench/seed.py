"""The bench's own data: one patient on their busiest day, and a clinic of many patients.

Rows go in with bulk INSERTs (thousands a statement), not through the services: seeding
100,000 patients must take seconds. The shapes follow what the services write (a course,
its sessions, a device; every patient's first session in the past 200 days).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from meso import access, attention_watch, courses, next_session
from meso.extensions import db
from meso.models import Clinic, Course, Patient, PatientDevice, TreatmentSession

NAMES = ["Maria", "Luca", "Giulia", "Marco", "Sofia", "Anna", "Paolo", "Elena", "Sara", "Luigi"]
SURNAMES = ["Rossi", "Bianchi", "Verdi", "Neri", "Russo", "Ferrari", "Esposito", "Romano"]
CHUNK = 5000
ROME = ZoneInfo("Europe/Rome")


def clinic(name: str = "Bench Clinic") -> Clinic:
    row = Clinic(name=name, phone="+39 06 1234 5678", timezone="Europe/Rome")
    db.session.add(row)
    db.session.commit()
    return row


def busiest_patient(clinic_row: Clinic) -> tuple[Patient, str]:
    """Enrol a patient three hours after their first session (every restriction running, the
    check-in card showing) and return them with a device cookie token for Today."""
    session = datetime.now(UTC) - timedelta(hours=3)
    data = courses.Enrolment("Maria Rossi", "face", session, "Europe/Rome", 6, 3)
    patient, _ = courses.enrol(clinic_row, data, invite_days=14)
    token = access.add_device(patient, datetime.now(UTC))
    db.session.commit()
    return patient, token


def next_id(model) -> int:
    return (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1


def patients(clinic_id: int, count: int, seed: int = 3) -> None:
    """Add ``count`` patients with a course, 1 to 6 sessions and (mostly) a device."""
    spread([clinic_id], count, seed)


def clinics(count: int) -> list[int]:
    """Add ``count`` clinics (one statement) and return their ids."""
    first = next_id(Clinic)
    db.session.execute(sa.insert(Clinic), [
        {"id": first + n, "name": f"Clinic {first + n}", "phone": "+39 06 1234 5678",
         "timezone": "Europe/Rome", "created_at": datetime.now(UTC)} for n in range(count)])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text(
            "SELECT setval(pg_get_serial_sequence('clinic', 'id'), (SELECT max(id) FROM clinic))"))
        db.session.commit()
    return [first + n for n in range(count)]


def spread(clinic_ids: list[int], count: int, seed: int = 3) -> None:
    """Add ``count`` patients to each clinic, as ``patients`` does."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    first_patient, first_course = next_id(Patient), next_id(Course)
    people, courses_, sessions, devices = [], [], [], []
    for n, clinic_id in enumerate(c for c in clinic_ids for _ in range(count)):
        pid, cid = first_patient + n, first_course + n
        created = now - timedelta(days=rng.randint(0, 200), minutes=rng.randint(0, 1440))
        people.append({"id": pid, "clinic_id": clinic_id, "created_at": created,
                       "name": f"{rng.choice(NAMES)} {rng.choice(SURNAMES)} {pid}",
                       "invite_uses": 0})
        planned, interval = rng.randint(3, 6), rng.randint(2, 4)
        courses_.append({"id": cid, "patient_id": pid,
                         "area": rng.choice(["face", "scalp", "body"]),
                         "planned_sessions": planned, "interval_weeks": interval,
                         "timezone": "Europe/Rome", "created_at": created})
        first = created + timedelta(hours=rng.randint(0, 48))
        starts = [first + timedelta(weeks=interval * (number - 1))
                  for number in range(1, rng.randint(1, planned) + 1)]
        sessions += [{"course_id": cid, "number": number, "starts_at": start}
                     for number, start in enumerate(starts, 1)]
        # What courses.after_course_change stores (the roster's sort key).
        people[-1]["next_session_at"], people[-1]["next_session_booked"] = next_session.due(
            starts, planned, interval, now)
        opened = rng.random() < 0.8
        # What the roster's first read would store (meso/attention_watch.py; no check-ins).
        watch = attention_watch.compute(now, created, starts, ROME, set(),
                                        people[-1]["next_session_at"],
                                        people[-1]["next_session_booked"], opened)
        people[-1].update(first_session_at=watch.first_session_at,
                          missed_from=watch.missed_from, missed_until=watch.missed_until,
                          attention_watch=watch.watch, attention_review_at=watch.review_at)
        if opened:
            devices.append({"patient_id": pid, "token_hash": f"bench{pid:059x}",
                            "created_at": created, "last_seen_at": created})
    for model, rows in ((Patient, people), (Course, courses_), (TreatmentSession, sessions),
                        (PatientDevice, devices)):
        for start in range(0, len(rows), CHUNK):
            db.session.execute(sa.insert(model), rows[start:start + CHUNK])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; later ORM inserts must not collide.
        for table in ("patient", "course", "treatment_session", "patient_device"):
            db.session.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"))
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
