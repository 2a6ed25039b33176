"""Replenishment planning: cost and supply per variant, sales velocity, cover, reorder points and
safety stock (fixed, per supplier, or computed from demand variability and a service level)."""
