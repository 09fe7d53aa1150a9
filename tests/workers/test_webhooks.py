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


async def test_an_approval_is_delivered_signed_and_retried(
    committed: async_sessionmaker[AsyncSession],
    notifier_settings: NotifierSettings,
    library: dict[str, Any],
    receiver: tuple[Receiver, str],
) -> None:
    rec, url = receiver
    box = SecretBox(notifier_settings.secret_key.get_secret_value(), "webhook")
    async with committed() as s, s.begin():
        mine = Webhook(
            unit_id=library["office"],
            url=url,
            events=["project.approved"],
            secret_encrypted=box.seal(SECRET),
            created_by="t",
        )
        elsewhere = Webhook(
            unit_id=library["other"],
            url=url,
            events=["project.approved"],
            secret_encrypted=box.seal(SECRET),
            created_by="t",
        )
        s.add_all([mine, elsewhere])
    message_id = str(uuid.uuid4())
    payload = {
        "event": "project.approved",
        "subject_type": "project",
        "subject_id": str(library["project"]),
        "occurred_at": clock.now().isoformat(),
        "data": {"code": "P-1", "total_investment": "100.00"},
    }
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
        await s.execute(delete(NotifierInbox).where(NotifierInbox.message_id == uuid.UUID(message_id)))
        await s.commit()
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
        s.add(
            Webhook(
                unit_id=library["county"],
                url="http://127.0.0.1:9/nobody-listens",
                events=["project.approved"],
                secret_encrypted=box.seal(SECRET),
                created_by="t",
            )
        )
    settings = notifier_settings.model_copy(update={"webhook_max_attempts": 2})
    payload = {
        "event": "project.approved",
        "subject_type": "project",
        "subject_id": str(library["project"]),
        "occurred_at": clock.now().isoformat(),
        "data": {},
    }
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
        await s.execute(delete(NotifierInbox).where(NotifierInbox.message_id == uuid.UUID(message_id)))
        await s.commit()
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
        for unit, events in ((library["office"], ["report.instant"]), (library["other"], ["report.instant"])):
            s.add(
                Webhook(
                    unit_id=unit, url=url, events=events, secret_encrypted=box.seal(SECRET), created_by="t"
                )
            )
        s.add(  # subscribed to approvals only: gets nothing here
            Webhook(
                unit_id=library["office"],
                url=url,
                events=["project.approved"],
                secret_encrypted=box.seal(SECRET),
                created_by="t",
            )
        )
    message_id = str(uuid.uuid4())
    payload = {
        "event": "report.instant",
        "subject_type": "unit",
        "subject_id": str(library["county"]),
        "occurred_at": clock.now().isoformat(),
        "data": {"body": "工地发生塌方"},
    }
    async with httpx.AsyncClient(timeout=5) as http:
        ctx = {"sessions": committed, "http": http, "webhook_box": box, "settings": notifier_settings}
        assert await event(ctx, message_id, payload) == "1 deliveries"
    async with committed() as s:
        await s.execute(delete(NotifierInbox).where(NotifierInbox.message_id == uuid.UUID(message_id)))
        await s.commit()
    assert json.loads(rec.requests[0][1])["data"]["body"] == "工地发生塌方"
