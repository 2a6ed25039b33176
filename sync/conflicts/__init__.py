"""Resolving conflicts, one at a time or in bulk, and what each resolution does to the hub."""
