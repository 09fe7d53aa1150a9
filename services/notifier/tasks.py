"""Notifier jobs. Thin: take ids from the payload, call a service function."""

from typing import Any

from shared.models import NotifierInbox, NotifierPingReceipt
from shared.ping import handle_ping


async def ping(ctx: dict[str, Any], message_id: str, payload: dict[str, Any]) -> str:
    """Record that the notifier received a ping (once, however often it is delivered)."""
    applied = await handle_ping(
        ctx["sessions"],
        inbox=NotifierInbox,
        receipt=NotifierPingReceipt,
        message_id=message_id,
        payload=payload,
        job_try=ctx["job_try"],
    )
    return "applied" if applied else "duplicate"
