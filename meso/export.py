"""Everything stored about a patient, as a ZIP: one JSON file and their photos.

The data is gathered by walking from the one patient key (meso/patient_rows.py): every table
whose rows lead to the patient, every column, except what is a secret (token and invite
hashes, an access code's salt, a push subscription's keys) or another person's (a staff
member's e-mail address or account). Photos go in as files; the JSON names each one.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from meso.extensions import db
from meso.models import Patient, Photo
from meso.patient_rows import owned_rows

FORMAT = "meso-aftercare-export"
VERSION = 1
JSON_NAME = "aftercare-data.json"

# Columns left out of the export, by table: secrets that would let someone in (or that are
# meaningless without the server's key), and other people's data.
LEFT_OUT = {
    "patient": {"invite_hash"},
    "patient_device": {"token_hash"},
    "access_code": {"locator", "salt"},  # together with SECRET_KEY they are the code
    "push_subscription": {"endpoint", "p256dh", "auth"},  # the browser's push credentials
    # E-mails to staff about the patient: when and whether sent, not the colleague's address
    # (nor the body and key, which name staff accounts).
    "outbound_email": {"to_address", "body", "dedupe_key"},
    "check_in": {"acknowledged_by_id"},
    # With SECRET_KEY it makes the confirmation link (meso/patient_email.py).
    "email_confirmation": {"nonce"},  # which staff account: a colleague's data
    "audit_event": {"staff_user_id"},
    "photo": {"data", "thumbnail"},  # in the ZIP as files instead
}
# Whatever table a column is in, these words in its name mean it is never exported.
SECRET_WORDS = ("hash", "token", "salt", "secret", "password")


def exported_columns(table: sa.Table) -> list[sa.Column]:
    left_out = LEFT_OUT.get(table.name, set())
    return [
        column for column in table.columns
        if column.name not in left_out
        and not any(word in column.name for word in SECRET_WORDS)
        and not isinstance(column.type, sa.LargeBinary)
    ]


def plain(value: Any) -> Any:
    """A column's value as JSON: instants and dates in ISO 8601 (instants in UTC)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value


def photo_file(photo_row: dict) -> str:
    """The photo's name inside the ZIP: its session, its day and its id, in order."""
    return (f"photos/session-{photo_row['session_number']}_{photo_row['local_date']}"
            f"_{photo_row['id']}.jpg")


def patient_data(patient: Patient, now: datetime) -> dict:
    """Everything stored about the patient, as JSON-ready data: {table name: [rows]}."""
    tables: dict[str, list[dict]] = {}
    for owned in owned_rows(patient.id):
        columns = exported_columns(owned.table)
        rows = db.session.execute(
            sa.select(*columns).where(owned.where)
            .order_by(*owned.table.primary_key.columns)).mappings()
        tables[owned.table.name] = [{k: plain(v) for k, v in row.items()} for row in rows]
    for row in tables.get("photo", []):
        row["file"] = photo_file(row)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now.isoformat(),
        "clinic": {"name": patient.clinic.name, "phone": patient.clinic.phone},
        "tables": tables,
    }


def entry(name: str, stamp: tuple) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, stamp)
    info.external_attr = 0o644 << 16  # readable files once unpacked (the default is no access)
    return info


def zip_bytes(patient: Patient, now: datetime) -> bytes:
    """The export as a ZIP: the JSON, then each photo as a JPEG (already without metadata)."""
    data = patient_data(patient, now)
    out = io.BytesIO()
    stamp = now.timetuple()[:6]
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(entry(JSON_NAME, stamp),
                         json.dumps(data, ensure_ascii=False, indent=2),
                         compress_type=zipfile.ZIP_DEFLATED)
        for row in data["tables"].get("photo", []):
            jpeg = db.session.scalar(sa.select(Photo.data).where(Photo.id == row["id"]))
            archive.writestr(entry(row["file"], stamp), jpeg or b"",
                             compress_type=zipfile.ZIP_STORED)  # JPEG: compressed already
    return out.getvalue()


def download(body: bytes, filename: str) -> tuple[bytes, int, dict[str, str]]:
    """The ZIP as a view's answer: a download that no cache keeps (it is all of someone's
    health data)."""
    return body, 200, {
        "Content-Type": "application/zip",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store",
    }
