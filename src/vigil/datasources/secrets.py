"""Secrets at rest: AES-256-GCM with a key derived (HKDF-SHA256) from ``[security] secret_key``.

Every replica shares the secret key, so any replica decrypts what another stored. A token is
``v1:`` + urlsafe base64 of a 12-byte random nonce followed by the ciphertext and tag. The field
name (or any caller-chosen context string) is bound as associated data, so a ciphertext copied
from one field to another does not decrypt.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v1:"


class SecretError(Exception):
    """A stored secret cannot be decrypted (wrong secret_key or tampered data)."""


class SecretBox:
    def __init__(self, secret_key: str, purpose: str = "vigil secrets at rest") -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"vigil-secret-box", info=purpose.encode()
        ).derive(secret_key.encode("utf-8"))
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, context: str = "") -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str, context: str = "") -> str:
        if not token.startswith(PREFIX):
            raise SecretError("unknown secret format")
        try:
            raw = base64.urlsafe_b64decode(token[len(PREFIX) :].encode("ascii"))
            return self._aead.decrypt(raw[:12], raw[12:], context.encode("utf-8")).decode("utf-8")
        except (InvalidTag, ValueError) as exc:
            raise SecretError("secret cannot be decrypted: is [security] secret_key the same?") from exc

    def encrypt_map(self, values: dict[str, str], scope: str = "") -> dict[str, str]:
        return {k: self.encrypt(v, f"{scope}{k}") for k, v in values.items()}

    def decrypt_map(self, tokens: dict[str, str], scope: str = "") -> dict[str, str]:
        return {k: self.decrypt(v, f"{scope}{k}") for k, v in tokens.items()}
