"""Accounts the platform refused: marked failing, their jobs stop, the operator sees a conflict.

An `AuthFailed` from any job marks the account (`failing_since`, `failure`: the error's one-line
message, which never holds secrets) and opens an `account_failing` conflict. The scheduler gives
a failing account no work but a periodic probe (`sync.jobs.probe_account`, a health check); a
probe, `marketsync account test` or any job that succeeds for the account clears the mark and
closes the conflict, and the account's pending stock is asked for again.
"""

from __future__ import annotations

from sqlalchemy import select

from mapping.conflicts import ConflictKind, ConflictStatus, close_conflict, find_open, open_conflict
from store import tables
from store.types import utcnow
from sync.hub.audit import audit
from sync.hub.context import Hub


def subject(account_id: int) -> str:
    return f"account_failing:{account_id}"


def mark_failing(hub: Hub, account_id: int, error: Exception) -> None:
    """Record that the platform refused the account's credentials (once; the latest reason kept)."""
    reason = str(error).splitlines()[0][:1000] if str(error) else type(error).__name__
    with hub.db.session() as session:
        account = session.get(tables.Account, account_id)
        if account is None:
            return
        first = account.failing_since is None
        account.failing_since = account.failing_since or utcnow()
        account.failure = reason
        open_conflict(session, ConflictKind.ACCOUNT_FAILING, subject(account_id),
                      evidence={"account": account.name, "platform": account.platform, "error": reason,
                                "since": account.failing_since.isoformat(),
                                "next": f"fix the credentials (`marketsync account update {account.name}`), "
                                        f"then `marketsync account test {account.name}`"},
                      account_id=account_id)
        if first:
            audit(session, "hub", "account.failing", f"account:{account.name}", {"error": reason})


def clear_failing(hub: Hub, account_id: int) -> bool:
    """The account works again: clear the mark and close its conflict. True when it was failing."""
    with hub.db.session() as session:
        account = session.get(tables.Account, account_id)
        if account is None or account.failing_since is None:
            return False
        account.failing_since, account.failure = None, None
        conflict = find_open(session, subject(account_id))
        if conflict is not None:
            close_conflict(session, conflict, status=ConflictStatus.RESOLVED, resolution="self", actor="hub",
                           note="the account works again")
        audit(session, "hub", "account.works_again", f"account:{account.name}")
    return True


def is_failing(hub: Hub, account_id: int) -> bool:
    with hub.db.reading() as session:
        return session.scalar(select(tables.Account.failing_since).where(tables.Account.id == account_id)) \
            is not None


def failing_accounts(hub: Hub) -> list[dict[str, str]]:
    """Failing accounts for `marketsync status`: name, platform, since, reason."""
    with hub.db.session() as session:
        rows = session.execute(select(tables.Account.name, tables.Account.platform, tables.Account.failing_since,
                                      tables.Account.failure).where(tables.Account.failing_since.is_not(None))
                               .order_by(tables.Account.name)).all()
    return [{"account": name, "platform": platform, "since": since.isoformat() if since else "", "error": failure or ""}
            for name, platform, since, failure in rows]
