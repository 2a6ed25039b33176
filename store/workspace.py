"""The workspace folder: SQLite database, encryption key and embedded Redis live here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from store.db import Database
from store.secrets import SecretBox
from store.settings import Settings


@dataclass
class Workspace:
    settings: Settings

    @property
    def home(self) -> Path:
        return Path(self.settings.workspace.home).expanduser().resolve()

    @property
    def database_url(self) -> str:
        return self.settings.database.url or f"sqlite:///{self.home / 'marketsync.db'}"

    @property
    def redis_path(self) -> Path:
        return self.home / "redis.db"

    @property
    def key_path(self) -> Path:
        return self.home / "secret.key"

    def ensure(self) -> None:
        """Create the folder (0700) if it does not exist."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)

    def database(self) -> Database:
        if not self.settings.database.url:
            self.ensure()
        return Database(self.database_url, busy_timeout_ms=self.settings.database.busy_timeout_ms)

    def secret_box(self, *, create: bool = False) -> SecretBox:
        if create:
            self.ensure()
        return SecretBox.load(self.key_path, create=create)
