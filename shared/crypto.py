"""Secrets kept encrypted at rest with a key derived from DUBAN_SECRET_KEY and a purpose."""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet


class SecretBox:
    """Fernet with a key per purpose, so a phone box cannot open webhook secrets."""

    def __init__(self, secret: str, purpose: str) -> None:
        digest = hashlib.sha256(f"duban-{purpose}\0".encode() + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))
        self._key = hashlib.sha256(b"fingerprint\0" + digest).digest()

    def seal(self, value: str | None) -> str | None:
        return self._fernet.encrypt(value.encode()).decode() if value else None

    def open(self, sealed: str | None) -> str | None:
        return self._fernet.decrypt(sealed.encode()).decode() if sealed else None

    def fingerprint(self, value: str) -> str:
        """The same value always gives the same fingerprint, which does not give the value back
        (a keyed hash): to count messages to one number without keeping it in clear."""
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes) -> str:
    """`X-Duban-Signature` of a webhook body: `sha256=<hex HMAC-SHA256 of the body>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
