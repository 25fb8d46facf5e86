"""A column matched against a batch's list of values, as one parameter on PostgreSQL; and
whether the session talks to PostgreSQL at all (the few statements that differ ask here).

``column IN (…)`` with a hundred values renders a hundred parameters into the statement each
time: SQLAlchemy spells them out, psycopg parses the long text again (it caches only short
statements), and the server parses and plans it again. That was a fifth of the reminder
worker's time preparing a batch. ``column = ANY(:values)`` is one array parameter: the same
short text every time, which psycopg prepares once on the server. SQLite has no arrays and
keeps ``IN``.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from meso.extensions import db


def on_postgresql() -> bool:
    """Whether the current session's database is PostgreSQL (else SQLite)."""
    return db.session.get_bind().dialect.name == "postgresql"


def among(column, values: Iterable) -> sa.ColumnElement[bool]:
    """``column`` is one of ``values`` (an empty list matches nothing)."""
    values = list(values)
    if on_postgresql():
        return column == sa.any_(sa.bindparam(None, values, type_=sa.ARRAY(column.type)))
    return column.in_(values)
