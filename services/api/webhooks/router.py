"""Webhook subscriptions: other systems receive signed events about what their unit can see."""

from typing import Annotated
from uuid import UUID

from fastapi import Request, Response, status
from sqlalchemy import func, select

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.auth.scope import get_visible, visible
from services.api.pagination import Page, PageDep
from services.api.routing import SessionDep, router
from services.api.webhooks.schemas import DeliveryPublic, WebhookCreate, WebhookPublic
from shared import audit
from shared.crypto import SecretBox
from shared.models import Webhook, WebhookDelivery

webhooks = router(prefix="/webhooks", tags=["webhooks"])
Manager = Annotated[Principal, authorize(Action.WEBHOOKS_MANAGE)]


@webhooks.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookPublic)
async def create_webhook(
    data: WebhookCreate, request: Request, response: Response, session: SessionDep, principal: Manager
) -> WebhookPublic:
    """Subscribe a URL to events about records your unit can see. Each delivery carries
    `X-Duban-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>`, `X-Duban-Event`
    and `X-Duban-Delivery` (the same id on every retry)."""
    box = SecretBox(request.app.state.settings.secret_key.get_secret_value(), "webhook")
    hook = Webhook(
        unit_id=principal.unit_id,
        url=str(data.url),
        events=list(data.events),
        secret_encrypted=box.seal(data.secret) or "",
        created_by=f"{principal.kind}:{principal.id}",
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
    response.headers["Location"] = f"{request.url.path}/{hook.id}"
    return WebhookPublic.model_validate(hook.model_dump())


@webhooks.get("", response_model=Page[WebhookPublic])
async def list_webhooks(session: SessionDep, principal: Manager, page: PageDep) -> Page[WebhookPublic]:
    """Subscriptions of your unit and the units below it."""
    stmt = visible(select(Webhook), Webhook, principal)
    count = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = await session.scalars(stmt.order_by(Webhook.created_at).offset(page.offset).limit(page.page_size))
    return Page(data=[WebhookPublic.model_validate(h.model_dump()) for h in rows], count=count)


@webhooks.get("/{webhook_id}/deliveries", response_model=Page[DeliveryPublic])
async def deliveries(
    webhook_id: UUID, session: SessionDep, principal: Manager, page: PageDep
) -> Page[DeliveryPublic]:
    """Every delivery of the webhook, newest first: state, attempts, the last answer."""
    await get_visible(session, Webhook, webhook_id, principal, "webhook")
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    count = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = await session.scalars(
        stmt.order_by(WebhookDelivery.created_at.desc()).offset(page.offset).limit(page.page_size)
    )
    return Page(data=[DeliveryPublic.model_validate(d.model_dump()) for d in rows], count=count)
