"""微信 message-push signatures and the safe-mode (安全模式) envelope.

Every push carries `signature` = sha1 of the sorted [token, timestamp, nonce] in its query string.
In safe mode the body is `{"ToUserName", "Encrypt"}` and `msg_signature` = sha1 of the sorted
[token, timestamp, nonce, Encrypt]; `Encrypt` is Base64(AES-256-CBC(random 16 bytes + 4-byte
big-endian length + message + appid)), key = Base64-decode(EncodingAESKey + "="), IV = the key's
first 16 bytes, PKCS#7 padding to 32-byte blocks.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


def signature(*values: str) -> str:
    return hashlib.sha1("".join(sorted(values)).encode()).hexdigest()


def _cipher(encoding_aes_key: str) -> Cipher[modes.CBC]:
    key = base64.b64decode(encoding_aes_key + "=")
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(message: bytes, *, appid: str, encoding_aes_key: str, random_prefix: bytes | None = None) -> str:
    plain = (random_prefix or os.urandom(16)) + struct.pack(">I", len(message)) + message + appid.encode()
    pad = BLOCK - len(plain) % BLOCK
    encryptor = _cipher(encoding_aes_key).encryptor()
    return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode()


def decrypt(token: str, *, encoding_aes_key: str) -> tuple[bytes, str]:
    """(message, appid) from an `Encrypt` value."""
    decryptor = _cipher(encoding_aes_key).decryptor()
    plain = decryptor.update(base64.b64decode(token)) + decryptor.finalize()
    plain = plain[:-plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20:20 + length], plain[20 + length:].decode()
