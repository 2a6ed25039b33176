"""The hub's foundation: its runtime context (`Hub`), Redis queues, accounts and the audit log."""
