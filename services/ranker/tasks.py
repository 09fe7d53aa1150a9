"""Ranker jobs. Thin: take ids from the payload, call a service function."""

from shared.models import RankerInbox, RankerPingReceipt
from shared.ping import ping_task

ping = ping_task(inbox=RankerInbox, receipt=RankerPingReceipt)
