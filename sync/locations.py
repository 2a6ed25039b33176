"""Hub locations (warehouses) and which hub location each account's channel location draws on.

Decision: an account publishes stock to one channel location (its *stock location*: the
connector's choice, usually the first active one) and its orders commit stock at the hub
location mapped to it. A fresh hub has one hub location, `default`; a channel location seen
for the first time maps to `default` until an operator maps it elsewhere.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import tables

DEFAULT_LOCATION = "default"


def hub_location(session: Session, code: str = DEFAULT_LOCATION, *, create: bool = True) -> tables.Location:
    location = session.scalar(select(tables.Location).where(tables.Location.code == code))
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
    ids = session.scalars(select(tables.ChannelLocation.location_id).where(
        tables.ChannelLocation.account_id == account_id, tables.ChannelLocation.location_id.is_not(None)
    ).distinct()).all()
    return sorted({int(i) for i in ids if i is not None}) or [hub_location(session).id]


def order_location_id(session: Session, account_id: int) -> int:
    """Where an account's orders commit stock: its first mapped hub location."""
    return account_hub_location_ids(session, account_id)[0]
