"""Credentials encrypted at rest with Fernet.

The key comes from `MARKETSYNC_SECRET_KEY`, else the workspace key file (created with
0600 permissions by `marketsync init`). Plain secrets never leave this module except to
the connector that needs them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from canonical.errors import MarketsyncError

ENV_KEY = "MARKETSYNC_SECRET_KEY"


class SecretKeyError(MarketsyncError):
    """The encryption key is missing, malformed, or not the one the secrets were saved with."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise SecretKeyError(
                f"the encryption key is malformed (expected a Fernet key); fix {ENV_KEY} or the key file"
            ) from None
        # A salt derived from the key, never stored: pseudonyms cannot be recomputed from the database alone.
        self._pseudonym_salt = hmac.new(key, b"marketsync pseudonym salt v1", hashlib.sha256).digest()

    @classmethod
    def load(cls, key_path: Path, *, create: bool = False) -> SecretBox:
        env = os.environ.get(ENV_KEY)
        if env:
            return cls(env.strip().encode())
        if key_path.exists():
            return cls(key_path.read_bytes().strip())
        if not create:
            raise SecretKeyError(f"no encryption key at {key_path}; run `marketsync init` or set {ENV_KEY}")
        key = Fernet.generate_key()
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        return cls(key)

    def pseudonym(self, value: str) -> str:
        """A stable salted hash of `value` (HMAC-SHA256, 32 hex characters): same input, same pseudonym."""
        return hmac.new(self._pseudonym_salt, value.encode(), hashlib.sha256).hexdigest()[:32]

    def seal(self, secrets: dict[str, str]) -> str:
        if not secrets:
            return ""
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def open(self, sealed: str, *, account: str = "") -> dict[str, str]:
        if not sealed:
            return {}
        try:
            data: dict[str, str] = json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken:
            raise SecretKeyError(
                f"cannot decrypt the credentials of account {account!r}: the encryption key is not the one "
                f"they were saved with; restore the original key file or {ENV_KEY}"
            ) from None
        return data
