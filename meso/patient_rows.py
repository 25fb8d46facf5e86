"""Every row that is one patient's, found from the schema rather than listed by hand.

A row is the patient's when a foreign key leads from it to patient.id, directly (a check-in's
patient_id) or through another of the patient's rows (a session's course_id, a push
subscription's device_id, a photo's check_in_id). Export (meso/export.py) and erasure
(meso/erasure.py) both walk this, so a table added later that hangs off a patient is exported
and erased without anyone having to remember it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from meso.extensions import db


@dataclass(frozen=True)
class OwnedRows:
    """The rows of ``table`` that are the patient's: ``table.select().where(where)``."""

    table: sa.Table
    where: sa.ColumnElement[bool]


def owned_rows(patient_id: int) -> list[OwnedRows]:
    """The patient's rows in every table, patient first, each table after those it refers to
    (so children come last: delete in reverse)."""
    patient = db.metadata.tables["patient"]
    owned: dict[str, OwnedRows] = {"patient": OwnedRows(patient, patient.c.id == patient_id)}
    for table in db.metadata.sorted_tables:  # parents before children
        if table.name in owned:
            continue
        leads = []
        for fk in table.foreign_keys:
            parent = owned.get(fk.column.table.name)
            if parent is None or parent.table is table:
                continue
            if parent.table is patient and fk.column is patient.c.id:
                leads.append(fk.parent == patient_id)
            else:
                leads.append(fk.parent.in_(sa.select(fk.column).where(parent.where)))
        if leads:
            owned[table.name] = OwnedRows(table, sa.or_(*leads))
    return list(owned.values())
