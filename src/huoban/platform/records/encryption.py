"""Encryption at rest for sensitive fields, with key rotation.

Keys come from HUOBAN_ENCRYPTION_KEYS (comma-separated Fernet keys). New writes use the first
key; every listed key still decrypts, so rotation is: prepend a new key, run
`huoban reencrypt`, then drop the old key. Without configured keys a key is derived from the
secret key (fine for a laptop; set real keys in production — docs/operations.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PREFIX = "enc1:"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        derived = base64.urlsafe_b64encode(
            hashlib.sha256(("huoban-enc:" + settings.SECRET_KEY).encode()).digest()
        )
        keys = (derived.decode(),)
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return PREFIX + fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value.startswith(PREFIX):
        return value  # plain value written before encryption was enabled
    try:
        return fernet().decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt value: key missing from HUOBAN_ENCRYPTION_KEYS") from exc


def rotate(value: str) -> str:
    """Re-encrypt a stored value with the first (newest) key."""
    if not value.startswith(PREFIX):
        return encrypt(value)
    return PREFIX + fernet().rotate(value[len(PREFIX) :].encode()).decode()


def blind_index(value: str) -> str:
    """Keyed hash of a normalised value, for exact-match lookups on encrypted data."""
    key = hashlib.sha256(("huoban-bidx:" + settings.SECRET_KEY).encode()).digest()
    return hmac.new(key, value.strip().upper().encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Stores ciphertext, returns plaintext to Python code. Never filter on it (use a blind index)."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))


def mask(value: str | None, kind: str = "default") -> str:
    """138****5678 style masking: keep a short head and tail, star the middle."""
    if not value:
        return value or ""
    v = str(value)
    if kind == "email" and "@" in v:
        name, domain = v.split("@", 1)
        return (name[:1] + "***@" + domain) if name else "***@" + domain
    n = len(v)
    if n <= 4:
        return "*" * n
    if n <= 8:
        return v[:1] + "*" * (n - 2) + v[-1:]
    head = 3 if n < 15 else 4
    tail = 4
    return v[:head] + "*" * (n - head - tail) + v[-tail:]
