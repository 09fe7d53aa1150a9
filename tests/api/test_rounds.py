"""Observation rounds: the office sets one up (and is told everything it got wrong at once), the
inspectors score from phones that go offline, resend and take scores out of order."""

import io
import json
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.api.auth.principal import issue_token
from services.ranker.scoring import rank_round
from shared import clock
from shared.models import AppUser, ObservationScore, OutboxMessage
from shared.settings import ApiSettings
from tests.world import World, at

RUBRIC = [
    {"key": "progress", "name": "形象进度", "weight": "0.6", "max_score": "60"},
    {"key": "quality", "name": "质量安全", "weight": "0.4", "max_score": "40"},
]
OPENS, CLOSES = "2018-09-10T08:00:00+08:00", "2018-09-14T18:00:00+08:00"


@pytest.fixture
async def scene(world: World, session: AsyncSession, password_hash: str, api_settings: ApiSettings) -> World:
    """Projects A and B approved; an inspector at the province office (above both counties)."""
    world.projects["A"].status = "approved"
    world.projects["B"].status = "approved"
    user = AppUser(
        username=f"p_inspector-{uuid.uuid4().hex[:6]}",
        display_name="省督查员",
        password_hash=password_hash,
        unit_id=world.units["P"].id,
        roles=["inspector"],
    )
    session.add(user)
    await session.commit()
    world.users["p_inspector"] = user
    world.tokens["p_inspector"], _ = issue_token(api_settings, subject=f"user:{user.id}", extra={})
    return world


def round_body(w: World, **changes: Any) -> dict[str, Any]:
    return {
        "program_id": str(w.programs["P"].id),
        "name": "2018年第三季度观摩评比",
        "quarter": "2018Q3",
        "opens_at": OPENS,
        "closes_at": CLOSES,
        "rubric": RUBRIC,
        "project_ids": [str(w.projects["A"].id), str(w.projects["B"].id)],
        "inspector_user_ids": [str(w.users["a_inspector"].id), str(w.users["p_inspector"].id)],
        **changes,
    }


async def open_round(client: AsyncClient, w: World) -> str:
    r = await client.post("/api/v1/rounds", json=round_body(w), headers=w.auth("p_staff"))
    assert r.status_code == 201, r.text
    round_id = r.json()["id"]
    r = await client.post(f"/api/v1/rounds/{round_id}/open", headers=w.auth("p_staff"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "open"
    return str(round_id)


def score(w: World, project: str, criterion: str, value: float, taken: str, **extra: Any) -> dict[str, Any]:
    return {
        "client_id": str(extra.pop("client_id", uuid.uuid4())),
        "project_id": str(w.projects[project].id),
        "criterion": criterion,
        "value": value,
        "scored_at": taken,
    }


async def send(client: AsyncClient, w: World, round_id: str, who: str, *scores: dict[str, Any]) -> Any:
    r = await client.post(
        f"/api/v1/rounds/{round_id}/scores", json={"scores": list(scores)}, headers=w.auth(who)
    )
    assert r.status_code == 200, r.text
    return r.json()


async def standing(session: AsyncSession, round_id: str) -> dict[tuple[str, str], Decimal]:
    rows = await session.scalars(
        select(ObservationScore)
        .where(col(ObservationScore.round_id) == uuid.UUID(round_id))
        .execution_options(populate_existing=True)
    )
    return {(str(s.project_id), s.criterion): s.value for s in rows}


async def test_a_round_with_everything_wrong_names_each_field(client: AsyncClient, scene: World) -> None:
    body = round_body(
        scene,
        rubric=[*RUBRIC, {"key": "progress", "name": "重复", "weight": "1", "max_score": "10"}],
        observation_weight="0.7",
        project_ids=[str(scene.projects["A"].id), str(scene.projects["QC"].id)],
        inspector_user_ids=[str(scene.users["a_reporter"].id), str(uuid.uuid4())],
        closes_at=OPENS,
    )
    r = await client.post("/api/v1/rounds", json=body, headers=scene.auth("p_staff"))
    assert r.status_code == 422, r.text
    locs = {tuple(e["loc"]) for e in r.json()["errors"]}
    assert locs == {
        ("body", "closes_at"),
        ("body", "objective_weights"),  # 0.7 + 0.2 + 0.1 + 0.1 = 1.1
        ("body", "rubric", 2, "key"),
        ("body", "project_ids", 1),  # another program's project
        ("body", "inspector_user_ids", 0),  # a reporter, not an inspector
        ("body", "inspector_user_ids", 1),  # nobody
    }
    assert "1.1" in r.json()["detail"]
    # with a fault the schema finds (a quarter that is not one) the rest are in the same answer
    r = await client.post("/api/v1/rounds", json={**body, "quarter": "2018Q5"}, headers=scene.auth("p_staff"))
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == locs | {("body", "quarter")}, r.json()
    zero = round_body(scene, rubric=[{"key": "k", "name": "n", "weight": "0", "max_score": "10"}])
    r = await client.post("/api/v1/rounds", json=zero, headers=scene.auth("p_staff"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "rubric", 0, "weight"]
    submitted = round_body(scene)
    scene.projects["B"].status = "submitted"
    r = await client.post("/api/v1/rounds", json=submitted, headers=scene.auth("a_reporter"))
    assert r.status_code == 403  # counties do not run rounds


async def test_an_inspector_of_another_city_is_refused_as_an_unknown_id_is(
    client: AsyncClient, scene: World, session: AsyncSession
) -> None:
    """Q's inspector is outside P's subtree: naming them is the same 422, in the same words, as
    naming nobody, so the answer tells P's office nothing about who exists elsewhere."""
    scene.users["q_admin"].roles = ["inspector"]
    await session.commit()
    answers = []
    for someone in (scene.users["q_admin"].id, uuid.uuid4()):
        body = round_body(scene, inspector_user_ids=[str(scene.users["a_inspector"].id), str(someone)])
        r = await client.post("/api/v1/rounds", json=body, headers=scene.auth("p_staff"))
        assert r.status_code == 422, r.text
        [error] = r.json()["errors"]
        answers.append((error["loc"], error["msg"].replace(str(someone), "…")))
    assert (
        answers[0]
        == answers[1]
        == (["body", "inspector_user_ids", 1], "there is no active user … that you can see")
    )


async def test_only_an_open_round_takes_scores_and_only_from_its_inspectors(
    client: AsyncClient, scene: World
) -> None:
    r = await client.post("/api/v1/rounds", json=round_body(scene), headers=scene.auth("p_staff"))
    round_id = r.json()["id"]
    with clock.use_clock(at("2018-09-11 10:00")):
        one = score(scene, "B", "progress", 50, "2018-09-11T09:30:00+08:00")
        r = await client.post(
            f"/api/v1/rounds/{round_id}/scores", json={"scores": [one]}, headers=scene.auth("a_inspector")
        )
        assert r.status_code == 409 and "opens it" in r.json()["detail"]
        await client.post(f"/api/v1/rounds/{round_id}/open", headers=scene.auth("p_staff"))
        r = await client.post(
            f"/api/v1/rounds/{round_id}/scores", json={"scores": [one]}, headers=scene.auth("a_reporter")
        )
        assert r.status_code == 403
        out = await send(client, scene, round_id, "a_inspector", one)
    assert out["accepted"] == 1 and out["items"][0]["status"] == "accepted"


async def test_each_bad_score_is_rejected_with_its_reason_and_the_rest_count(
    client: AsyncClient, scene: World, session: AsyncSession
) -> None:
    with clock.use_clock(at("2018-09-12 10:00")):
        round_id = await open_round(client, scene)
        taken = "2018-09-12T09:00:00+08:00"
        out = await send(
            client, scene, round_id, "a_inspector",
            score(scene, "B", "progress", 55.5, taken),
            score(scene, "B", "quality", 41, taken),  # over its max of 40
            score(scene, "B", "looks", 5, taken),  # not in the rubric
            score(scene, "A", "progress", 50, taken),  # the inspector's own county's project
            score(scene, "QC", "progress", 50, taken),  # not in this round
            score(scene, "B", "quality", 30, "2018-09-09T09:00:00+08:00"),  # before the window
            score(scene, "B", "quality", 30, "2018-09-12T12:00:00+08:00"),  # hours in the future
        )  # fmt: skip
        assert [i["status"] for i in out["items"]] == ["accepted", *["rejected"] * 6]
        assert [r["error"] for r in out["rejected"]] == [
            "value-out-of-range",
            "unknown-criterion",
            "conflict-of-interest",
            "project-not-in-round",
            "outside-window",
            "scored-in-future",
        ]
        assert (
            "质量安全 (quality)" in out["rejected"][0]["detail"] and "0 to 40" in out["rejected"][0]["detail"]
        )
        assert "形象进度 (progress)" in out["rejected"][1]["detail"]  # the rubric, by name
        # the province's inspector sits above county A: no conflict
        office = await send(client, scene, round_id, "p_inspector", score(scene, "A", "progress", 48, taken))
        assert office["accepted"] == 1
        for literal in ("NaN", "Infinity"):
            item = score(scene, "B", "quality", 0, taken)
            raw = json.dumps({"scores": [{**item, "value": "?"}]}).replace('"?"', literal)
            r = await client.post(
                f"/api/v1/rounds/{round_id}/scores",
                content=raw,
                headers={**scene.auth("a_inspector"), "Content-Type": "application/json"},
            )
            assert r.status_code == 200, r.text
            assert r.json()["rejected"][0]["error"] == "value-not-a-number", literal
        # a value that is not a number costs that score, not the batch; a number written as a
        # string counts
        out = await send(
            client, scene, round_id, "a_inspector",
            {**score(scene, "B", "quality", 0, taken), "value": "十分"},
            {**score(scene, "B", "progress", 0, "2018-09-12T09:30:00+08:00"), "value": " 56.25 "},
            {**score(scene, "B", "quality", 0, taken), "value": "1_0"},
        )  # fmt: skip
        assert [i["status"] for i in out["items"]] == ["rejected", "accepted", "rejected"]
        assert out["rejected"][0]["error"] == "value-not-a-number" and "十分" in out["rejected"][0]["detail"]
        too_many = [score(scene, "B", "progress", 1, taken) for _ in range(501)]
        r = await client.post(
            f"/api/v1/rounds/{round_id}/scores", json={"scores": too_many}, headers=scene.auth("a_inspector")
        )
        assert r.status_code == 413 and "500" in r.json()["detail"]
    assert await standing(session, round_id) == {
        (str(scene.projects["B"].id), "progress"): Decimal("56.25"),
        (str(scene.projects["A"].id), "progress"): Decimal(48),
    }


async def test_an_offline_phone_resends_everything_out_of_order_and_each_score_counts_once(
    client: AsyncClient, scene: World, session: AsyncSession
) -> None:
    """Taken on the site on Thursday, replaced on Friday; the phone was offline until after the
    round closed and then sent its batches twice, the newest first and the oldest last."""
    with clock.use_clock(at("2018-09-10 09:00")):
        round_id = await open_round(client, scene)
    b = str(scene.projects["B"].id)
    first = score(scene, "B", "progress", 40, "2018-09-13T10:00:00+08:00")
    quality = score(scene, "B", "quality", 30, "2018-09-13T10:01:00+08:00")
    second = score(scene, "B", "progress", 52, "2018-09-14T11:00:00+08:00")
    with clock.use_clock(at("2018-09-14 18:30")):
        r = await client.post(f"/api/v1/rounds/{round_id}/close", headers=scene.auth("p_staff"))
        assert r.status_code == 202 and r.json()["state"] == "closed"
    with clock.use_clock(at("2018-09-15 09:00")):  # within the 24 h of grace
        newest = await send(client, scene, round_id, "a_inspector", second)
        again = await send(client, scene, round_id, "a_inspector", second, quality)
        oldest = await send(client, scene, round_id, "a_inspector", first, quality)
        oldest_again = await send(client, scene, round_id, "a_inspector", first)
    assert [i["status"] for i in newest["items"]] == ["accepted"]
    assert [i["status"] for i in again["items"]] == ["duplicate", "accepted"]
    assert [i["status"] for i in oldest["items"]] == ["superseded", "duplicate"]
    assert [i["status"] for i in oldest_again["items"]] == ["duplicate"]
    assert await standing(session, round_id) == {(b, "progress"): Decimal(52), (b, "quality"): Decimal(30)}
    with clock.use_clock(at("2018-09-15 18:30")):  # the grace is over
        late = await send(
            client,
            scene,
            round_id,
            "a_inspector",
            second,
            score(scene, "B", "quality", 35, "2018-09-14T12:00:00+08:00"),
        )
    assert [i["status"] for i in late["items"]] == ["duplicate", "rejected"]
    assert late["rejected"][0]["error"] == "round-closed"
    assert await standing(session, round_id) == {(b, "progress"): Decimal(52), (b, "quality"): Decimal(30)}


async def test_the_same_criterion_twice_in_a_batch_keeps_the_later_one(
    client: AsyncClient, scene: World, session: AsyncSession
) -> None:
    with clock.use_clock(at("2018-09-12 10:00")):
        round_id = await open_round(client, scene)
        later = score(scene, "B", "progress", 45, "2018-09-12T09:30:00+08:00")
        earlier = score(scene, "B", "progress", 58, "2018-09-12T09:00:00+08:00")
        out = await send(client, scene, round_id, "a_inspector", later, earlier)
    assert [i["status"] for i in out["items"]] == ["accepted", "superseded"]
    assert out["accepted"] == 1 and out["superseded"] == 1
    assert await standing(session, round_id) == {(str(scene.projects["B"].id), "progress"): Decimal(45)}


async def test_two_scores_taken_at_the_same_instant_resolve_the_same_whatever_arrives_first(
    client: AsyncClient, scene: World, session: AsyncSession
) -> None:
    """Two phones' clocks (or one phone's double tap) stamp one criterion at the same second: the
    score with the greater client_id stands, in either order of arrival, in one batch or two."""
    b = str(scene.projects["B"].id)
    with clock.use_clock(at("2018-09-12 10:00")):
        round_id = await open_round(client, scene)
        low = score(scene, "B", "progress", 45, "2018-09-12T09:30:00+08:00")
        high = score(scene, "B", "progress", 58, "2018-09-12T09:30:00+08:00")
        if low["client_id"] > high["client_id"]:
            low["client_id"], high["client_id"] = high["client_id"], low["client_id"]
        first = await send(client, scene, round_id, "a_inspector", low)
        second = await send(client, scene, round_id, "a_inspector", high)
    assert [i["status"] for i in first["items"] + second["items"]] == ["accepted", "accepted"]
    assert await standing(session, round_id) == {(b, "progress"): Decimal(58)}
    with clock.use_clock(at("2018-09-12 10:00")):
        other = await open_round(client, scene)
        both = await send(client, scene, other, "a_inspector", high, low)
    assert [i["status"] for i in both["items"]] == ["accepted", "superseded"]
    assert await standing(session, other) == {(b, "progress"): Decimal(58)}


async def test_only_the_office_reads_another_inspectors_assignments(
    client: AsyncClient, scene: World
) -> None:
    with clock.use_clock(at("2018-09-12 10:00")):
        round_id = await open_round(client, scene)
    url = f"/api/v1/rounds/{round_id}/assignments"
    whose = {"inspector_user_id": str(scene.users["a_inspector"].id)}
    answers = {
        who: (await client.get(url, params=whose, headers=scene.auth(who))).status_code
        for who in ("p_staff", "p_admin", "p_auditor", "p_inspector")
    }
    assert answers == {"p_staff": 200, "p_admin": 200, "p_auditor": 403, "p_inspector": 403}


async def test_a_phone_resumes_from_its_assignments(client: AsyncClient, scene: World) -> None:
    with clock.use_clock(at("2018-09-12 10:00")):
        round_id = await open_round(client, scene)
        await send(
            client,
            scene,
            round_id,
            "a_inspector",
            score(scene, "B", "progress", 50, "2018-09-12T09:00:00+08:00"),
        )
        mine = await client.get(f"/api/v1/rounds/{round_id}/assignments", headers=scene.auth("a_inspector"))
        office = await client.get(
            f"/api/v1/rounds/{round_id}/assignments",
            params={"inspector_user_id": str(scene.users["p_inspector"].id)},
            headers=scene.auth("p_staff"),
        )
        other = await client.get(
            f"/api/v1/rounds/{round_id}/assignments",
            params={"inspector_user_id": str(scene.users["p_inspector"].id)},
            headers=scene.auth("a_inspector"),
        )
    assert mine.status_code == 200, mine.text
    # project A is county A's own: not the inspector's to score
    assert [(a["code"], a["scored"], [c["key"] for c in a["left"]]) for a in mine.json()["data"]] == [
        ("PJ-B", 1, ["quality"])
    ]
    assert mine.json()["accepting_until"].startswith("2018-09-15T")
    assert [(a["code"], a["scored"]) for a in office.json()["data"]] == [("PJ-A", 0), ("PJ-B", 0)]
    assert other.status_code == 403


async def test_a_retried_batch_with_its_key_gets_the_first_answer(client: AsyncClient, scene: World) -> None:
    with clock.use_clock(at("2018-09-12 10:00")):
        round_id = await open_round(client, scene)
        body = {"scores": [score(scene, "B", "progress", 50, "2018-09-12T09:00:00+08:00")]}
        headers = {**scene.auth("a_inspector"), "Idempotency-Key": "batch-0001"}
        first = await client.post(f"/api/v1/rounds/{round_id}/scores", json=body, headers=headers)
        retry = await client.post(f"/api/v1/rounds/{round_id}/scores", json=body, headers=headers)
    assert first.status_code == retry.status_code == 200
    assert json.loads(retry.content) == json.loads(first.content)
    assert retry.json()["items"][0]["status"] == "accepted"  # not "duplicate": the same answer


async def _jobs(session: AsyncSession, job: str) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(OutboxMessage).where(col(OutboxMessage.job) == job).order_by(col(OutboxMessage.created_at))
    )
    return [m.payload for m in rows]


async def test_closing_ranks_the_round_and_the_office_publishes_the_latest_results(
    client: AsyncClient, scene: World, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    a, b = str(scene.projects["A"].id), str(scene.projects["B"].id)
    with clock.use_clock(at("2018-09-12 10:00")):
        round_id = await open_round(client, scene)
        taken = "2018-09-12T09:00:00+08:00"
        mine = [("A", "progress", 50), ("A", "quality", 30), ("B", "progress", 40), ("B", "quality", 30)]
        await send(client, scene, round_id, "p_inspector", *(score(scene, *m, taken) for m in mine))
        theirs = [("B", "progress", 50), ("B", "quality", 40)]
        await send(client, scene, round_id, "a_inspector", *(score(scene, *m, taken) for m in theirs))
        early = await client.get(f"/api/v1/rounds/{round_id}/results", headers=scene.auth("p_staff"))
        assert early.status_code == 409 and "closes it" in early.json()["detail"]
    with clock.use_clock(at("2018-09-14 18:30")):
        await client.post(f"/api/v1/rounds/{round_id}/close", headers=scene.auth("p_staff"))
        waiting = await client.get(f"/api/v1/rounds/{round_id}/results", headers=scene.auth("p_staff"))
    assert waiting.json()["state"] == "computing" and waiting.json()["rows"] == []
    assert {"round_id": round_id} in await _jobs(session, "rank_round")  # the ranker is asked

    snapshot = await rank_round(sessions, uuid.UUID(round_id))
    assert snapshot is not None and snapshot.version == 1
    r = await client.get(f"/api/v1/rounds/{round_id}", headers=scene.auth("p_staff"))
    assert r.json()["state"] == "ranked"
    for path in ("results", "results.xlsx", f"results/{b}/explain"):  # the scored wait for publication
        r = await client.get(f"/api/v1/rounds/{round_id}/{path}", headers=scene.auth("a_reporter"))
        assert r.status_code == 403 and "not published" in r.json()["detail"], (path, r.text)
    r = await client.get(f"/api/v1/rounds/{round_id}/results", headers=scene.auth("p_staff"))
    ready = r.json()
    assert ready["state"] == "ready" and ready["snapshot_version"] == 1 and len(ready["digest"]) == 64
    observation = {row["id"]: row["components"]["observation"] for row in ready["rows"]}
    # the round adjusts for rater effects (the default): p_inspector scored B 20 below a_inspector,
    # so their effects are -10 and +10; A: p_inspector's 80 + 10; B: (70 + 10 + 90 - 10) / 2
    assert observation == {a: "90.00", b: "80.00"}
    assert {row["id"]: row["raters"] for row in ready["rows"]} == {a: 1, b: 2}
    assert sorted(row["rank"] for row in ready["rows"]) in ([1, 2], [1, 1])
    severity = {s["inspector_id"]: s["severity"] for s in ready["fairness"]["inspectors"]}
    assert severity == {
        str(scene.users["a_inspector"].id): "10.00",
        str(scene.users["p_inspector"].id): "-10.00",
    }
    assert ready["fairness"]["rater_effects"]["applied"] is True
    named = {s["inspector_id"]: s["inspector"] for s in ready["fairness"]["inspectors"]}
    assert named[str(scene.users["a_inspector"].id)] == scene.users["a_inspector"].display_name
    units = await client.get(f"/api/v1/rounds/{round_id}/results?by=unit", headers=scene.auth("p_staff"))
    assert {row["name"] for row in units.json()["rows"]} == {"A", "B"}
    # a unit's row is a unit's: no project code, components or raters
    assert set(units.json()["rows"][0]) == {
        "rank", "id", "name", "score", "projects", "rank_interval", "distinguishable"
    }  # fmt: skip

    r = await client.get(f"/api/v1/rounds/{round_id}/results/{b}/explain", headers=scene.auth("p_staff"))
    assert r.status_code == 200, r.text
    explained = r.json()
    assert [(x["score"], x["adjusted"], x["counted"]) for x in explained["ratings"]] == [
        ("90.00", "80.00", True),
        ("70.00", "80.00", True),
    ]
    assert explained["working"][0] == "observation = mean of 2 adjusted scores = 80 → 80.00"
    composite = explained["working"][1]  # the terms to ten places add up to the total, then the cents
    terms = [Decimal(t) for t in re.findall(r"\((-?[0-9.]+)\)", composite)]
    total = Decimal(re.search(r"= (-?[0-9.]+) →", composite).group(1))  # type: ignore[union-attr]
    assert sum(terms) == total and composite.endswith(
        f"→ {explained['project']['score']} (half up, to the cent)"
    )

    r = await client.post(
        f"/api/v1/rounds/{round_id}/publish", json={"snapshot_version": 2}, headers=scene.auth("p_staff")
    )
    assert r.status_code == 409 and "version 1" in r.json()["detail"]
    r = await client.post(
        f"/api/v1/rounds/{round_id}/publish", json={"snapshot_version": 1}, headers=scene.auth("a_reporter")
    )
    assert r.status_code == 403
    r = await client.post(
        f"/api/v1/rounds/{round_id}/publish", json={"snapshot_version": 1}, headers=scene.auth("p_staff")
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "published" and r.json()["by"] == "project"  # as GET …/results
    again = await client.post(
        f"/api/v1/rounds/{round_id}/publish", json={"snapshot_version": 1}, headers=scene.auth("p_staff")
    )
    assert again.status_code == 409
    seen = (await client.get(f"/api/v1/rounds/{round_id}/results", headers=scene.auth("a_reporter"))).json()
    assert seen["snapshot_version"] == 1 and seen["fairness"]["inspectors"] == []  # no inspector named
    assert all(row["trimmed_inspectors"] == row["incomplete_inspectors"] == [] for row in seen["rows"])
    r = await client.get(f"/api/v1/rounds/{round_id}/results/{b}/explain", headers=scene.auth("a_reporter"))
    assert r.status_code == 200 and r.json()["ratings"] == [], r.text  # the sums, not who gave what
    assert r.json()["working"][0] == "observation = mean of 2 adjusted scores = 80 → 80.00"
    [published] = [
        e
        for e in await _jobs(session, "event")
        if e["event"] == "round.published" and e["subject_id"] == round_id
    ]
    assert published["data"]["quarter"] == "2018-Q3" and published["data"]["version"] == 1
    assert {u["unit_id"] for u in published["data"]["units"]} == {
        str(scene.units["A"].id),
        str(scene.units["B"].id),
    }

    with clock.use_clock(at("2018-09-15 09:00")):  # an offline phone within the grace period
        corrected = score(scene, "B", "quality", 20, "2018-09-14T17:00:00+08:00")  # taken before the close
        late = await send(client, scene, round_id, "a_inspector", corrected)
    assert late["accepted"] == 1
    assert [j for j in await _jobs(session, "rank_round") if j == {"round_id": round_id}] == [
        {"round_id": round_id}
    ] * 2
    newer = await rank_round(sessions, uuid.UUID(round_id))
    assert newer is not None and newer.version == 2
    r = await client.get(f"/api/v1/rounds/{round_id}/results?version=1", headers=scene.auth("p_staff"))
    assert r.json()["state"] == "published" and r.json()["digest"] == ready["digest"]  # untouched
    r = await client.get(f"/api/v1/rounds/{round_id}/results", headers=scene.auth("p_staff"))
    assert r.json()["state"] == "ready" and r.json()["snapshot_version"] == 2


async def test_the_year_is_assessed_from_published_rounds_and_published_through_the_ranker(
    client: AsyncClient, scene: World, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    program = str(scene.programs["P"].id)
    url = f"/api/v1/programs/{program}/assessment"
    r = await client.get(url, params={"year": 2018}, headers=scene.auth("a_reporter"))
    assert r.status_code == 200 and r.json()["units"] == [] and r.json()["published"] is None
    r = await client.post(f"{url}/publish", json={"year": 2018}, headers=scene.auth("p_staff"))
    assert r.status_code == 409 and "nothing to assess" in r.json()["detail"]

    with clock.use_clock(at("2018-09-12 10:00")):
        round_id = await open_round(client, scene)
        taken = "2018-09-12T09:00:00+08:00"
        scores = [("A", "progress", 60), ("A", "quality", 40), ("B", "progress", 30), ("B", "quality", 20)]
        await send(client, scene, round_id, "p_inspector", *(score(scene, *s, taken) for s in scores))
    with clock.use_clock(at("2018-09-14 18:30")):
        await client.post(f"/api/v1/rounds/{round_id}/close", headers=scene.auth("p_staff"))
    await rank_round(sessions, uuid.UUID(round_id))
    r = await client.post(
        f"/api/v1/rounds/{round_id}/publish",
        params={"by": "unit"},
        json={"snapshot_version": 1},
        headers=scene.auth("p_staff"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["by"] == "unit" and all(set(row) >= {"projects", "score"} for row in r.json()["rows"])
    units = {row["id"]: Decimal(row["score"]) for row in r.json()["rows"]}

    r = await client.get(url, params={"year": 2018, "half": 2}, headers=scene.auth("a_reporter"))
    assessed = r.json()
    assert [x["quarter"] for x in assessed["rounds"]] == ["2018Q3"]
    assert {u["unit_id"]: Decimal(u["score"]) for u in assessed["units"]} == units  # one round: its scores
    for u in assessed["units"]:
        want = "excellent" if Decimal(u["score"]) >= 85 else "pass" if Decimal(u["score"]) >= 60 else "fail"
        assert u["grade"] == want
    r = await client.post(f"{url}/publish", json={"year": 2018, "half": 2}, headers=scene.auth("a_reporter"))
    assert r.status_code == 403
    r = await client.post(f"{url}/publish", json={"year": 2018, "half": 2}, headers=scene.auth("p_staff"))
    assert r.status_code == 202, r.text
    [job] = await _jobs(session, "publish_assessment")
    assert (job["year"], job["half"]) == (2018, 2)

    from services.ranker.tasks import publish_assessment  # the ranker's job, as its worker runs it

    message = await session.scalar(
        select(OutboxMessage).where(col(OutboxMessage.job) == "publish_assessment")
    )
    assert message is not None
    ctx = {"sessions": sessions}
    assert await publish_assessment(ctx, str(message.id), job) == "version 1"
    assert await publish_assessment(ctx, str(message.id), job) == "duplicate"
    r = await client.get(url, params={"year": 2018, "half": 2}, headers=scene.auth("a_reporter"))
    published = r.json()["published"]
    assert published["version"] == 1 and published["units"] == assessed["units"]

    # the same, print-ready, with Chinese headers
    r = await client.get(f"/api/v1/rounds/{round_id}/results.xlsx", headers=scene.auth("a_reporter"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["项目排名", "单位排名", "地区排名"]
    sheet = list(book["项目排名"].iter_rows(values_only=True))
    assert "已发布" in sheet[0][0] and sheet[1][:5] == (
        "名次",
        "项目编号",
        "项目名称",
        "责任单位",
        "观摩得分",
    )
    assert sorted((row[1], row[4]) for row in sheet[2:]) == [("PJ-A", 100), ("PJ-B", 50)]
    assert book["项目排名"].print_title_rows == "$2:$2"  # the header on every printed page
    r = await client.get(f"{url}.xlsx", params={"year": 2018, "half": 2}, headers=scene.auth("a_reporter"))
    rows = list(load_workbook(io.BytesIO(r.content))["考核结果"].iter_rows(values_only=True))
    assert "2018年下半年考核结果" in rows[0][0]
    assert rows[1] == ("名次", "责任单位", "考核得分", "等次", "2018年第3季度")
    assert [(row[1], row[3]) for row in rows[2:]] == [
        (u["name"], {"excellent": "优良", "pass": "合格", "fail": "不合格"}[u["grade"]])
        for u in assessed["units"]
    ]


async def test_the_office_enters_its_year_end_evaluation_and_nothing_else_does(
    client: AsyncClient, scene: World
) -> None:
    url = f"/api/v1/programs/{scene.programs['P'].id}/assessment/year-end"
    a, b = str(scene.units["A"].id), str(scene.units["B"].id)
    body = {"year": 2018, "scores": [{"unit_id": a, "score": "88.5"}, {"unit_id": b, "score": 61}]}
    r = await client.put(url, json=body, headers=scene.auth("a_reporter"))
    assert r.status_code == 403
    twice = {"year": 2018, "scores": [{"unit_id": a, "score": 80}, {"unit_id": a, "score": 90}]}
    r = await client.put(url, json=twice, headers=scene.auth("p_staff"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "scores", 1, "unit_id"]
    elsewhere = {"year": 2018, "scores": [{"unit_id": str(scene.units["QC"].id), "score": 80}]}
    r = await client.put(url, json=elsewhere, headers=scene.auth("p_staff"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "scores", 0, "unit_id"]
    r = await client.put(
        url, json={"year": 2018, "scores": [{"unit_id": a, "score": 101}]}, headers=scene.auth("p_staff")
    )
    assert r.status_code == 422
    # the office itself is responsible for no project of the program: it is not assessed
    office = {"year": 2018, "scores": [{"unit_id": str(scene.programs["P"].office_unit_id), "score": 80}]}
    r = await client.put(url, json=office, headers=scene.auth("p_staff"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "scores", 0, "unit_id"]
    assert "not assessed" in r.json()["detail"]
    r = await client.put(url, json={**body, "year": 2019}, headers=scene.auth("p_staff"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "year"]
    assert "2018" in r.json()["detail"]
    for path in ("assessment", "assessment.xlsx"):  # a 2018 program graded for 2019: refused, not empty
        r = await client.get(url.replace("assessment/year-end", path), params={"year": 2019},
                             headers=scene.auth("p_staff"))  # fmt: skip
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "year"], r.text
    r = await client.put(url, json=body, headers=scene.auth("p_staff"))
    assert r.status_code == 200, r.text
    assert r.json()["year"] == 2018 and r.json()["year_end_weight"] == 0  # the default: rounds alone
    again = {"year": 2018, "scores": [{"unit_id": a, "score": "90"}]}  # re-evaluated, not added
    assert (await client.put(url, json=again, headers=scene.auth("p_staff"))).status_code == 200


async def test_a_version_past_what_the_database_holds_is_a_422_naming_it(
    client: AsyncClient, scene: World
) -> None:
    with clock.use_clock(at("2018-09-12 10:00")):
        round_id = await open_round(client, scene)
    office = scene.auth("p_staff")
    for path in ("results", "results.xlsx", f"results/{scene.projects['B'].id}/explain"):
        r = await client.get(f"/api/v1/rounds/{round_id}/{path}", params={"version": 2**31}, headers=office)
        assert r.status_code == 422 and "version" in r.text, (path, r.text)
    r = await client.post(
        f"/api/v1/rounds/{round_id}/publish", json={"snapshot_version": 2**31}, headers=office
    )
    assert r.status_code == 422 and "snapshot_version" in r.text, r.text


async def test_a_paper_score_sheet_entered_by_the_office_counts_in_the_ranking(
    client: AsyncClient, scene: World, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The province inspector scores from a phone; county A's inspector filled in a paper sheet
    on 12 September. The office enters it on 20 September, after the grace period: it counts,
    as taken on the 12th, and explain marks it. Entering it again changes nothing; a sheet dated
    outside the window, for someone not an inspector, or by a county is refused."""
    with clock.use_clock(at("2018-09-12 10:00")):
        round_id = await open_round(client, scene)
        taken = "2018-09-12T09:00:00+08:00"
        mine = [("A", "progress", 50), ("A", "quality", 30), ("B", "progress", 40), ("B", "quality", 30)]
        await send(client, scene, round_id, "p_inspector", *(score(scene, *m, taken) for m in mine))
    with clock.use_clock(at("2018-09-14 18:30")):
        await client.post(f"/api/v1/rounds/{round_id}/close", headers=scene.auth("p_staff"))
    sheet = {
        "sheet_id": str(uuid.uuid4()), "inspector_user_id": str(scene.users["a_inspector"].id),
        "scored_at": "2018-09-12T15:00:00+08:00",
        "lines": [{"project_id": str(scene.projects["B"].id), "criterion": "progress", "value": 50},
                  {"project_id": str(scene.projects["B"].id), "criterion": "quality", "value": 40}],
    }  # fmt: skip
    url = f"/api/v1/rounds/{round_id}/sheets"
    with clock.use_clock(at("2018-09-20 10:00")):
        county = await client.post(url, json=sheet, headers=scene.auth("a_reporter"))
        stranger = await client.post(
            url,
            json={**sheet, "inspector_user_id": str(scene.users["a_reporter"].id)},
            headers=scene.auth("p_staff"),
        )
        both = await client.post(  # a sheet with no id (the schema) for a stranger (the rules): one answer
            url,
            json={**sheet, "sheet_id": "第一页", "inspector_user_id": str(scene.users["a_reporter"].id)},
            headers=scene.auth("p_staff"),
        )
        late = await client.post(
            url, json={**sheet, "sheet_id": str(uuid.uuid4()), "scored_at": "2018-09-15T10:00:00+08:00"},
            headers=scene.auth("p_staff"),
        )  # fmt: skip
        entered = await client.post(url, json=sheet, headers=scene.auth("p_staff"))
        again = await client.post(url, json=sheet, headers=scene.auth("p_staff"))
    assert county.status_code == 403
    assert stranger.status_code == 422 and stranger.json()["errors"][0]["loc"] == [
        "body",
        "inspector_user_id",
    ]
    assert {tuple(e["loc"]) for e in both.json()["errors"]} == {
        ("body", "sheet_id"),
        ("body", "inspector_user_id"),
    }
    assert late.status_code == 200 and {r["error"] for r in late.json()["rejected"]} == {"outside-window"}
    assert entered.status_code == 200 and entered.json()["accepted"] == 2
    assert again.json()["duplicates"] == 2 and again.json()["accepted"] == 0
    snapshot = await rank_round(sessions, uuid.UUID(round_id))
    assert snapshot is not None
    b = str(scene.projects["B"].id)
    [row] = [r for r in snapshot.document["projects"] if r["id"] == b]
    assert (row["raters"], row["components"]["observation"]) == (2, "80.00")  # (70 + 90) / 2
    with clock.use_clock(at("2018-09-20 11:00")):
        explained = await client.get(
            f"/api/v1/rounds/{round_id}/results/{b}/explain", headers=scene.auth("p_staff")
        )
    marks = {r["inspector_id"]: r["entered_by_office"] for r in explained.json()["ratings"]}
    assert marks == {str(scene.users["a_inspector"].id): True, str(scene.users["p_inspector"].id): False}


async def test_a_rounds_quarter_lies_in_its_window(client: AsyncClient, scene: World) -> None:
    """A round labelled 2018Q2 with a 2026 window is refused (its objective components would be
    taken as of 2026); one opening in the month after its quarter is taken."""
    with clock.use_clock(at("2018-09-01 10:00")):
        wrong = await client.post(
            "/api/v1/rounds",
            json=round_body(scene, quarter="2018Q2", opens_at="2026-06-01T08:00:00+08:00",
                            closes_at="2026-06-05T18:00:00+08:00"),
            headers=scene.auth("p_staff"),
        )  # fmt: skip
        after = await client.post(
            "/api/v1/rounds",
            json=round_body(scene, quarter="2018Q2", opens_at="2018-07-10T08:00:00+08:00",
                            closes_at="2018-07-12T18:00:00+08:00"),
            headers=scene.auth("p_staff"),
        )  # fmt: skip
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["loc"] == ["body", "opens_at"]
    assert "2018-04-01" in wrong.json()["detail"] and after.status_code == 201


async def test_explain_says_in_words_why_a_project_is_not_ranked(
    client: AsyncClient, scene: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Nobody scored project A's quality: it is not ranked, and explain says so instead of '= None'."""
    with clock.use_clock(at("2018-09-12 10:00")):
        round_id = await open_round(client, scene)
        taken = "2018-09-12T09:00:00+08:00"
        marks = [("A", "progress", 50), ("B", "progress", 40), ("B", "quality", 30)]
        await send(client, scene, round_id, "p_inspector", *(score(scene, *m, taken) for m in marks))
    with clock.use_clock(at("2018-09-14 18:30")):
        await client.post(f"/api/v1/rounds/{round_id}/close", headers=scene.auth("p_staff"))
    assert await rank_round(sessions, uuid.UUID(round_id)) is not None
    with clock.use_clock(at("2018-09-15 10:00")):
        r = await client.get(
            f"/api/v1/rounds/{round_id}/results/{scene.projects['A'].id}/explain",
            headers=scene.auth("p_staff"),
        )
    assert r.status_code == 200 and r.json()["project"]["rank"] is None
    working = r.json()["working"]
    assert "not ranked: no inspector scored every criterion of it" in working and not any(
        "None" in w for w in working
    )


async def test_a_trim_that_could_leave_a_project_without_ratings_is_refused(
    client: AsyncClient, scene: World
) -> None:
    """Trimming 2 from each end of as few as 4 raters would drop them all: 422 naming the
    aggregation; 5 raters keep one."""
    with clock.use_clock(at("2018-09-01 10:00")):
        bad = await client.post(
            "/api/v1/rounds", json=round_body(scene, aggregation={"trim": 2, "min_raters_for_trim": 4}),
            headers=scene.auth("p_staff"),
        )  # fmt: skip
        good = await client.post(
            "/api/v1/rounds", json=round_body(scene, aggregation={"trim": 2, "min_raters_for_trim": 5}),
            headers=scene.auth("p_staff"),
        )  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "aggregation", "min_raters_for_trim"]
    assert "5" in bad.json()["detail"] and good.status_code == 201


async def test_explain_weighs_up_the_parts_that_apply(
    client: AsyncClient, scene: World, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Project A has no annual plan: its investment rate is null in its indicators and explain
    shows the other parts weighed up to 1, adding up to the composite."""
    scene.projects["A"].annual_plan = Decimal(0)
    scene.projects["A"].monthly_plan = {}
    await session.commit()
    with clock.use_clock(at("2018-09-12 10:00")):
        round_id = await open_round(client, scene)
        taken = "2018-09-12T09:00:00+08:00"
        marks = [("A", "progress", 50), ("A", "quality", 30)]
        await send(client, scene, round_id, "p_inspector", *(score(scene, *m, taken) for m in marks))
    with clock.use_clock(at("2018-09-14 18:30")):
        await client.post(f"/api/v1/rounds/{round_id}/close", headers=scene.auth("p_staff"))
    assert await rank_round(sessions, uuid.UUID(round_id)) is not None
    a = scene.projects["A"].id
    with clock.use_clock(at("2018-09-15 10:00")):
        facts = await client.get(f"/api/v1/projects/{a}/indicators", headers=scene.auth("p_staff"))
        r = await client.get(f"/api/v1/rounds/{round_id}/results/{a}/explain", headers=scene.auth("p_staff"))
    assert facts.json()["investment_rate"] is None
    working = r.json()["working"]
    composite = next(w for w in working if w.startswith("composite"))
    assert "investment_rate not applicable: no annual plan" in composite
    assert composite.endswith(f"→ {r.json()['project']['score']} (half up, to the cent)")
    assert "ties are broken by investment_rate = not applicable" in working
