"""Webhook subscriptions: other systems receive signed events about what their unit can see."""

from typing import Annotated

from fastapi import Request, Response, status

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.pagination import Page, PageDep
from services.api.records import WebhookDep
from services.api.routing import SessionDep, router
from services.api.webhooks import service
from services.api.webhooks.schemas import DeliveryPublic, WebhookCreate, WebhookPublic
from shared.crypto import SecretBox

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
    hook = await service.create(session, data=data, principal=principal, box=box)
    response.headers["Location"] = f"{request.url.path}/{hook.id}"
    return WebhookPublic.model_validate(hook.model_dump())


@webhooks.get("", response_model=Page[WebhookPublic])
async def list_webhooks(session: SessionDep, principal: Manager, page: PageDep) -> Page[WebhookPublic]:
    """Subscriptions of your unit and the units below it."""
    rows, count = await service.list_webhooks(session, principal=principal, page=page)
    return Page(data=[WebhookPublic.model_validate(h.model_dump()) for h in rows], count=count)


@webhooks.get("/{webhook_id:uuid}/deliveries", response_model=Page[DeliveryPublic])
async def deliveries(
    session: SessionDep, principal: Manager, webhook: WebhookDep, page: PageDep
) -> Page[DeliveryPublic]:
    """Every delivery of the webhook, newest first: state, attempts, the last answer."""
    rows, count = await service.deliveries(session, webhook=webhook, page=page)
    return Page(data=[DeliveryPublic.model_validate(d.model_dump()) for d in rows], count=count)
