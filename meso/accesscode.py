"""Access codes: how a patient gets back in from the installed app without a new link.

On iOS the home-screen app does not share Safari's cookies, so the invite link's device cookie
is not there. The patient types a short code instead, shown on their Today and printed card.

A code is ``LLLL-SSS-SSS``: a 4-character public *locator* (which patient, and the key for
rate-limiting guesses at that patient) and a 6-character *secret*. The secret is derived from
SECRET_KEY, the patient id and a random salt, so the database alone cannot give it away (no
short-code hash to brute-force offline), while the app can still show it. Rotating the code
replaces both parts. 31^6 secrets with at most LOCATOR_LIMIT wrong tries an hour per locator
and CLIENT_LIMIT per address make guessing hopeless; wrong codes, unknown locators and
archived patients all get the same answer, so /open never says whether a patient exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from meso import ratelimit
from meso.extensions import db
from meso.models import AccessCode, Patient

# No 0/O, 1/I/L: nothing a patient can misread on a card.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LOCATOR_LEN = 4
SECRET_LEN = 6
CODE_LEN = LOCATOR_LEN + SECRET_LEN
LOCATOR_LIMIT = (8, timedelta(hours=1))  # wrong tries per locator (≈ per patient)
CLIENT_LIMIT = (10, timedelta(minutes=15))  # wrong tries per client address


def issue(patient: Patient) -> str:
    """Give the patient a new code (the old one stops working) and return it."""
    locator, salt = _free_locator(), secrets.token_hex(16)
    row = db.session.get(AccessCode, patient.id)
    if row is None:
        row = AccessCode(patient_id=patient.id)
        db.session.add(row)
    row.locator, row.salt = locator, salt
    db.session.flush()
    return display(row.locator + _secret(patient.id, row.salt))


def code_for(patient: Patient) -> str | None:
    """Return the patient's current code for display, or None if they have none yet."""
    row = db.session.get(AccessCode, patient.id)
    if row is None:
        return None
    return display(row.locator + _secret(patient.id, row.salt))


def ensure(patient: Patient) -> str:
    return code_for(patient) or issue(patient)


def display(code: str) -> str:
    """'ABCD-EFG-HJK': groups a person can read out and type."""
    return f"{code[:4]}-{code[4:7]}-{code[7:]}"


def normalise(text: str) -> str | None:
    """Return the code as typed without spaces or dashes, upper-case; None if malformed."""
    code = "".join(ch for ch in (text or "").upper() if ch not in " -\t")
    if len(code) != CODE_LEN or any(ch not in ALPHABET for ch in code):
        return None
    return code


@dataclass(frozen=True)
class Attempt:
    patient: Patient | None
    retry_after: int | None = None  # seconds to wait, when the client or locator is limited

    @property
    def limited(self) -> bool:
        return self.retry_after is not None


def check(text: str, client: str, now: datetime) -> Attempt:
    """Check a typed code from a client address; count the failure if it is wrong.

    The caller commits in every case, so failures are counted even though nothing else
    changes.
    """
    code = normalise(text)
    keys = [ratelimit.client_key(client)] + ([f"code:{code[:LOCATOR_LEN]}"] if code else [])
    limits = [CLIENT_LIMIT] + ([LOCATOR_LIMIT] if code else [])
    wait = ratelimit.retry_after(list(zip(keys, limits, strict=True)), now)
    if wait is not None:
        return Attempt(None, retry_after=wait)
    patient = _match(code) if code else None
    if patient is None:
        for key, limit in zip(keys, limits, strict=True):
            ratelimit.count_failure(key, limit, now)
        return Attempt(None)
    return Attempt(patient)


def _match(code: str) -> Patient | None:
    row = db.session.scalar(sa.select(AccessCode).where(AccessCode.locator == code[:LOCATOR_LEN]))
    # Compare a secret either way, so a known locator takes no longer than an unknown one.
    expected = _secret(row.patient_id, row.salt) if row else _secret(0, "none")
    if not hmac.compare_digest(expected, code[LOCATOR_LEN:]) or row is None:
        return None
    patient = db.session.get(Patient, row.patient_id)
    return None if patient is None or patient.archived_at is not None else patient


def _secret(patient_id: int, salt: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"access-code:{patient_id}:{salt}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")  # 256 bits: the modulo bias is negligible
    chars = []
    for _ in range(SECRET_LEN):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars)


def _free_locator() -> str:
    for _ in range(20):
        locator = "".join(secrets.choice(ALPHABET) for _ in range(LOCATOR_LEN))
        if not db.session.scalar(sa.select(AccessCode.locator).where(
                AccessCode.locator == locator)):
            return locator
    raise RuntimeError("no free access-code locator")  # 923,521 of them: not in this life
