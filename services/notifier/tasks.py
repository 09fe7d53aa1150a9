"""Notifier jobs. Thin: take ids from the payload, call a service function."""

from shared.models import NotifierInbox, NotifierPingReceipt
from shared.ping import ping_task

ping = ping_task(inbox=NotifierInbox, receipt=NotifierPingReceipt)
