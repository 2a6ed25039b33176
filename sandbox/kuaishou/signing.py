"""快手 signing and push encryption.

`sign`: sort the common parameters {access_token, appkey, method, param, signMethod, timestamp,
version} by name, join them as `k=v` with `&`, append `&signSecret=<secret>`; MD5 gives lower-case
hex, HMAC_SHA256 (keyed by the sign secret) gives Base64. Pushes are encrypted: the body is
Base64(AES/CBC/PKCS5Padding(message JSON)) under the app's Base64 message key with a zero IV.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SIGNED = ("access_token", "appkey", "method", "param", "signMethod", "timestamp", "version")


def sign_string(params: Mapping[str, str], sign_secret: str) -> str:
    present = {k: params[k] for k in SIGNED if params.get(k) is not None}
    return "&".join(f"{k}={present[k]}" for k in sorted(present)) + f"&signSecret={sign_secret}"


def sign(params: Mapping[str, str], sign_secret: str) -> str:
    text = sign_string(params, sign_secret).encode()
    if params.get("signMethod") == "HMAC_SHA256":
        return base64.b64encode(hmac.new(sign_secret.encode(), text, hashlib.sha256).digest()).decode()
    if params.get("signMethod") == "MD5":
        return hashlib.md5(text).hexdigest()
    raise ValueError(f"unknown signMethod {params.get('signMethod')!r}; use MD5 or HMAC_SHA256")


def _cipher(message_key: str) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(base64.b64decode(message_key)), modes.CBC(bytes(16)))


def encrypt_message(plain: bytes, message_key: str) -> bytes:
    padder = padding.PKCS7(128).padder()
    encryptor = _cipher(message_key).encryptor()
    sealed = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    return base64.b64encode(sealed)


def decrypt_message(body: bytes, message_key: str) -> bytes:
    decryptor = _cipher(message_key).decryptor()
    padded = decryptor.update(base64.b64decode(body)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()
