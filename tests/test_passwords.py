"""Staff passwords: argon2id with production-strength parameters, constant-shape checks."""

from __future__ import annotations

from meso import passwords


def test_production_hasher_is_argon2id_with_rfc_9106_low_memory_parameters():
    params = passwords.PRODUCTION_PARAMETERS
    assert (params.type.name, params.memory_cost, params.time_cost) == ("ID", 65536, 3)


def test_hash_and_check():
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert passwords.check_password(stored, "correct horse battery") is True
    assert passwords.check_password(stored, "wrong horse battery") is False


def test_missing_or_broken_hash_never_matches():
    assert passwords.check_password(None, "not-a-real-password") is False
    assert passwords.check_password("not a hash", "anything") is False
