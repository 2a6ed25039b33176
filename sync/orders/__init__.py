"""Orders: events and polling, idempotent ingest, the ledger effects of order lines, shipments."""
