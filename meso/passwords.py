"""Staff password hashing with argon2id (argon2-cffi's defaults follow RFC 9106)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

# Staff passwords, wherever they are set (the set-password page, `staff create`).
MIN_LENGTH = 10

PRODUCTION_PARAMETERS = RFC_9106_LOW_MEMORY  # argon2id, 64 MiB, 3 passes (tests use less)
_hasher = PasswordHasher.from_parameters(PRODUCTION_PARAMETERS)
# Verified against when the email is unknown, so a sign-in takes as long either way. Made
# with the first such sign-in, not at import: every process (each gunicorn worker, the
# reminder worker, each CLI command) would otherwise spend a 64 MiB hash starting up.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not-a-real-password")
    return _DUMMY_HASH


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """Return whether ``password`` matches; compare against a dummy hash when there is none."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
