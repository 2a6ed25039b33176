"""The customer key reports count repeat purchases by: a salted hash, never the email or id itself.

The key is the workspace's pseudonym (`store.secrets.SecretBox.pseudonym`, HMAC-SHA256 with a
salt derived from the workspace key) of the normalised email when the channel gives a real one,
else of the platform's buyer id. An email masked by the platform (`a***@x.com`) identifies nobody,
so the buyer id is used instead. The same email on two channels gives the same key: repeat
purchases count across channels.
"""

from __future__ import annotations

import canonical
from store.secrets import SecretBox


def customer_key(box: SecretBox, customer: canonical.Customer, platform: str) -> str | None:
    """The customer's pseudonymous key, or None when the order names no one."""
    email = (customer.email or "").strip().lower()
    if "@" in email and "*" not in email:
        return box.pseudonym(f"email:{email}")
    buyer = (customer.buyer_id or "").strip()
    if buyer:
        return box.pseudonym(f"buyer:{platform}:{buyer}")
    return None

