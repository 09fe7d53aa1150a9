"""Signed webhook deliveries: fan an event out to subscribers, then deliver with retries.

At least once: a delivery is leased before its request goes out, so a worker that dies
mid-request leaves it to be retried once the lease ends. Receivers deduplicate by
`X-Duban-Delivery`, the same on every attempt.
"""

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import col

from shared import clock
from shared.crypto import SecretBox, signature
from shared.models import Notice, ObservationRound, Program, Project, Unit, Webhook, WebhookDelivery
from shared.queues import EventPayload

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 6 * 3600


def body_bytes(body: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed; stable across retries."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … up to 6 h between attempts."""
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS))


async def _subject_units(session: AsyncSession, event: EventPayload) -> list[uuid.UUID]:
    if event.subject_type == "project":
        row = (
            await session.execute(
                select(
                    col(Project.region_unit_id), col(Project.owner_unit_id), col(Project.responsible_unit_id)
                ).where(col(Project.id) == event.subject_id)
            )
        ).first()
        return list(row) if row else []
    if event.subject_type == "unit":
        return [event.subject_id]
    if event.subject_type == "notice":  # seen by those who see the unit it was sent to
        unit = await session.scalar(
            select(col(Notice.recipient_unit_id)).where(col(Notice.id) == event.subject_id)
        )
        return [unit] if unit else []
    if event.subject_type in ("round", "program"):  # a ranking or grade: seen by those who see the office
        program_id = (
            event.subject_id
            if event.subject_type == "program"
            else await session.scalar(
                select(col(ObservationRound.program_id)).where(col(ObservationRound.id) == event.subject_id)
            )
        )
        office = await session.scalar(
            select(col(Program.office_unit_id)).where(col(Program.id) == program_id)
        )
        return [office] if office else []
    return []


async def fan_out(session: AsyncSession, *, message_id: str, event: EventPayload) -> list[uuid.UUID]:
    """A pending delivery for each active subscriber whose unit can see the event's subject."""
    units = await _subject_units(session, event)
    if not units:
        return []
    home, subject_unit = aliased(Unit), aliased(Unit)
    sees_subject = exists().where(
        and_(col(subject_unit.id).in_(units), col(subject_unit.path).startswith(col(home.path)))
    )
    hooks = await session.scalars(
        select(col(Webhook.id))
        .join(home, col(home.id) == col(Webhook.unit_id))
        .where(col(Webhook.is_active), col(Webhook.events).contains([event.event]), sees_subject)
    )
    body = {
        "id": message_id,
        "event": event.event,
        "occurred_at": event.occurred_at.isoformat(),
        "subject": {"type": event.subject_type, "id": str(event.subject_id)},
        "data": event.data,
    }
    now, ids = clock.now(), []
    for hook_id in hooks:
        delivery = WebhookDelivery(
            webhook_id=hook_id,
            message_id=uuid.UUID(message_id),
            event=event.event,
            body=body,
            next_attempt_at=now,
        )
        session.add(delivery)
        ids.append(delivery.id)
    await session.flush()
    return ids


async def _lease(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    lease: timedelta,
    ids: list[uuid.UUID] | None,
) -> list[tuple[WebhookDelivery, Webhook]]:
    async with sessions() as session, session.begin():
        due = (
            select(col(WebhookDelivery.id))
            .where(col(WebhookDelivery.state) == "pending", col(WebhookDelivery.next_attempt_at) <= now)
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(100)
            .with_for_update(skip_locked=True)
        )
        if ids is not None:
            due = due.where(col(WebhookDelivery.id).in_(ids))
        leased = list(
            await session.scalars(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id).in_(due.scalar_subquery()))
                .values(next_attempt_at=now + lease)
                .returning(WebhookDelivery)
            )
        )
        hooks = {
            h.id: h
            for h in await session.scalars(
                select(Webhook).where(col(Webhook.id).in_({d.webhook_id for d in leased}))
            )
        }
        return [(d, hooks[d.webhook_id]) for d in leased]


async def _attempt(
    http: httpx.AsyncClient, box: SecretBox, delivery: WebhookDelivery, hook: Webhook
) -> tuple[int | None, str | None]:
    payload = body_bytes(delivery.body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Duban-Webhooks/1",
        "X-Duban-Event": delivery.event,
        "X-Duban-Delivery": str(delivery.id),
        "X-Duban-Signature": signature(box.open(hook.secret_encrypted) or "", payload),
    }
    try:
        answer = await http.post(hook.url, content=payload, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= answer.status_code < 300:
        return answer.status_code, None
    return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:200]}"


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    box: SecretBox,
    *,
    max_attempts: int,
    lease: timedelta,
    ids: list[uuid.UUID] | None = None,
) -> dict[str, int]:
    """Send the deliveries that are due (or just these); record each answer."""
    now = clock.now()
    leased = await _lease(sessions, now=now, lease=lease, ids=ids)
    outcome = {"delivered": 0, "retrying": 0, "failed": 0}
    for delivery, hook in leased:
        status, error = await _attempt(http, box, delivery, hook)
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_status_code": status, "last_error": error}
        if error is None:
            values |= {"state": "delivered", "delivered_at": clock.now(), "next_attempt_at": None}
            outcome["delivered"] += 1
        elif attempts >= max_attempts:
            values |= {"state": "failed", "next_attempt_at": None}
            outcome["failed"] += 1
            log.warning(
                "webhook delivery failed for good", extra={"delivery": str(delivery.id), "url": hook.url}
            )
        else:
            values["next_attempt_at"] = clock.now() + backoff(attempts)
            outcome["retrying"] += 1
        async with sessions() as session, session.begin():
            await session.execute(
                update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery.id).values(**values)
            )
    return outcome
