"""Personal data at rest: CPR numbers are stored encrypted (AES-256-GCM) under the data key
from `FASTHOLD_DATA_KEY`, with a keyed hash (HMAC-SHA256) to find a number without
decrypting. A leaf module: it knows nothing of the database or the environment.

A ciphertext is `v1.<key id>.<base64url(nonce | ciphertext | tag)>`: the key id (derived
from the key, never the key itself) says which key decrypts it, so values under an old and a
new key coexist while keys are rotated (`fasthold datakey rotate`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_ENV = "FASTHOLD_DATA_KEY"
PREVIOUS_KEYS_ENV = "FASTHOLD_DATA_KEY_PREVIOUS"
KEY_BYTES = 32
VERSION = "v1"
_NONCE_BYTES = 12
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
MAKE_ONE = "make one with `fasthold datakey new`"


class DataKeyError(ValueError):
    """The data key is missing or malformed, or a value cannot be decrypted with the keys
    given. The message names the environment variable; it never holds a key or a value."""


def new_data_key() -> str:
    """32 random bytes, base64url-encoded: a value for FASTHOLD_DATA_KEY."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(key: bytes, purpose: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                info=b"fasthold " + purpose).derive(key)


@dataclass(frozen=True)
class DataKey:
    """One 256-bit data key with what is derived from it: its public id, the hash key."""

    key: bytes = field(repr=False)
    id: str = field(init=False)
    lookup_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise DataKeyError(f"a data key is {KEY_BYTES} bytes, not {len(self.key)}")
        key_id = base64.urlsafe_b64encode(_derive(self.key, b"key id", 6)).decode("ascii")
        object.__setattr__(self, "id", key_id)
        object.__setattr__(self, "lookup_key", _derive(self.key, b"lookup hash"))

    @classmethod
    def parse(cls, text: str, name: str = KEY_ENV) -> DataKey:
        """A key as written in the environment variable `name` (base64url, 32 bytes)."""
        text = text.strip()
        if not text:
            raise DataKeyError(f"{name} is not set: it must hold {KEY_BYTES} random bytes, "
                               f"base64url-encoded ({MAKE_ONE})")
        try:
            if not _BASE64URL.match(text):
                raise ValueError
            raw = _b64decode(text)
        except (ValueError, binascii.Error):
            raise DataKeyError(f"{name} is not base64url text: it must hold {KEY_BYTES} "
                               f"random bytes, base64url-encoded ({MAKE_ONE})") from None
        if len(raw) != KEY_BYTES:
            raise DataKeyError(f"{name} holds {len(raw)} bytes, not {KEY_BYTES}: it must "
                               f"hold {KEY_BYTES} random bytes, base64url-encoded ({MAKE_ONE})")
        return cls(raw)


class DataCipher:
    """Encrypts under the current key; decrypts under the current or any previous key."""

    def __init__(self, current: DataKey, previous: Sequence[DataKey] = ()) -> None:
        self.current = current
        self.keys = {k.id: k for k in (*previous, current)}
        self._aead = {k.id: AESGCM(k.key) for k in self.keys.values()}

    @classmethod
    def from_env_values(cls, current: str, previous: str = "") -> DataCipher:
        """From FASTHOLD_DATA_KEY and FASTHOLD_DATA_KEY_PREVIOUS (comma-separated keys that
        are still accepted for reading while a rotation is under way)."""
        old = [DataKey.parse(p, PREVIOUS_KEYS_ENV) for p in previous.split(",") if p.strip()]
        return cls(DataKey.parse(current, KEY_ENV), old)

    @property
    def key_id(self) -> str:
        return self.current.id

    def encrypt(self, plain: str, purpose: str) -> str:
        """A fresh ciphertext of `plain` (a new random nonce each time), bound to `purpose`
        (e.g. "cases.cpr") so that it cannot pass for another field's value."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead[self.current.id].encrypt(nonce, plain.encode("utf-8"),
                                                     purpose.encode("utf-8"))
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{VERSION}.{self.current.id}.{body}"

    def decrypt(self, token: str, purpose: str) -> str:
        key_id = key_id_of(token)
        aead = self._aead.get(key_id)
        if aead is None:
            raise DataKeyError(f"a stored value was encrypted under data key {key_id!r}, "
                               f"which is neither {KEY_ENV} nor in {PREVIOUS_KEYS_ENV}")
        raw = _b64decode(token.split(".", 2)[2])
        try:
            plain = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:],
                                 purpose.encode("utf-8"))
        except InvalidTag:
            raise DataKeyError(f"a stored value under data key {key_id!r} does not "
                               "decrypt: it was changed, or belongs to another field") from None
        return plain.decode("utf-8")

    def lookup_hash(self, plain: str) -> str:
        """HMAC-SHA256 under a key derived from the current data key: equal values, equal
        hashes, so a value can be found (or kept unique) without decrypting every row."""
        return self._hash(self.current, plain)

    def lookup_hashes(self, plain: str) -> list[str]:
        """The value's hash under every key known (rows not yet rotated keep the old one)."""
        return [self._hash(k, plain) for k in self.keys.values()]

    @staticmethod
    def _hash(key: DataKey, plain: str) -> str:
        return hmac.new(key.lookup_key, plain.encode("utf-8"), hashlib.sha256).hexdigest()


def is_ciphertext(value: str) -> bool:
    return value.startswith(VERSION + ".") and value.count(".") == 2


def key_id_of(token: str) -> str:
    """The id of the key a ciphertext was made with."""
    if not is_ciphertext(token):
        raise DataKeyError("a stored value is not a ciphertext of this service")
    return token.split(".", 2)[1]
