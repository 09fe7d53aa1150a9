"""Migrations that rewrite stored data: what a program and an open chain kept before one clock
is read the same after it, and back."""

import asyncio
import json

import asyncpg

from services.api.migrate import downgrade, upgrade
from shared.db import plain_url
from shared.program_settings import EscalationPolicy, ProgramSettings, default_escalation_policy

BEFORE = "20261203_0026"
OLD_LADDER = [
    {"level": 0, "kind": "reminder", "after_working_days": -2, "recipient": "liaison"},
    {"level": 1, "kind": "urging", "after_working_days": 0, "recipient": "unit"},
    {"level": 2, "kind": "supervision", "after_working_days": 3, "recipient": "unit_head"},
    {"level": 3, "kind": "criticism", "after_working_days": 5, "recipient": "all_units"},
    {"level": 4, "kind": "interview", "after_working_days": 10, "recipient": "unit_principal"},
    {"level": 5, "kind": "accountability", "after_working_days": None, "recipient": "discipline"},
]
OLD_SETTINGS = {
    "escalation_policy": {"levels": OLD_LADDER},
    "notice_rules": {
        "supervision_cosigned_by": "督查室",
        "not_moving": {"enabled": True, "months": 3, "start_level": 4},
        "moving_slowly": {"enabled": True, "below": 0.6, "start_level": 1},
    },
}


async def test_ladders_and_start_levels_kept_before_one_clock_are_rewritten_and_back(
    empty_database: str,
) -> None:
    await asyncio.to_thread(upgrade, empty_database, BEFORE)
    conn = await asyncpg.connect(plain_url(empty_database))
    try:
        office = await conn.fetchval(
            "INSERT INTO unit (id, code, name, kind, path, version, created_at) VALUES "
            "(gen_random_uuid(), 'P', '省办', 'office', '/', 1, now()) RETURNING id"
        )
        program = await conn.fetchval(
            "INSERT INTO program (id, code, name, year, office_unit_id, categories, settings, version, "
            "created_at) VALUES (gen_random_uuid(), 'P', '百城', 2018, $1, '{}', $2::jsonb, 1, now()) "
            "RETURNING id",
            office, json.dumps(OLD_SETTINGS),
        )  # fmt: skip
        chain = await conn.fetchval(
            "INSERT INTO notice_chain (id, program_id, rule, subject_type, subject_id, schedule_kind, "
            "period, recipient_unit_id, due_date, policy, level, first_level, state, opened_at, title) "
            "VALUES (gen_random_uuid(), $1, 'ranking', 'unit', $2, 'ranking', '2018-Q3', $2, "
            "'2018-10-12', $3::jsonb, -1, 3, 'open', now(), 'A') RETURNING id",
            program, office, json.dumps({"levels": OLD_LADDER}),
        )  # fmt: skip
        await asyncio.to_thread(upgrade, empty_database)
        settings = ProgramSettings.model_validate(
            json.loads(await conn.fetchval("SELECT settings FROM program WHERE id = $1", program))
        )
        assert settings.escalation_policy == default_escalation_policy()  # the same firing days
        rules = settings.notice_rules
        assert (rules.not_moving.start_kind, rules.moving_slowly.start_kind) == ("interview", "urging")
        kept = await conn.fetchrow("SELECT policy, start_kind FROM notice_chain WHERE id = $1", chain)
        assert kept["start_kind"] == "criticism"
        assert EscalationPolicy.model_validate(json.loads(kept["policy"])) == default_escalation_policy()
        assert "after_working_days" not in kept["policy"]
        await asyncio.to_thread(downgrade, empty_database, BEFORE)
        back = await conn.fetchrow("SELECT policy, first_level FROM notice_chain WHERE id = $1", chain)
        assert back["first_level"] == 3 and json.loads(back["policy"])["levels"] == OLD_LADDER
        old = json.loads(await conn.fetchval("SELECT settings FROM program WHERE id = $1", program))
        assert old["escalation_policy"]["levels"] == OLD_LADDER
        assert old["notice_rules"]["not_moving"]["start_level"] == 4
    finally:
        await conn.close()
