"""Staff password hashing with argon2id (argon2-cffi's defaults follow RFC 9106)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

# Staff passwords, wherever they are set (the set-password page, `staff create`).
MIN_LENGTH = 10

PRODUCTION_PARAMETERS = RFC_9106_LOW_MEMORY  # argon2id, 64 MiB, 3 passes (tests use less)
_hasher = PasswordHasher.from_parameters(PRODUCTION_PARAMETERS)
# Verified against when the email is unknown, so a sign-in takes as long either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """Return whether ``password`` matches; compare against a dummy hash when there is none."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
