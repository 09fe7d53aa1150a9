"""Table models. They describe tables only; request and response schemas live with each service."""

from shared.models.audit import AuditEntry
from shared.models.base import metadata
from shared.models.idempotency import IdempotencyRecord
from shared.models.identity import ROLES, UNIT_KINDS, ApiClient, AppUser, LiaisonChange, Unit
from shared.models.inbox import NotifierInbox, RankerInbox
from shared.models.outbox import OutboxMessage
from shared.models.ping import NotifierPingReceipt, Ping, RankerPingReceipt

__all__ = [
    "ROLES",
    "UNIT_KINDS",
    "ApiClient",
    "AppUser",
    "AuditEntry",
    "IdempotencyRecord",
    "LiaisonChange",
    "NotifierInbox",
    "NotifierPingReceipt",
    "OutboxMessage",
    "Ping",
    "RankerInbox",
    "RankerPingReceipt",
    "Unit",
    "metadata",
]
