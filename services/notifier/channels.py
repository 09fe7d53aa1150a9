"""The gateways a digest reaches people through: the log, e-mail over SMTP, or another adapter.

A channel sends one message to one person and says how it went: it returns the gateway's id for
the message (or None), raises `Refused` when the gateway turned the message down for good (a
bad address: recorded, never tried again) and `TryLater` — or anything else — when it may take
it later (the server away, throttled: tried again with backoff).
"""

import importlib
import logging
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any, Protocol, runtime_checkable

import aiosmtplib

from shared.settings import NotifierSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    digest_id: uuid.UUID
    unit_id: uuid.UUID
    unit_name: str
    to_name: str | None
    to_phone: str | None
    subject: str
    body: str
    delivery_id: uuid.UUID | None = None
    to_email: str | None = None
    html: str | None = None
    # the digest's notices as data (kind, requirements, due date, colour, link), for a gateway
    # whose templates take parameters rather than a body
    items: tuple[dict[str, Any], ...] = field(default_factory=tuple)


class Refused(Exception):
    """The gateway refused the message for good; retrying would not help."""


class TryLater(Exception):
    """The gateway could not take the message now; it is tried again later."""


@runtime_checkable
class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> str | None: ...


def masked(phone: str | None) -> str | None:
    """138****1234: a phone as logs and other people's responses show it."""
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) >= 7 else None


def reaches(channel: Channel, *, email: str | None, phone: str | None) -> str | None:
    """The address `channel` would use for a person, as shown in the records, or None when the
    person cannot be reached through it."""
    kind = getattr(channel, "address", None)
    if kind == "email":
        return email
    if kind == "phone":
        return masked(phone)
    return masked(phone) or email or ""  # the log, or an adapter that says nothing: everyone


class LoggingChannel:
    """The default channel: each message is a log line (phone masked), for a deployment with no
    gateway yet and for tests."""

    name = "log"

    async def send(self, message: Message) -> str | None:
        log.info(
            "notice digest",
            extra={"digest_id": str(message.digest_id), "unit": message.unit_name, "to": message.to_name,
                   "phone": masked(message.to_phone), "subject": message.subject, "body": message.body},
        )  # fmt: skip
        return None


class EmailChannel:
    """A multipart (text and HTML) e-mail to the person's address over SMTP, with STARTTLS or
    TLS and a login when the settings give them. The Message-ID is the delivery's own, so a
    message sent again after a crash can be recognised as the same one."""

    name = "email"
    address = "email"

    def __init__(self, settings: NotifierSettings) -> None:
        self.settings = settings

    async def send(self, message: Message) -> str | None:
        if not message.to_email:
            raise Refused("no e-mail address")
        s = self.settings
        mail = EmailMessage()
        mail["From"] = s.smtp_from
        mail["To"] = formataddr((message.to_name or "", message.to_email))
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{message.delivery_id or message.digest_id}@duban>"
        mail.set_content(message.body)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        try:
            _errors, said = await aiosmtplib.send(
                mail,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_user or None,
                password=s.smtp_password.get_secret_value() or None,
                use_tls=s.smtp_tls,
                start_tls=s.smtp_starttls if not s.smtp_tls else False,
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as e:
            refused = "; ".join(f"{r.code} {r.message}" for r in e.recipients)
            raise Refused(refused) from e
        except aiosmtplib.SMTPResponseException as e:
            if 500 <= e.code < 600:
                raise Refused(f"{e.code} {e.message}") from e
            raise TryLater(f"{e.code} {e.message}") from e
        except (aiosmtplib.SMTPException, OSError) as e:
            raise TryLater(f"{type(e).__name__}: {e}") from e
        return said[:128] if said else None


def load_channels(settings: NotifierSettings) -> list[Channel]:
    """The configured channels, in order; a bad name fails at start."""
    out: list[Channel] = []
    for name in settings.notice_channels.split(","):
        if name == "log":
            out.append(LoggingChannel())
        elif name == "email":
            out.append(EmailChannel(settings))
        elif name == "sms":
            from services.notifier.sms import SmsChannel

            out.append(SmsChannel(settings))
        else:
            module, _, attr = name.partition(":")
            out.append(getattr(importlib.import_module(module), attr)())
    return out


__all__ = [
    "Channel",
    "EmailChannel",
    "LoggingChannel",
    "Message",
    "Refused",
    "TryLater",
    "load_channels",
    "masked",
    "reaches",
]
