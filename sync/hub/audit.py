"""The audit log: who did what, when, and why."""

from __future__ import annotations

import getpass
import os
from typing import Any

from sqlalchemy.orm import Session

from store import tables


def current_user() -> str:
    """The OS user running the command (or MARKETSYNC_ACTOR when set by a wrapper)."""
    try:
        return os.environ.get("MARKETSYNC_ACTOR") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def audit(session: Session, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
    session.add(tables.AuditEntry(actor=actor, action=action, subject=subject, detail=detail or {}))
