"""Webhook subscriptions: create, list, and each one's deliveries."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.auth.scope import visible
from services.api.pagination import PageParams, paginate
from services.api.webhooks.schemas import WebhookCreate
from shared import audit
from shared.crypto import SecretBox
from shared.models import Webhook, WebhookDelivery


async def create(
    session: AsyncSession, *, data: WebhookCreate, principal: Principal, box: SecretBox
) -> Webhook:
    """A subscription of the principal's unit; its secret is kept sealed."""
    hook = Webhook(
        unit_id=principal.unit_id,
        url=str(data.url),
        events=list(data.events),
        secret_encrypted=box.seal(data.secret) or "",
        created_by=principal.key,
    )
    session.add(hook)
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="webhook.create",
        entity="webhook",
        entity_id=hook.id,
        unit_id=hook.unit_id,
        after={"url": hook.url, "events": hook.events},
    )
    return hook


async def list_webhooks(
    session: AsyncSession, *, principal: Principal, page: PageParams
) -> tuple[list[Webhook], int]:
    return await paginate(
        session, visible(select(Webhook), Webhook, principal), page, col(Webhook.created_at)
    )


async def deliveries(
    session: AsyncSession, *, webhook: Webhook, page: PageParams
) -> tuple[list[WebhookDelivery], int]:
    """The webhook's deliveries, newest first."""
    stmt = select(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == webhook.id)
    return await paginate(session, stmt, page, col(WebhookDelivery.created_at).desc())
