"""Password hashing with argon2id, and the secret tokens Vigil hands out."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import zlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_ALPHABET = string.ascii_letters + string.digits


class Passwords:
    """argon2id with the cost from [security]; hashes made with another cost still verify."""

    def __init__(self, memory_kib: int = 65536, iterations: int = 3) -> None:
        self._hasher = PasswordHasher(time_cost=iterations, memory_cost=memory_kib, parallelism=2)
        # A real hash of a random password, verified for unknown logins so timing does not tell.
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy, password) and bool(stored)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def new_service_account_token() -> str:
    """``glsa_`` + 32 random letters and digits (190 bits) + ``_`` + CRC32 checksum, like Grafana's."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(32))
    return f"glsa_{body}_{zlib.crc32(body.encode()):08x}"


def token_hash(token: str) -> str:
    """Service-account tokens carry enough entropy that a plain SHA-256 is the right storage."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(secret_key: str, token: str) -> str:
    """Session tokens are stored as HMAC-SHA256 keyed with [security] secret_key."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def new_uid(length: int = 14) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
