"""After-sales: returns, exchanges and refunds as a flow on the ledger (`flow`), fed by hand
(`service`) or by every channel's canonical refunds and after-sales (`channel`)."""
