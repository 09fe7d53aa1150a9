"""Standing supervision teams and their visits through the api: a team watches its counties,
one team per county in a program; its cadence stands as of any day on the working-day calendar;
a visit's findings become notices; evidence from phones is judged by its bytes, kept once, and
shown without its EXIF location to those outside the finding's unit."""

import io
import uuid
from typing import Any

from httpx import AsyncClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shared import clock
from shared.models import AuditEntry, EvidenceFile, OutboxMessage
from shared.settings import ApiSettings
from tests.helpers import photo, running
from tests.world import World, at


def _team(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "program_id": str(world.programs["P"].id),
        "name": f"第二督查组 {uuid.uuid4().hex[:4]}",
        "leader_user_id": str(world.users["p_staff"].id),
        "member_user_ids": [str(world.users["a_inspector"].id)],
        "covers": {"unit_ids": [str(world.units["C"].id)], "task_ids": [str(world.tasks["P"].id)]},
        "cadence": [
            {"kind": "on_site", "every_working_days": 20},
            {"kind": "joint", "every_working_days": 22},
        ],
        "since": "2018-09-03",
        **extra,
    }


async def test_the_office_sets_up_a_team_and_changes_it_audited(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    office = world.auth("p_admin")
    r = await client.post("/api/v1/teams", json=_team(world), headers=office)
    assert r.status_code == 201, r.text
    team = r.json()
    assert team["covers"]["task_ids"] == [str(world.tasks["P"].id)] and r.headers["etag"] == '"1"'
    assert team["member_user_ids"] == [str(world.users["a_inspector"].id)]
    listed = (await client.get(f"/api/v1/teams?program_id={world.programs['P'].id}", headers=office)).json()
    assert team["id"] in {t["id"] for t in listed["data"]}
    stale = await client.patch(
        f"/api/v1/teams/{team['id']}", json={"name": "x"}, headers={**office, "If-Match": "7"}
    )
    assert stale.status_code == 412
    changed = await client.patch(
        f"/api/v1/teams/{team['id']}", json={"member_user_ids": []}, headers={**office, "If-Match": "1"}
    )
    assert (
        changed.status_code == 200
        and changed.json()["member_user_ids"] == []
        and changed.json()["version"] == 2
    )
    actions = list(
        await session.scalars(
            select(AuditEntry.action)
            .where(col(AuditEntry.entity_id) == team["id"])
            .order_by(col(AuditEntry.id))
        )
    )
    assert actions == ["team.create", "team.update"]
    # a county office takes part in P but does not set up P's teams
    refused = await client.post("/api/v1/teams", json=_team(world), headers=world.auth("b_admin"))
    assert refused.status_code == 403


async def test_a_unit_or_task_is_watched_by_one_team_per_program(client: AsyncClient, world: World) -> None:
    office = world.auth("p_admin")
    assert (await client.post("/api/v1/teams", json=_team(world), headers=office)).status_code == 201
    again = _team(world, covers={"unit_ids": [str(world.units["A"].id), str(world.units["C"].id)],
                                  "task_ids": [str(world.tasks["P"].id)]})  # fmt: skip
    r = await client.post("/api/v1/teams", json=again, headers={**office, "Accept-Language": "zh-CN"})
    assert r.status_code == 422
    where = {tuple(e["loc"]): e["msg"] for e in r.json()["errors"]}
    # county A is watched by the world's team A; the city C and the task by the team just made
    assert set(where) == {("body", "covers", "unit_ids", 0), ("body", "covers", "unit_ids", 1),
                          ("body", "covers", "task_ids", 0)}  # fmt: skip
    assert "督查组 A" in where[("body", "covers", "unit_ids", 0)]


async def test_the_cadence_stands_on_the_working_day_calendar(client: AsyncClient, world: World) -> None:
    """On-site every 20 working days from Monday 3 September 2018 falls due on the make-up Sunday
    30 September (Mid-Autumn Monday the 24th is off; Saturday 29th and Sunday 30th are worked);
    the reminder's 2 working days before make it due from Friday the 28th; overdue from 1 October."""
    office = world.auth("p_admin")
    team = (await client.post("/api/v1/teams", json=_team(world), headers=office)).json()

    async def on_site(day: str) -> dict[str, Any]:
        r = await client.get(f"/api/v1/teams/{team['id']}/cadence?as_of={day}", headers=office)
        return next(k for k in r.json()["data"] if k["kind"] == "on_site")

    assert (await on_site("2018-09-27"))["state"] == "open"
    due = await on_site("2018-09-28")
    assert (due["state"], due["due_date"], due["remind_on"], due["last_visit"]) == (
        "due", "2018-09-30", "2018-09-28", None,
    )  # fmt: skip
    assert (await on_site("2018-10-08"))["state"] == "overdue"
    with clock.use_clock(at("2018-10-09 10:00")):
        made = await client.post(
            "/api/v1/visits",
            json={"team_id": team["id"], "kind": "on_site", "date": "2018-10-08"},
            headers=office,
        )
        assert made.status_code == 201, made.text
    after = await on_site("2018-10-09")
    assert (after["state"], after["last_visit"], after["visits"]) == ("open", "2018-10-08", 1)
    month = await client.get(
        f"/api/v1/programs/{world.programs['P'].id}/supervision?month=2018-10", headers=office
    )
    summary = month.json()
    mine = next(t for t in summary["teams"] if t["team_id"] == team["id"])
    kinds = {k["kind"]: k for k in mine["kinds"]}
    assert kinds["on_site"]["visits"] == 1 and kinds["joint"]["visits"] == 0
    assert kinds["joint"]["state"] == "overdue" and team["id"] in summary["teams_behind"]


async def test_a_visits_findings_become_notices_to_their_units(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    body = {
        "team_id": str(world.teams["A"].id), "kind": "on_site", "date": "2018-10-09",
        "places": ["栾川县城关镇"], "project_ids": [str(world.projects["A"].id)], "participants": ["张三"],
        "findings": [
            {"unit_id": str(world.units["A"].id), "project_id": str(world.projects["A"].id),
             "severity": "major", "requirement": "施工扬尘治理不到位", "due_in_working_days": 5},
            {"unit_id": str(world.units["D"].id), "task_id": str(world.tasks["P"].id), "severity": "critical",
             "requirement": "路网建设台账缺失", "due_in_working_days": 3},
        ],
    }  # fmt: skip
    with clock.use_clock(at("2018-10-09 10:00")):
        r = await client.post(
            "/api/v1/visits", json=body, headers={**world.auth("a_inspector"), "Idempotency-Key": "visit-1"}
        )
        again = await client.post(
            "/api/v1/visits", json=body, headers={**world.auth("a_inspector"), "Idempotency-Key": "visit-1"}
        )
    assert r.status_code == 201, r.text
    assert again.status_code == 201 and again.json()["id"] == r.json()["id"]
    found = r.json()["findings"]
    assert [(f["severity"], f["due_date"]) for f in found] == [
        ("major", "2018-10-16"),
        ("critical", "2018-10-12"),
    ]
    orders = list(
        await session.scalars(select(OutboxMessage).where(col(OutboxMessage.job) == "issue_notice"))
    )
    assert {(o.payload["notice_id"], o.payload["kind"], o.payload["recipient_unit_id"], o.payload["rule"])
            for o in orders} == {
        (found[0]["notice_id"], "urging", str(world.units["A"].id), "finding"),
        (found[1]["notice_id"], "supervision", str(world.units["D"].id), "finding"),
    }  # fmt: skip
    # B's county office does not see the visit to county A (its team watches A only)
    assert (
        await client.get(f"/api/v1/visits/{r.json()['id']}", headers=world.auth("b_admin"))
    ).status_code == 404
    # a task or a project, never both; a visit not made yet
    wrong = {**body, "date": "2018-10-10",
             "findings": [{**body["findings"][0], "task_id": str(world.tasks["P"].id)}]}  # fmt: skip
    with clock.use_clock(at("2018-10-09 10:00")):
        bad = await client.post("/api/v1/visits", json=wrong, headers=world.auth("a_inspector"))
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {("body", "findings", 0), ("body", "date")}


async def _visit(client: AsyncClient, world: World, who: str = "a_inspector") -> dict[str, Any]:
    body = {
        "team_id": str(world.teams["A"].id), "kind": "on_site", "date": "2018-10-09",
        "project_ids": [str(world.projects["A"].id)],
        "findings": [{"unit_id": str(world.units["D"].id), "project_id": str(world.projects["A"].id),
                      "severity": "minor", "requirement": "安全围挡缺失", "due_in_working_days": 5}],
    }  # fmt: skip
    with clock.use_clock(at("2018-10-09 10:00")):
        r = await client.post("/api/v1/visits", json=body, headers=world.auth(who))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _send(
    client: AsyncClient, world: World, visit: dict[str, Any], name: str, content: bytes, **form: Any
) -> Any:
    return await client.post(
        f"/api/v1/visits/{visit['id']}/files",
        files={"file": (name, content, "application/octet-stream")},
        data={k: str(v) for k, v in form.items()},
        headers=world.auth("a_inspector"),
    )


async def test_evidence_is_judged_by_its_bytes_and_kept_once(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    visit = await _visit(client, world)
    exe = await _send(client, world, visit, "现场照片.jpg", b"MZ\x90\x00" + bytes(2000))
    assert exe.status_code == 415 and "JPEG" in exe.json()["detail"]
    big = await _send(client, world, visit, "大照片.jpg", b"\xff\xd8\xff\xe0" + bytes(21 * 1024 * 1024))
    assert big.status_code == 413
    png = photo(fmt="PNG")
    named = await _send(client, world, visit, "IMG_0001.jpg", png)
    assert named.status_code == 201, named.text
    assert (named.json()["media_type"], named.json()["size"]) == ("image/png", len(png))
    resent = await _send(client, world, visit, "IMG_0001.jpg", png)
    assert resent.status_code == 200 and resent.json()["id"] == named.json()["id"]
    heic = await _send(client, world, visit, "IMG_0002.HEIC", photo(fmt="HEIF", taken="2018:10:09 10:15:00"))
    assert heic.status_code == 201 and heic.json()["media_type"] == "image/heic"
    assert heic.json()["captured_at"] == "2018-10-09T10:15:00+08:00"
    count = await session.scalar(
        select(func.count()).select_from(EvidenceFile).where(col(EvidenceFile.visit_id) == visit["id"])
    )
    assert count == 2
    # with an Idempotency-Key the retry is the first answer again
    key = {**world.auth("a_inspector"), "Idempotency-Key": "photo-3"}
    jpeg = photo(latitude=33.8, longitude=111.6)
    first = await client.post(
        f"/api/v1/visits/{visit['id']}/files", files={"file": ("a.jpg", jpeg)}, headers=key
    )
    retry = await client.post(
        f"/api/v1/visits/{visit['id']}/files", files={"file": ("a.jpg", jpeg)}, headers=key
    )
    assert first.status_code == retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"


async def test_a_photo_far_from_its_project_is_flagged_and_outsiders_get_it_without_exif(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    world.projects["A"].location = {"latitude": 33.785, "longitude": 111.601}
    await session.commit()
    visit = await _visit(client, world)
    finding = visit["findings"][0]["id"]
    near = await _send(client, world, visit, "near.jpg", photo(latitude=33.786, longitude=111.602),
                       finding_id=finding, accuracy_m=8)  # fmt: skip
    far = await _send(client, world, visit, "far.jpg", photo(latitude=34.62, longitude=112.45))
    assert near.status_code == 201 and far.status_code == 201
    assert (near.json()["far"], far.json()["far"]) == (False, True)
    assert float(near.json()["distance_m"]) < 200 < 100_000 < float(far.json()["distance_m"])

    async def gps(who: str, file_id: str) -> Any:
        r = await client.get(f"/api/v1/files/{file_id}", headers=world.auth(who))
        assert r.status_code == 200, r.text
        return Image.open(io.BytesIO(r.content)).getexif().get_ifd(0x8825) or None

    # the finding names county A's transport department D: A (above it) and the team see the
    # position; the visit-level photo keeps it for the office and the team only
    assert await gps("a_reporter", near.json()["id"]) is not None
    assert await gps("a_inspector", far.json()["id"]) is not None
    assert await gps("a_reporter", far.json()["id"]) is None
    # county B's office sees neither the visit nor its photos
    assert (
        await client.get(f"/api/v1/files/{near.json()['id']}", headers=world.auth("b_admin"))
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/visits/{visit['id']}", headers=world.auth("b_admin"))
    ).status_code == 404


async def test_a_visits_files_are_limited_together(
    world: World, api_settings: ApiSettings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """With 1 MB a visit, a second 700 KB document is refused with 413, and nothing of it kept."""
    settings = api_settings.model_copy(update={"evidence_max_visit_mb": 1})
    async with running(settings, sessions) as client:
        visit = await _visit(client, world)
        first = await _send(client, world, visit, "a.pdf", b"%PDF-1.4\n" + bytes(700 * 1024))
        second = await _send(client, world, visit, "b.pdf", b"%PDF-1.5\n" + bytes(700 * 1024))
        assert first.status_code == 201 and second.status_code == 413
        assert "1 MB" in second.json()["detail"]
        kept = (await client.get(f"/api/v1/visits/{visit['id']}", headers=world.auth("p_admin"))).json()
        assert [f["filename"] for f in kept["files"]] == ["a.pdf"]
