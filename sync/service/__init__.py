"""The long-running service: scheduler, workers, webhook server, and `sync --once`."""
