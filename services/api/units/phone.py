"""Liaison phone numbers: validated, stored encrypted, shown masked (138****1234)."""

import re

from shared.crypto import SecretBox
from shared.i18n import tr

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
PHONE_FORM = r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$"


def normalize(phone: str) -> str:
    """The phone without spaces; ValueError (with the expected form) when it is not one."""
    value = re.sub(r"\s+", "", phone)
    if not (MOBILE.match(value) or LANDLINE.match(value)):
        raise ValueError(
            tr("expected a mobile number such as 13812341234 or a landline such as 0379-66812345")
        )

    return value


def mask(phone: str) -> str:
    if MOBILE.match(phone):
        return f"{phone[:3]}****{phone[-4:]}"
    head, _, _ = phone.partition("-")
    return f"{head if head != phone else phone[:4]}-****{phone[-4:]}"


class PhoneBox(SecretBox):
    """Encrypts phones with a key derived from the api's secret."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret, "phone")
