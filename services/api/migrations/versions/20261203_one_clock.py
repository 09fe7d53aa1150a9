"""one clock: ladders give each rung its working days; chains start on a kind of rung, not a
number; a chain's close reason is one of ChainClosed's words

Programs' stored ladders and the copies open chains keep are rewritten in the shape of one
clock (shared/program_settings.py): a rung that fired n working days after the one below now
gives the one below n - 1 working days; a reminder's negative delay becomes
before_working_days; a rung reached only by an event has by_time false. Condition rules'
start_level becomes start_kind (the kind of the program's rung of that number).

Revision ID: 20261203_0027
Revises: 20261203_0026
Create Date: 2026-12-03 15:00:00+00:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_0027"
down_revision: str | None = "20261203_0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_KINDS = ["reminder", "urging", "supervision", "criticism", "interview", "accountability"]
REASONS = [
    "report_filed", "milestone_met", "problem_resolved", "caught_up", "moving_again",
    "rule_switched_off", "feedback_accepted", "praised", "no_rung",
]  # fmt: skip
KINDS = [*DEFAULT_KINDS, "praise"]
CONDITION_RULES = ("investment_behind", "not_moving", "moving_slowly")


def _in(column: str, words: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(w) for w in words)})"


def _one_clock(levels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not any("after_working_days" in lv for lv in levels):
        return levels
    rungs = [dict(lv) for lv in levels]
    afters = [r.pop("after_working_days", None) for r in rungs]
    for i, rung in enumerate(rungs):
        if rung.get("kind") == "reminder":
            after = afters[i]
            rung["before_working_days"] = -after if isinstance(after, int) and after < 0 else 2
            continue
        if i and rungs[i - 1].get("kind") != "reminder":
            after = afters[i]
            if after is None:
                rung["by_time"] = False
            elif after >= 1 and "working_days" not in rungs[i - 1]:
                rungs[i - 1]["working_days"] = after - 1
    return rungs


def _before_one_clock(levels: list[dict[str, Any]], default_days: int) -> list[dict[str, Any]]:
    rungs = [dict(lv) for lv in levels]
    out = []
    for i, rung in enumerate(rungs):
        old = {k: rung[k] for k in ("level", "kind", "recipient")}
        if rung["kind"] == "reminder":
            old["after_working_days"] = -(rung.get("before_working_days") or 2)
        elif i == 0 or rungs[i - 1]["kind"] == "reminder":
            old["after_working_days"] = 0
        elif rung.get("by_time", True):
            given = rungs[i - 1].get("working_days")
            old["after_working_days"] = (default_days if given is None else given) + 1
        else:
            old["after_working_days"] = None
        out.append(old)
    return out


def _kind_of(levels: list[dict[str, Any]], number: Any) -> str:
    found = next((lv["kind"] for lv in levels if lv.get("level") == number), None)
    return found or DEFAULT_KINDS[number if isinstance(number, int) and 0 <= number < 6 else 1]


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("notice_chain", sa.Column("start_kind", sa.String(length=32), nullable=True))
    for chain_id, policy, first_level in bind.execute(
        sa.text("SELECT id, policy, first_level FROM notice_chain")
    ).all():
        levels = policy.get("levels", [])
        bind.execute(
            sa.text("UPDATE notice_chain SET policy = CAST(:p AS jsonb), start_kind = :k WHERE id = :id"),
            {
                "id": chain_id,
                "p": json.dumps({**policy, "levels": _one_clock(levels)}, ensure_ascii=False),
                "k": None if first_level is None else _kind_of(levels, first_level),
            },
        )
    for program_id, settings in bind.execute(sa.text("SELECT id, settings FROM program")).all():
        levels = settings.get("escalation_policy", {}).get("levels", [])
        rules = dict(settings.get("notice_rules", {}))
        rules.pop("supervision_cosigned_by", None)
        for name in CONDITION_RULES:
            rule = dict(rules.get(name, {}))
            if "start_level" in rule:
                rule["start_kind"] = _kind_of(levels, rule.pop("start_level"))
                rules[name] = rule
        new = {**settings, "notice_rules": rules}
        if levels:
            new["escalation_policy"] = {**settings["escalation_policy"], "levels": _one_clock(levels)}
        bind.execute(
            sa.text("UPDATE program SET settings = CAST(:s AS jsonb) WHERE id = :id"),
            {"id": program_id, "s": json.dumps(new, ensure_ascii=False)},
        )
    op.drop_column("notice_chain", "first_level")
    op.create_check_constraint("closed_reason", "notice_chain", _in("closed_reason", REASONS))
    op.create_check_constraint("start_kind", "notice_chain", _in("start_kind", KINDS))


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_constraint(op.f("ck_notice_chain_start_kind"), "notice_chain", type_="check")
    op.drop_constraint(op.f("ck_notice_chain_closed_reason"), "notice_chain", type_="check")
    op.add_column("notice_chain", sa.Column("first_level", sa.Integer(), nullable=True))
    for chain_id, policy, kind in bind.execute(
        sa.text("SELECT id, policy, start_kind FROM notice_chain")
    ).all():
        levels = policy.get("levels", [])
        number = next((lv["level"] for lv in levels if lv["kind"] == kind), None) if kind else None
        bind.execute(
            sa.text("UPDATE notice_chain SET policy = CAST(:p AS jsonb), first_level = :n WHERE id = :id"),
            {
                "id": chain_id,
                "p": json.dumps({**policy, "levels": _before_one_clock(levels, 5)}, ensure_ascii=False),
                "n": number,
            },
        )
    for program_id, settings in bind.execute(sa.text("SELECT id, settings FROM program")).all():
        levels = settings.get("escalation_policy", {}).get("levels", [])
        rules = dict(settings.get("notice_rules", {}))
        days = rules.get("default_due_in_working_days", 5)
        for name in CONDITION_RULES:
            rule = dict(rules.get(name, {}))
            if "start_kind" in rule:
                kind = rule.pop("start_kind")
                rule["start_level"] = next((lv["level"] for lv in levels if lv["kind"] == kind), 1)
                rules[name] = rule
        new = {**settings, "notice_rules": rules}
        if levels:
            new["escalation_policy"] = {
                **settings["escalation_policy"],
                "levels": _before_one_clock(levels, days),
            }
        bind.execute(
            sa.text("UPDATE program SET settings = CAST(:s AS jsonb) WHERE id = :id"),
            {"id": program_id, "s": json.dumps(new, ensure_ascii=False)},
        )
    op.drop_column("notice_chain", "start_kind")
