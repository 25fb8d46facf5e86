"""meso/sql_lists.py: a column among a batch's values, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import sqlalchemy as sa
from conftest import create_clinic
from sqlalchemy import event

from meso.extensions import db
from meso.models import Clinic
from meso.sql_lists import among


def statements_of(run) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    return seen


def test_a_column_among_values_matches_those_and_no_others(app):
    ids = [create_clinic(f"Clinic {n}").id for n in range(4)]
    chosen = [ids[0], ids[2]]
    found = db.session.scalars(sa.select(Clinic.id).where(among(Clinic.id, chosen))).all()
    assert sorted(found) == chosen
    names = db.session.scalars(
        sa.select(Clinic.name).where(among(Clinic.name, ["Clinic 1", "Clinic 3", "none"]))).all()
    assert sorted(names) == ["Clinic 1", "Clinic 3"]
    assert db.session.scalars(sa.select(Clinic.id).where(among(Clinic.id, []))).all() == []


def test_on_postgresql_any_number_of_values_is_the_same_statement(app):
    ids = [create_clinic(f"Clinic {n}").id for n in range(3)]

    def select(values: list[int]):
        return lambda: db.session.scalars(
            sa.select(Clinic.id).where(among(Clinic.id, values))).all()

    (few, _), = statements_of(select(ids[:1]))
    (many, _), = statements_of(select(ids + list(range(10_000, 10_100))))
    if db.engine.dialect.name == "postgresql":
        # One array parameter: the text psycopg caches and prepares, whatever the batch.
        assert few == many
        assert "ANY" in many
    else:
        # SQLite spells the values out, one parameter each.
        assert many.count("?") == 103 and few.count("?") == 1
