"""The SMS channel through each provider's official SDK, its endpoint pointed at a local HTTP
server that checks the request as the provider documents it (a signature, the parameters) and
answers success, a throttling code or a bad-number code."""

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier.delivery import deliver
from services.notifier.sms import SmsChannel
from services.notifier.sweep import sweep
from shared.crypto import SecretBox
from shared.models import AppUser, NoticeDelivery, Unit
from shared.settings import NotifierSettings
from tests.notifier.steps import morning
from tests.world import World

LIAISON, HEAD, BROKEN = "13900000001", "13900000002", "13900000003"
ANSWERS = {  # what each provider says for: sent, throttled, a bad number
    "aliyun": {
        "ok": {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"},
        "throttle": {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1"},
        "bad": {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"},
    },
    "tencent": {
        "ok": {"Code": "Ok", "Message": "send success", "SerialNo": "2028:3275489271920"},
        "throttle": {
            "Code": "LimitExceeded.PhoneNumberThirtySecondLimit",
            "Message": "30秒内下发短信条数超过上限",
        },
        "bad": {"Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "手机号格式错误"},
    },
}


class Gateway:
    """A provider's SendSms, as far as the SDK can tell: the requests it got, and a script of
    answers per phone number ("ok" once the script runs out)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.requests: list[dict[str, Any]] = []
        self.script: dict[str, list[str]] = {}

    def answer(self, headers: Any, path: str, body: bytes) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        if self.provider == "aliyun":
            assert headers["x-acs-action"] == "SendSms" and headers["x-acs-version"] == "2017-05-25"
            assert headers["Authorization"].startswith("ACS3-HMAC-SHA256 Credential=ak-test,")
            assert "Signature=" in headers["Authorization"]
            query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
            sent = {
                "phone": query["PhoneNumbers"], "sign": query["SignName"], "template": query["TemplateCode"],
                "params": json.loads(query["TemplateParam"]), "ref": query["OutId"],
            }  # fmt: skip
            said = self.script.get(sent["phone"], []).pop(0) if self.script.get(sent["phone"]) else "ok"
            self.requests.append({**sent, "answer": said})
            return {**ANSWERS["aliyun"][said], "RequestId": request_id}
        assert headers["X-TC-Action"] == "SendSms" and headers["X-TC-Version"] == "2021-01-11"
        assert headers["Authorization"].startswith("TC3-HMAC-SHA256 Credential=id-test/")
        data = json.loads(body)
        [number] = data["PhoneNumberSet"]
        assert number.startswith("+86") and data["SmsSdkAppId"] == "1400000001"
        sent = {"phone": number[3:], "sign": data["SignName"], "template": data["TemplateId"],
                "params": data["TemplateParamSet"], "ref": data["SessionContext"]}  # fmt: skip
        said = self.script.get(sent["phone"], []).pop(0) if self.script.get(sent["phone"]) else "ok"
        self.requests.append({**sent, "answer": said})
        status = {**ANSWERS["tencent"][said], "PhoneNumber": number, "Fee": 1, "SessionContext": sent["ref"]}
        return {"Response": {"SendStatusSet": [status], "RequestId": request_id}}

    def to(self, phone: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["phone"] == phone]


@pytest.fixture(params=["aliyun", "tencent"])
def gateway(request: pytest.FixtureRequest) -> Iterator[tuple[Gateway, int]]:
    gw = Gateway(request.param)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                out, code = json.dumps(gw.answer(self.headers, self.path, body)).encode(), 200
            except (AssertionError, KeyError, ValueError) as e:  # a request the provider would refuse
                out, code = json.dumps({"Code": "MissingParameter", "Message": repr(e)}).encode(), 400
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gw, server.server_port
    finally:
        server.shutdown()
        thread.join(5)


def sms(settings: NotifierSettings, gw: Gateway, port: int, **extra: Any) -> SmsChannel:
    tencent = gw.provider == "tencent"
    return SmsChannel(
        settings.model_copy(
            update={
                "sms_provider": gw.provider, "sms_endpoint": f"http://127.0.0.1:{port}",
                "sms_access_key_id": "id-test" if tencent else "ak-test",
                "sms_access_key_secret": SecretStr("sk"),
                "sms_sign_name": "栾川县督查局", "sms_app_id": "1400000001",
                "sms_templates": {"default": "1001" if tencent else "SMS_1001",
                                  "supervision": "1002" if tencent else "SMS_1002"},
                **extra,
            }
        )
    )  # fmt: skip


async def _people(session: AsyncSession, world: World, phones: SecretBox) -> None:
    for key, duties, mobile in (("liaison", ["liaison"], LIAISON), ("head", ["unit_head"], HEAD)):
        session.add(
            AppUser(
                username=f"{key}-{uuid.uuid4().hex[:6]}",
                display_name=f"县{key}",
                password_hash="x",
                unit_id=world.units["A"].id,
                roles=["reporter"],
                duties=duties,
                mobile_encrypted=phones.seal(mobile),
            )
        )
    await session.commit()


async def test_the_supervision_rung_reaches_the_head_and_a_throttled_message_goes_once(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    notifier_settings: NotifierSettings,
    gateway: tuple[Gateway, int],
) -> None:
    """Urging on 26 September reaches the liaison; supervision on the 29th the unit head too —
    whose first request the provider throttles: it is sent a minute later, once."""
    world, (gw, port) = approved, gateway
    phones = SecretBox("test", "phone")
    await _people(session, world, phones)
    channel = sms(notifier_settings, gw, port)
    await sweep(sessions, morning(date(2018, 9, 26)))
    first = await deliver(sessions, channel, phones, morning(date(2018, 9, 26)))
    assert first["sent"] == 1 and [r["answer"] for r in gw.to(LIAISON)] == ["ok"] and gw.to(HEAD) == []

    gw.script[HEAD] = ["throttle"]
    when = morning(date(2018, 9, 29))
    await sweep(sessions, when)
    throttled = await deliver(sessions, channel, phones, when)
    again = await deliver(sessions, channel, phones, when + timedelta(minutes=1))
    later = await deliver(sessions, channel, phones, when + timedelta(minutes=30))
    assert (throttled["retrying"], again["sent"], later["sent"]) == (1, 1, 0)
    to_head = gw.to(HEAD)
    assert [r["answer"] for r in to_head] == ["throttle", "ok"] and to_head[0]["ref"] == to_head[1]["ref"]
    request = to_head[1]
    assert request["sign"] == "栾川县督查局" and request["template"] in ("1002", "SMS_1002")  # supervision's
    params = request["params"]
    if gw.provider == "aliyun":  # named parameters
        assert set(params) == {"unit", "count", "kind", "due"} and params["kind"] == "督办"
    else:  # positional, in the template's order
        assert len(params) == 4 and params[2] == "督办"

    row = await session.scalar(
        select(NoticeDelivery).where(col(NoticeDelivery.id) == uuid.UUID(request["ref"]))
    )
    assert row is not None and (row.state, row.attempts, row.channel, row.address) == (
        "sent",
        2,
        "sms",
        "139****0002",
    )
    assert row.provider_id and (
        "900619746936498440" in row.provider_id or "2028:3275489271920" in row.provider_id
    )
    assert "RequestId" in row.provider_id and row.duties == ["unit_head"]


async def test_a_bad_number_is_failed_for_good(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    notifier_settings: NotifierSettings,
    gateway: tuple[Gateway, int],
) -> None:
    world, (gw, port) = approved, gateway
    phones = SecretBox("test", "phone")
    unit = await session.get_one(Unit, world.units["A"].id)
    unit.liaison_name, unit.liaison_phone_encrypted = "李四", phones.seal(BROKEN)
    await session.commit()
    gw.script[BROKEN] = ["bad"]
    channel, when = sms(notifier_settings, gw, port), morning(date(2018, 9, 26))
    await sweep(sessions, when)
    outcome = await deliver(sessions, channel, phones, when)
    await deliver(sessions, channel, phones, when + timedelta(hours=2))
    assert outcome["failed"] == 1 and len(gw.to(BROKEN)) == 1
    row = await session.scalar(select(NoticeDelivery).where(col(NoticeDelivery.person) == "liaison"))
    assert row is not None and row.state == "failed" and row.error is not None
    assert "MOBILE_NUMBER_ILLEGAL" in row.error or "IncorrectPhoneNumber" in row.error


async def test_one_number_gets_at_most_the_days_cap(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    notifier_settings: NotifierSettings,
    gateway: tuple[Gateway, int],
) -> None:
    """One person is the named liaison of two counties: with a cap of one message a day, the
    second county's digest waits for the next morning."""
    world, (gw, port) = approved, gateway
    phones = SecretBox("test", "phone")
    for code in ("A", "B"):
        unit = await session.get_one(Unit, world.units[code].id)
        unit.liaison_name, unit.liaison_phone_encrypted = "李四", phones.seal(LIAISON)
    world.projects["B"].status = "approved"
    await session.commit()
    channel, when = sms(notifier_settings, gw, port, sms_daily_cap=1), morning(date(2018, 9, 26))
    await sweep(sessions, when)
    today = await deliver(sessions, channel, phones, when)
    assert (today["sent"], today["retrying"]) == (1, 1) and len(gw.to(LIAISON)) == 1
    tomorrow = await deliver(sessions, channel, phones, morning(date(2018, 9, 27)))
    assert tomorrow["sent"] >= 1 and len(gw.to(LIAISON)) == 1 + tomorrow["sent"]
