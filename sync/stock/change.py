"""A stock change as one explicit unit of work.

Whatever moves stock — an order, a shipment, a return, a receipt, an adjustment, a link —
does it through a `StockChange`: its movements go to the ledger in the caller's transaction,
the variants they touched are collected, and `settle()` recomputes the desired quantity of
every listing of those variants with the settings the change was given (and opens or closes
their `oversold` conflicts), returning the accounts that need a stock push. Nothing is
registered anywhere and nothing reads a global: the caller commits, then enqueues exactly
those accounts (`stock_change` does both).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from store.memo import remembering
from store.settings import Settings
from sync.hub.context import Hub
from sync.stock import desired, oversold
from sync.stock.batch import apply_movements
from sync.stock.ledger import Movement, apply_movement
from sync.stock.push_queue import enqueue_drains, plan_drains


@dataclass
class StockChange:
    """Movements of one transaction, and what they mean for the channels once settled."""

    session: Session
    settings: Settings
    variant_ids: set[int] = field(default_factory=set)
    accounts: set[int] = field(default_factory=set)  # accounts made pending without a recompute

    def move(self, movement: Movement) -> bool:
        """Apply `movement` once per key (False for a repeat); its variant is recomputed at settle."""
        applied = apply_movement(self.session, movement)
        if applied:
            self.variant_ids.add(movement.variant_id)
        return applied

    def move_many(self, movements: Sequence[Movement]) -> list[Movement]:
        """Apply many movements in a few statements (`sync.stock.batch`); returns those recorded."""
        recorded = apply_movements(self.session, movements)
        self.variant_ids.update(m.variant_id for m in recorded)
        return recorded

    def touch(self, variant_ids: Iterable[int | None]) -> None:
        """Recompute these variants at settle although no movement changed them (a link, a rule)."""
        self.variant_ids.update(v for v in variant_ids if v is not None)

    def channel_sold(self, listing_id: int, quantity: int) -> None:
        """The origin channel lowered its own number by `quantity` (see `desired.channel_sold`)."""
        self._note(desired.channel_sold(self.session, listing_id, quantity))

    def channel_restocked(self, listing_id: int, quantity: int) -> None:
        """The origin channel raised its own number by `quantity`."""
        self._note(desired.channel_restocked(self.session, listing_id, quantity))

    def need_push(self, account_ids: Iterable[int]) -> None:
        """These accounts have pending listings for a reason of the caller's (a drift revert)."""
        self.accounts.update(account_ids)

    def _note(self, account_id: int | None) -> None:
        if account_id is not None:
            self.accounts.add(account_id)

    def settle(self) -> set[int]:
        """Recompute the touched variants' listings in this transaction; the accounts to push.

        Safe to call more than once: each call recomputes what was touched since the last one."""
        touched, self.variant_ids = self.variant_ids, set()
        pending, self.accounts = self.accounts, set()
        oversold.check(self.session, touched)
        return pending | desired.recompute_desired(self.session, self.settings, touched)


@contextmanager
def stock_change(hub: Hub, *, remember: bool = False) -> Iterator[StockChange]:
    """One transaction with a stock change in it: settled, its pushes requested and committed, then
    their jobs enqueued. The claims of the accounts to push are marked in the same transaction
    (`push_queue.plan_drains`): a request for a push was a second write transaction per change.

    `remember`: the caller changes no reference rows (kits, variant settings, location mappings;
    a location it creates is found again), so each is read once for the whole transaction, settle
    included (`store.memo`)."""
    with hub.db.session() as session, (remembering(session) if remember else nullcontext()):
        change = StockChange(session, hub.settings)
        yield change
        accounts = change.settle()
        to_enqueue = plan_drains(hub, session, accounts) if accounts else []
    enqueue_drains(hub, to_enqueue)
