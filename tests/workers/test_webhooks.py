"""Signed webhooks: an approved project reaches the subscribers who can see it, retried until it lands."""

import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifier.tasks import deliver_webhooks, event
from shared import clock
from shared.crypto import SecretBox
from shared.models import NotifierInbox, Program, Project, Unit, Webhook, WebhookDelivery
from shared.settings import NotifierSettings
from tests.helpers import Receiver, receiving

SECRET = "bank-shared-secret-2018"


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    async with receiving(failures=1) as rec:
        yield rec, rec.url


@pytest.fixture
async def library(committed: async_sessionmaker[AsyncSession]) -> AsyncIterator[dict[str, Any]]:
    """Committed: an office with a county below it, a bank elsewhere, and an approved project."""
    ids: dict[str, Any] = {}
    async with committed() as s, s.begin():
        tag = uuid.uuid4().hex[:6]
        office_id, county_id, other_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        s.add_all(
            [
                Unit(id=office_id, code=f"O-{tag}", name="市项目办", kind="office", path=f"/{office_id}/"),
                Unit(id=other_id, code=f"Z-{tag}", name="外省银行", kind="financial", path=f"/{other_id}/"),
            ]
        )
        await s.flush()
        s.add(
            Unit(
                id=county_id,
                code=f"X-{tag}",
                name="县政府",
                kind="government",
                parent_id=office_id,
                path=f"/{office_id}/{county_id}/",
            )
        )
        program = Program(code=f"PG-{tag}", name="计划", year=2018, office_unit_id=office_id, settings={})
        s.add(program)
        await s.flush()
        project = Project(
            program_id=program.id,
            code="P-1",
            name="县道",
            category="交通",
            region_unit_id=county_id,
            owner_unit_id=county_id,
            responsible_unit_id=county_id,
            leader={"name": "张三", "title": "副县长"},
            construction="new",
            stage="construction",
            status="approved",
            total_investment=Decimal(100),
            annual_plan=Decimal(50),
            start_date=date(2018, 1, 1),
            end_date=date(2018, 12, 31),
            created_by="test",
        )
        s.add(project)
        await s.flush()
        ids.update(office=office_id, county=county_id, other=other_id, program=program.id, project=project.id)
    yield ids
    async with committed() as s, s.begin():
        ours = select(Webhook.id).where(Webhook.unit_id.in_([ids["office"], ids["county"], ids["other"]]))
        await s.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id.in_(ours)))
        await s.execute(delete(Webhook).where(Webhook.id.in_(ours)))
        await s.execute(delete(Project).where(Project.id == ids["project"]))
        await s.execute(delete(Program).where(Program.id == ids["program"]))
        for key in ("county", "office", "other"):
            await s.execute(delete(Unit).where(Unit.id == ids[key]))


def hook(box: SecretBox, unit: uuid.UUID, url: str, events: list[str]) -> Webhook:
    return Webhook(
        unit_id=unit, url=url, events=events, secret_encrypted=box.seal(SECRET) or "", created_by="t"
    )


def happened(
    event_name: str, subject_type: str, subject_id: uuid.UUID, data: dict[str, Any]
) -> dict[str, Any]:
    """An event job's payload, as the api's outbox writes it."""
    return {
        "event": event_name,
        "subject_type": subject_type,
        "subject_id": str(subject_id),
        "occurred_at": clock.now().isoformat(),
        "data": data,
    }


async def forget(committed: async_sessionmaker[AsyncSession], message_id: str) -> None:
    """Drop the inbox row a test's message left (the tables outlive the test)."""
    async with committed() as s, s.begin():
        await s.execute(delete(NotifierInbox).where(NotifierInbox.message_id == uuid.UUID(message_id)))


async def test_an_approval_is_delivered_signed_and_retried(
    committed: async_sessionmaker[AsyncSession],
    notifier_settings: NotifierSettings,
    library: dict[str, Any],
    receiver: tuple[Receiver, str],
) -> None:
    rec, url = receiver
    box = SecretBox(notifier_settings.secret_key.get_secret_value(), "webhook")
    async with committed() as s, s.begin():
        mine = hook(box, library["office"], url, ["project.approved"])
        elsewhere = hook(box, library["other"], url, ["project.approved"])
        s.add_all([mine, elsewhere])
    message_id = str(uuid.uuid4())
    payload = happened(
        "project.approved", "project", library["project"], {"code": "P-1", "total_investment": "100.00"}
    )
    async with httpx.AsyncClient(timeout=5) as http:
        ctx = {"sessions": committed, "http": http, "webhook_box": box, "settings": notifier_settings}
        assert await event(ctx, message_id, payload) == "1 deliveries"  # the bank elsewhere cannot see it
        assert await event(ctx, message_id, payload) == "duplicate"  # a redelivered job changes nothing
        async with committed() as s:
            delivery = await s.scalar(
                select(WebhookDelivery).where(WebhookDelivery.message_id == uuid.UUID(message_id))
            )
        assert delivery is not None and delivery.webhook_id == mine.id
        assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("pending", 1, 503)
        assert await deliver_webhooks(ctx) == {"delivered": 0, "retrying": 0, "failed": 0}  # not due yet
        with clock.use_clock(clock.FixedClock(clock.now() + timedelta(minutes=1))):
            assert await deliver_webhooks(ctx) == {"delivered": 1, "retrying": 0, "failed": 0}
    async with committed() as s:
        delivered = await s.get_one(WebhookDelivery, delivery.id, populate_existing=True)
    await forget(committed, message_id)
    assert delivered.state == "delivered" and delivered.attempts == 2
    assert len(rec.requests) == 2
    (first_headers, first_body), (headers, body) = rec.requests
    assert first_body == body and headers["x-duban-delivery"] == first_headers["x-duban-delivery"] == str(
        delivery.id
    )
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-duban-signature"] == expected and headers["x-duban-event"] == "project.approved"
    sent = json.loads(body)
    assert sent["id"] == message_id and sent["subject"] == {"type": "project", "id": str(library["project"])}
    assert sent["data"]["code"] == "P-1"


async def test_a_dead_endpoint_is_given_up_after_the_last_attempt(
    committed: async_sessionmaker[AsyncSession], notifier_settings: NotifierSettings, library: dict[str, Any]
) -> None:
    box = SecretBox(notifier_settings.secret_key.get_secret_value(), "webhook")
    async with committed() as s, s.begin():
        s.add(hook(box, library["county"], "http://127.0.0.1:9/nobody-listens", ["project.approved"]))
    settings = notifier_settings.model_copy(update={"webhook_max_attempts": 2})
    payload = happened("project.approved", "project", library["project"], {})
    message_id = str(uuid.uuid4())
    async with httpx.AsyncClient(timeout=2) as http:
        ctx = {"sessions": committed, "http": http, "webhook_box": box, "settings": settings}
        await event(ctx, message_id, payload)
        with clock.use_clock(clock.FixedClock(clock.now() + timedelta(hours=1))):
            assert await deliver_webhooks(ctx) == {"delivered": 0, "retrying": 0, "failed": 1}
    async with committed() as s:
        gone = await s.scalar(
            select(WebhookDelivery).where(WebhookDelivery.message_id == uuid.UUID(message_id))
        )
    await forget(committed, message_id)
    assert gone is not None and gone.state == "failed" and "ConnectError" in (gone.last_error or "")


async def test_an_instant_report_reaches_the_offices_above_the_unit(
    committed: async_sessionmaker[AsyncSession],
    notifier_settings: NotifierSettings,
    library: dict[str, Any],
    receiver: tuple[Receiver, str],
) -> None:
    rec, url = receiver
    box = SecretBox(notifier_settings.secret_key.get_secret_value(), "webhook")
    async with committed() as s, s.begin():
        s.add(hook(box, library["office"], url, ["report.instant"]))
        s.add(hook(box, library["other"], url, ["report.instant"]))  # cannot see the county
        s.add(hook(box, library["office"], url, ["project.approved"]))  # not subscribed to this event
    message_id = str(uuid.uuid4())
    payload = happened("report.instant", "unit", library["county"], {"body": "工地发生塌方"})
    async with httpx.AsyncClient(timeout=5) as http:
        ctx = {"sessions": committed, "http": http, "webhook_box": box, "settings": notifier_settings}
        assert await event(ctx, message_id, payload) == "1 deliveries"
    await forget(committed, message_id)
    assert json.loads(rec.requests[0][1])["data"]["body"] == "工地发生塌方"
