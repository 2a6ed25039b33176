"""The catalogue: import, listing refresh and matching, linking, listing push."""
