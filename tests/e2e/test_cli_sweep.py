"""`duban notifier sweep --as-of` replays a day as the cron would, and what it sends through the
`log` channel is in its log, not marked sent and lost."""

import asyncio
import email
import json
import subprocess
import sys
import uuid
from datetime import date
from decimal import Decimal
from email.policy import default as policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from shared.crypto import SecretBox
from shared.db import create_engine, session_factory
from shared.models import AppUser, Program, Project, Unit
from shared.program_settings import ProgramSettings
from shared.settings import ApiSettings
from tests.e2e.conftest import own_database
from tests.helpers import free_port

pytestmark = pytest.mark.e2e


async def _county(env: dict[str, str], email: str | None = None) -> None:
    """An office and a county (with its liaison) owing September 2018's project form."""
    settings = ApiSettings(database_url=env["DUBAN_DATABASE_URL"], redis_url=env["DUBAN_REDIS_URL"])
    engine = create_engine(settings)
    phones = SecretBox(settings.secret_key.get_secret_value(), "phone")
    try:
        async with session_factory(engine)() as s:
            office, county = uuid.uuid4(), uuid.uuid4()
            s.add(Unit(id=office, code="OFF", name="督查室", kind="office", path=f"/{office}/"))
            s.add(Unit(id=county, code="LC", name="栾川县", kind="government", parent_id=office,
                       path=f"/{office}/{county}/", liaison_name="李四",
                       liaison_phone_encrypted=phones.seal("13800001234")))  # fmt: skip
            program = Program(code="BC", name="重点项目", year=2018, office_unit_id=office,
                              settings=ProgramSettings().model_dump(mode="json"))  # fmt: skip
            s.add(program)
            await s.flush()
            if email:  # the county's liaison as a person with an account and an address
                s.add(AppUser(username="lc-liaison", display_name="李四", password_hash="x", unit_id=county,
                              roles=["reporter"], email=email, duties=["liaison"]))  # fmt: skip
            s.add(Project(
                program_id=program.id, code="K-1", name="伏牛山滑雪场", category="现代产业",
                region_unit_id=county, owner_unit_id=county, responsible_unit_id=county,
                leader={"name": "张三", "title": "副县长"}, construction="new", stage="construction",
                status="approved", total_investment=Decimal(1000), annual_plan=Decimal(600),
                start_date=date(2018, 1, 1), end_date=date(2019, 12, 31), created_by="test",
            ))  # fmt: skip
            await s.commit()
    finally:
        await engine.dispose()


async def test_a_replayed_sweep_logs_the_digests_it_sends(base_env: dict[str, str]) -> None:
    async with own_database(base_env, "cli_sweep") as env:
        await _county(env)
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "services.cli.main", "notifier", "sweep", "--as-of", "2018-09-26"],
            env={**env, "DUBAN_LOG_LEVEL": "INFO", "DUBAN_LOG_FORMAT": "json"},
            capture_output=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr.decode()
    outcome = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert outcome["issued"] >= 1 and outcome["sent"] >= 1
    logged = [json.loads(line) for line in done.stderr.decode().splitlines() if line.startswith("{")]
    told = [line for line in logged if line.get("msg") == "notice digest"]
    assert told, done.stderr.decode()[-2000:]
    assert told[0]["unit"] == "栾川县" and told[0]["phone"] == "138****1234"
    assert "伏牛山滑雪场" in told[0]["body"]


async def test_a_replayed_sweep_emails_the_liaison_through_the_configured_server(
    base_env: dict[str, str],
) -> None:
    """DUBAN_NOTICE_CHANNELS=email with the SMTP settings: the command line's pass sends the
    day's digest to a real SMTP server, once however often it is replayed."""
    received: list[bytes] = []

    class Box:
        async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
            assert isinstance(envelope.content, bytes)
            received.append(envelope.content)
            return "250 OK"

    port = free_port()
    server = Controller(Box(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        async with own_database(base_env, "cli_email") as env:
            await _county(env, email="lisi@luanchuan.example.cn")
            mail_env = {
                **env, "DUBAN_NOTICE_CHANNELS": "email", "DUBAN_SMTP_HOST": "127.0.0.1",
                "DUBAN_SMTP_PORT": str(port), "DUBAN_SMTP_STARTTLS": "false",
                "DUBAN_SMTP_FROM": "督办系统 <duban@office.example.cn>",
            }  # fmt: skip
            outcomes = []
            for _ in range(2):
                done = await asyncio.to_thread(
                    subprocess.run,
                    [sys.executable, "-m", "services.cli.main", "notifier", "sweep", "--as-of", "2018-09-26"],
                    env=mail_env, capture_output=True, timeout=120,
                )  # fmt: skip
                assert done.returncode == 0, done.stderr.decode()
                outcomes.append(json.loads(done.stdout.decode().strip().splitlines()[-1]))
    finally:
        server.stop()
    assert (outcomes[0]["sent"], outcomes[1]["sent"]) == (1, 0)
    [mail] = [email.message_from_bytes(m, policy=policy) for m in received]
    plain = mail.get_body(("plain",))
    assert mail["To"].endswith("<lisi@luanchuan.example.cn>") and plain is not None
    assert "伏牛山滑雪场" in plain.get_content()
