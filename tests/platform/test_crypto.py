"""The data cipher: AES-GCM under FASTHOLD_DATA_KEY, a key id with every ciphertext, old keys
read during a rotation, a keyed lookup hash, and messages that name the variable, never a
key."""

from __future__ import annotations

import base64

import pytest

from service.platform.crypto import (
    DataCipher,
    DataKey,
    DataKeyError,
    is_ciphertext,
    key_id_of,
    new_data_key,
)

CPR = "0101901234"


def test_round_trip_with_a_fresh_nonce_and_the_key_id() -> None:
    cipher = DataCipher.from_env_values(new_data_key())
    first, second = cipher.encrypt(CPR, "cases.cpr"), cipher.encrypt(CPR, "cases.cpr")
    assert first != second and CPR not in first and "010190" not in first
    assert is_ciphertext(first) and key_id_of(first) == cipher.key_id
    assert cipher.decrypt(first, "cases.cpr") == cipher.decrypt(second, "cases.cpr") == CPR


def test_a_changed_ciphertext_another_field_or_an_unknown_key_is_refused() -> None:
    cipher = DataCipher.from_env_values(new_data_key())
    token = cipher.encrypt(CPR, "cases.cpr")
    body = token.rsplit(".", 1)[1]
    flipped = token[: -len(body)] + ("A" if body[0] != "A" else "B") + body[1:]
    for bad, purpose in ((flipped, "cases.cpr"), (token, "cases.other")):
        with pytest.raises(DataKeyError):
            cipher.decrypt(bad, purpose)
    other = DataCipher.from_env_values(new_data_key())
    with pytest.raises(DataKeyError, match="FASTHOLD_DATA_KEY_PREVIOUS"):
        other.decrypt(token, "cases.cpr")
    with pytest.raises(DataKeyError):
        cipher.decrypt(CPR, "cases.cpr")  # a plain value is not a ciphertext


def test_old_and_new_keys_coexist_during_a_rotation() -> None:
    old, new = new_data_key(), new_data_key()
    before = DataCipher.from_env_values(old)
    during = DataCipher.from_env_values(new, old)
    old_token = before.encrypt(CPR, "cases.cpr")
    new_token = during.encrypt(CPR, "cases.cpr")
    assert key_id_of(old_token) != key_id_of(new_token) == during.key_id
    assert during.decrypt(old_token, "cases.cpr") == during.decrypt(new_token, "cases.cpr")
    # The lookup hash: equal numbers, equal hashes; under every key still known.
    assert during.lookup_hash(CPR) == during.lookup_hash("0101901234") != \
        during.lookup_hash("0101901235")
    assert before.lookup_hash(CPR) in during.lookup_hashes(CPR)
    assert CPR not in during.lookup_hash(CPR)


@pytest.mark.parametrize(("value", "words"), [
    ("", "is not set"),
    ("   ", "is not set"),
    ("c2hvcnQ", "holds 5 bytes"),
    (base64.b64encode(b"\xfb" * 32).decode(), "not base64url"),  # '+' and '/' are not url-safe
    ("not a key!", "not base64url"),
    (base64.urlsafe_b64encode(b"k" * 33).decode(), "holds 33 bytes"),
])
def test_a_missing_or_malformed_key_names_the_variable_not_the_value(value: str,
                                                                     words: str) -> None:
    with pytest.raises(DataKeyError) as caught:
        DataCipher.from_env_values(value)
    message = str(caught.value)
    assert "FASTHOLD_DATA_KEY" in message and words in message
    assert "fasthold datakey new" in message
    if value.strip():
        assert value.strip() not in message
    with pytest.raises(DataKeyError, match="FASTHOLD_DATA_KEY_PREVIOUS"):
        DataCipher.from_env_values(new_data_key(), f"{new_data_key()},{value.strip() or 'x'}")


def test_keys_with_or_without_padding_are_the_same_key() -> None:
    key = new_data_key()
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert DataKey.parse(key).id == DataKey.parse(key.rstrip("=")).id
    assert DataKey.parse(key).id != DataKey.parse(new_data_key()).id
    assert key not in repr(DataKey.parse(key))
