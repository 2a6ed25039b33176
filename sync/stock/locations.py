"""Hub locations (warehouses) and which hub location each account's channel location draws on.

Decision: an account publishes stock to one channel location (its *stock location*: the
connector's choice, usually the first active one) and its orders commit stock at the hub
location mapped to it. A fresh hub has one hub location, `default`; a channel location seen
for the first time maps to `default` until an operator maps it elsewhere.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonical.errors import MarketsyncError
from store import tables
from store.memo import recall

DEFAULT_LOCATION = "default"


def hub_location(session: Session, code: str = DEFAULT_LOCATION, *, create: bool = True) -> tables.Location:
    location = recall(session, ("location", code),
                      lambda: session.scalar(select(tables.Location).where(tables.Location.code == code)))
    if location is None:
        if not create:
            codes = session.scalars(select(tables.Location.code).order_by(tables.Location.code)).all()
            raise LookupError(f"no hub location {code!r}; locations: {', '.join(codes) or 'none'}")
        location = tables.Location(code=code, name=code)
        session.add(location)
        session.flush()
    return location


def channel_location(session: Session, account_id: int, external_id: str, name: str = "") -> tables.ChannelLocation:
    """The row for an account's channel location, created (mapped to `default`) when new."""
    row = session.scalar(select(tables.ChannelLocation).where(
        tables.ChannelLocation.account_id == account_id, tables.ChannelLocation.external_id == external_id))
    if row is None:
        row = tables.ChannelLocation(account_id=account_id, external_id=external_id, name=name,
                                     location_id=hub_location(session).id)
        session.add(row)
        session.flush()
    return row


def account_hub_location_ids(session: Session, account_id: int) -> list[int]:
    """The hub locations an account sells from (its mapped channel locations; else `default`)."""
    def load() -> list[int]:
        ids = session.scalars(select(tables.ChannelLocation.location_id).where(
            tables.ChannelLocation.account_id == account_id, tables.ChannelLocation.location_id.is_not(None)
        ).distinct()).all()
        return sorted({int(i) for i in ids if i is not None}) or [hub_location(session).id]

    return list(recall(session, ("account_locations", account_id), load))


def order_location_id(session: Session, account_id: int) -> int:
    """Where an account's orders commit stock: its first mapped hub location."""
    return account_hub_location_ids(session, account_id)[0]


class LocationError(MarketsyncError):
    """A location command was refused; the message says why and what to do."""


def list_locations(session: Session) -> list[dict[str, object]]:
    """Hub locations with the channel locations mapped to each (and the unmapped ones)."""
    accounts = dict(session.execute(select(tables.Account.id, tables.Account.name)).all())
    mapped: dict[int | None, list[dict[str, object]]] = {}
    for row in session.scalars(select(tables.ChannelLocation).order_by(tables.ChannelLocation.id)):
        mapped.setdefault(row.location_id, []).append(
            {"account": accounts.get(row.account_id, str(row.account_id)), "channel_location_id": row.external_id,
             "name": row.name})
    rows: list[dict[str, object]] = [
        {"code": loc.code, "name": loc.name, "channel_locations": mapped.get(loc.id, [])}
        for loc in session.scalars(select(tables.Location).order_by(tables.Location.code))]
    if mapped.get(None):
        rows.append({"code": None, "name": "(not used)", "channel_locations": mapped[None]})
    return rows


def add_location(session: Session, code: str, name: str | None = None) -> tables.Location:
    code = code.strip()
    if not code or len(code) > 100 or any(c.isspace() for c in code):
        raise LocationError(f"location code {code!r} is invalid; use a short code without spaces, e.g. 'berlin'")
    if session.scalar(select(tables.Location).where(tables.Location.code == code)):
        raise LocationError(f"hub location {code!r} already exists; see `marketsync locations list`")
    location = tables.Location(code=code, name=name or code)
    session.add(location)
    session.flush()
    return location


def map_channel_location(session: Session, account_id: int, external_id: str, code: str) -> tables.ChannelLocation:
    """Point an account's channel location at hub location `code` (`none` = do not use it)."""
    row = channel_location(session, account_id, external_id)
    if code.lower() == "none":
        row.location_id = None
    else:
        try:
            row.location_id = hub_location(session, code, create=code == DEFAULT_LOCATION).id
        except LookupError as exc:
            raise LocationError(f"{exc}; add it with `marketsync locations add {code}`") from None
    session.flush()
    return row
