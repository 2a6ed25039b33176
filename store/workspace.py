"""The workspace folder: SQLite database, encryption key and embedded Redis live here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from canonical.errors import MarketsyncError
from store.db import Database
from store.settings import Settings

if TYPE_CHECKING:
    from store.secrets import SecretBox


def private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if missing, and take group and other bits off if present.

    SQLite gives its -wal and -shm files the database file's mode, so they follow.
    """
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


class WorkspaceError(MarketsyncError):
    """The workspace folder cannot be created or written."""


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
        """Create the folder (0700) if it does not exist; WorkspaceError when it cannot be used."""
        home = self.home
        try:
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not os.access(home, os.W_OK | os.X_OK):
                raise PermissionError(13, "Permission denied")
        except FileExistsError:
            raise WorkspaceError(f"the workspace {home} is a file, not a folder; point MARKETSYNC_HOME (or "
                                 "--home) at a folder") from None
        except OSError as exc:
            raise WorkspaceError(f"the workspace folder {home} cannot be used ({exc.strerror or exc}); point "
                                 "MARKETSYNC_HOME (or --home) at a folder you can write") from None

    def database(self) -> Database:
        if not self.settings.database.url:
            self.ensure()
            try:
                private_file(self.home / "marketsync.db")
            except OSError as exc:
                raise WorkspaceError(f"cannot create the database in {self.home} ({exc.strerror or exc}); point "
                                     "MARKETSYNC_HOME (or --home) at a folder you can write") from None
        return Database(self.database_url, busy_timeout_ms=self.settings.database.busy_timeout_ms)

    def secret_box(self, *, create: bool = False) -> SecretBox:
        from store.secrets import SecretBox  # the cipher (~0.07 CPU-s to import) only where a secret is read

        if create:
            self.ensure()
        return SecretBox.load(self.key_path, create=create)
