"""The root of every error the hub raises on purpose.

Everything marketsync raises for a reason a person can act on derives from `MarketsyncError`:
the CLI prints it as one line, a job decides from its class what happens next (see the tree in
`connectors/errors.py`). Anything else is a bug and is reported as an internal error.
Messages name what is wrong and what to do; they never hold secrets or customer data.
"""

from __future__ import annotations


class MarketsyncError(Exception):
    """Base of the hub's own errors; its message is one line an operator can act on."""


def one_line(error: BaseException) -> str:
    """An error as an operator's one line: its class and the first line of its message (500 characters at most)."""
    return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:500]}"
