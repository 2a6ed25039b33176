"""hot levels: free space in the pages of stock_levels and listings (PostgreSQL), for in-place updates

Revision ID: 0021_hot_levels
Revises: 0020_engine

A receipt, an import or a burst of orders rewrites the level rows it moves and the listings whose
desired quantity follows. With full pages PostgreSQL writes each new row version to another page
and adds it to every index of the table (3 for stock_levels, 5 for listings, the unique ones checked
against the old version): a 10,000-row receipt spent more time there than on inserting its 10,000
movements. With room left on the page, an update that changes no indexed column stays on it (a
heap-only tuple: no index entry), and the page's dead versions are pruned as it fills. Half the
page is left free: room for one new version of every row a batch rewrites at once. SQLite has no
such setting. Existing pages keep their layout until rewritten (VACUUM FULL); new ones follow.
"""

from __future__ import annotations

from alembic import op

revision = "0021_hot_levels"
down_revision = "0020_engine"
branch_labels = None
depends_on = None

TABLES = ("stock_levels", "listings")
FILLFACTOR = 50


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
