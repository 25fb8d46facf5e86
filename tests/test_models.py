"""The schema: migrations match the models, SQLite connection settings, UTC instants, erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import create_clinic, enrol_patient
from flask_migrate import upgrade

from meso import access
from meso.extensions import db
from meso.migrate_cli import init_migrate
from meso.models import Course, Patient, PatientDevice, TreatmentSession


# SQLite cannot reflect the roster's expression indexes (lower(name)): they are compared on
# PostgreSQL only.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrations_create_exactly_the_models_schema(app):
    init_migrate(app)  # as `flask db` does
    db.drop_all()
    upgrade()
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    # The name search's trigram index (per clinic) exists only where the migrations could
    # create pg_trgm and btree_gin.
    trigram = [d for d in diff if d[0] == "remove_index"
               and d[1].name == "ix_patient_clinic_name_trgm"]
    if db.engine.dialect.name == "postgresql":
        assert len(trigram) == 1
    assert [d for d in diff if d not in trigram] == []


@pytest.mark.sqlite
def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app):
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_instants_come_back_aware_utc(app):
    clinic = create_clinic()
    rome_time = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    patient, _ = enrol_patient(clinic, first_session=rome_time)
    db.session.expire_all()
    stored = db.session.get(Patient, patient.id).course.sessions[0].starts_at
    assert stored == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert stored.tzinfo == UTC


def test_naive_instants_are_refused(app):
    clinic = create_clinic()
    patient, _ = enrol_patient(clinic)
    patient.course.sessions[0].starts_at = datetime(2026, 1, 1, 10, 0)
    with pytest.raises(sa.exc.StatementError, match="naive"):
        db.session.commit()
    db.session.rollback()


def test_deleting_a_patient_erases_everything_hanging_off_them(app):
    clinic = create_clinic()
    patient, _ = enrol_patient(clinic)
    other, _ = enrol_patient(clinic, name="Other Person")
    access.add_device(patient, datetime.now(UTC))
    db.session.commit()
    db.session.delete(patient)
    db.session.commit()
    counts = {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Patient, Course, TreatmentSession, PatientDevice)
    }
    assert counts == {"Patient": 1, "Course": 1, "TreatmentSession": 1, "PatientDevice": 0}
    assert db.session.get(Patient, other.id) is not None


def test_course_plan_bounds_are_enforced_by_the_database(app):
    clinic = create_clinic()
    patient, _ = enrol_patient(clinic)
    patient.course.planned_sessions = 13
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
