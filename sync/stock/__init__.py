"""Stock: the ledger, hub locations, desired quantities per listing, stock pushes and reconciliation."""
