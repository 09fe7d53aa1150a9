"""Liaison phone numbers: validated, stored encrypted, shown masked (138****1234)."""

import base64
import hashlib
import re

from cryptography.fernet import Fernet

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
PHONE_HINT = "a mobile number such as 13812341234 or a landline such as 0379-66812345"


def normalize(phone: str) -> str:
    """The phone without spaces; ValueError (with the expected form) when it is not one."""
    value = re.sub(r"\s+", "", phone)
    if not (MOBILE.match(value) or LANDLINE.match(value)):
        raise ValueError(f"expected {PHONE_HINT}")
    return value


def mask(phone: str) -> str:
    if MOBILE.match(phone):
        return f"{phone[:3]}****{phone[-4:]}"
    head, _, _ = phone.partition("-")
    return f"{head if head != phone else phone[:4]}-****{phone[-4:]}"


class PhoneBox:
    """Encrypts phones with a key derived from the api's secret."""

    def __init__(self, secret: str) -> None:
        key = base64.urlsafe_b64encode(hashlib.sha256(b"duban-phone\0" + secret.encode()).digest())
        self._fernet = Fernet(key)

    def seal(self, phone: str | None) -> str | None:
        return self._fernet.encrypt(phone.encode()).decode() if phone else None

    def open(self, sealed: str | None) -> str | None:
        return self._fernet.decrypt(sealed.encode()).decode() if sealed else None
