"""What the budget tests read off a budget (the `budget` fixture is in conftest.py)."""

from __future__ import annotations

from connectors.budget import LocalBudget, RedisBudget


def balance(budget: LocalBudget | RedisBudget) -> float:
    """The points a budget holds now."""
    if isinstance(budget, LocalBudget):
        return budget.available
    return float(budget.redis.hget(budget.key, "available"))  # type: ignore[arg-type]
