"""Table models. They describe tables only; request and response schemas live with each service."""

from shared.models.base import metadata
from shared.models.idempotency import IdempotencyRecord
from shared.models.inbox import NotifierInbox, RankerInbox
from shared.models.outbox import OutboxMessage
from shared.models.ping import NotifierPingReceipt, Ping, RankerPingReceipt

__all__ = [
    "IdempotencyRecord",
    "NotifierInbox",
    "NotifierPingReceipt",
    "OutboxMessage",
    "Ping",
    "RankerInbox",
    "RankerPingReceipt",
    "metadata",
]
