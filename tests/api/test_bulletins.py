"""The monthly bulletin of a 2018 program: every figure equal to the reports it comes from, two
ranking groups ranked apart, the 红榜 and 黑榜, publication with versions and a digest, and the
outputs an office prints — a workbook with native charts, a 通报 draft with its red header, a page
with SVG charts — and its own Word template, checked on upload."""

import io
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from docx import Document
from httpx import AsyncClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.api.auth.principal import issue_token
from services.api.bulletins import word
from services.notifier.sweep import sweep
from services.notifier.tasks import event as event_job
from services.ranker.scoring import rank_round
from shared import clock
from shared.models import AppUser, Notice, NoticeChain, OutboxMessage, Program, Project, ProjectReport
from shared.ranking import RoundResults
from shared.settings import ApiSettings
from tests.ranker.scene import SCORES, make_scene, score_all
from tests.world import World, at

# (code, responsible unit, category, monthly investment January to May)
PROJECTS = [
    ("A1", "A", "现代基础设施", "100"),
    ("A2", "A", "公共服务", "60"),
    ("B1", "B", "现代基础设施", "20"),
    ("D1", "D", "公共服务", "90"),
]


@pytest.fixture
async def month(client: AsyncClient, world: World, session: AsyncSession) -> dict[str, Project]:
    """Four projects (annual plan 1200 each) reporting January to May, March's of A1 corrected."""
    program = world.programs["P"]
    got = await client.get(f"/api/v1/programs/{program.id}", headers=world.auth("p_admin"))
    changed = await client.patch(
        f"/api/v1/programs/{program.id}",
        json={
            "report_schedules": [{"kind": "project_monthly", "due_day": 22, "month_offset": 0}],
            "bulletin": {
                "red_list_top": 1,
                "red_list_from": 0,
                "black_list_bottom": 1,
                "black_list_below": 100.01,
                "issuer": "栾川县重点项目建设指挥部",
            },
        },
        headers={**world.auth("p_admin"), "If-Match": got.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    made = {}
    for code, unit, category, _ in PROJECTS:
        made[code] = Project(
            program_id=program.id,
            code=code,
            name=f"项目{code}",
            category=category,
            region_unit_id=world.units[unit].id,
            owner_unit_id=world.units[unit].id,
            responsible_unit_id=world.units[unit].id,
            leader={"name": "张三", "title": "副县长"},
            construction="new",
            stage="construction",
            status="approved",
            total_investment=Decimal("5000"),
            annual_plan=Decimal("1200"),
            start_date=date(2018, 1, 1),
            end_date=date(2019, 12, 31),
            created_by="t",
        )
    session.add_all(made.values())
    await session.commit()
    for code, _, _, amount in PROJECTS:
        for m in range(1, 6):
            with clock.use_clock(at(f"2018-{m:02d}-20 10:00")):
                filed = await client.post(
                    f"/api/v1/projects/{made[code].id}/reports",
                    json={
                        "period": f"2018-{m:02d}",
                        "investment_month": amount,
                        "progress_percent": str(m * 5),
                    },
                    headers=world.auth("p_staff"),
                )
            assert filed.status_code == 201, filed.text
    with clock.use_clock(at("2018-04-02 10:00")):  # March corrected: 100 → 130
        fixed = await client.post(
            f"/api/v1/projects/{made['A1'].id}/reports",
            json={"period": "2018-03", "investment_month": "130", "progress_percent": "15"},
            headers=world.auth("p_staff"),
        )
    assert fixed.json()["version"] == 2
    return made


async def _bulletin(
    client: AsyncClient, world: World, month: str = "2018-05", who: str = "p_staff", **q: Any
) -> Any:
    with clock.use_clock(at("2018-06-10 09:00")):
        return await client.get(
            f"/api/v1/programs/{world.programs['P'].id}/bulletins/{month}", params=q, headers=world.auth(who)
        )


async def _reported(session: AsyncSession, projects: dict[str, Project], up_to: str) -> Decimal:
    """The investment the reports say, each period's latest version, January to `up_to`."""
    latest: dict[tuple[uuid.UUID, str], tuple[int, Decimal]] = {}
    for r in await session.scalars(
        select(ProjectReport).where(col(ProjectReport.project_id).in_([p.id for p in projects.values()]))
    ):
        if r.period <= up_to and latest.get((r.project_id, r.period), (0, 0))[0] < r.version:
            latest[(r.project_id, r.period)] = (r.version, r.investment_month)
    return sum((amount for _, amount in latest.values()), Decimal("0.00"))


async def test_every_figure_adds_up_to_the_reports_it_comes_from(
    client: AsyncClient, world: World, month: dict[str, Project], session: AsyncSession
) -> None:
    answer = await _bulletin(client, world)
    assert answer.status_code == 200, answer.text
    b = answer.json()
    assert b["as_of"].startswith("2018-05-26T00:00:00")  # the 22nd's deadline, then three days
    assert b["version"] is None
    t = b["totals"]
    # January to May: A1 100×4 + 130 (March corrected), A2 60×5, B1 20×5, D1 90×5
    assert t["investment_year"] == "1380.00" == str(await _reported(session, month, "2018-05"))
    assert (
        t["annual_plan"] == "4800.00" and t["projects"] == 4 and t["started"] == 4 and t["not_started"] == 0
    )
    assert t["schedule_percent"] == "41.67"  # five months of twelve
    assert t["completion_percent"] == "28.75" and t["ahead_points"] == "-12.92"
    for part in ("by_category", "by_region"):
        rows = b[part]
        assert sum(Decimal(r["investment_year"]) for r in rows) == Decimal(t["investment_year"])
        assert sum(Decimal(r["annual_plan"]) for r in rows) == Decimal(t["annual_plan"])
        assert sum(r["projects"] for r in rows) == t["projects"]
    assert {r["category"]: r["investment_year"] for r in b["by_category"]} == {
        "现代基础设施": "630.00",
        "公共服务": "750.00",
    }
    assert sum(b["lights"].values()) == 4
    # April's bulletin stops at April: the May reports are not in it
    april = (await _bulletin(client, world, "2018-04")).json()
    assert april["totals"]["investment_year"] == "1110.00" == str(await _reported(session, month, "2018-04"))
    assert april["totals"]["schedule_percent"] == "33.33"


async def test_two_ranking_groups_are_ranked_apart_with_red_and_black_lists(
    client: AsyncClient, world: World, month: dict[str, Project]
) -> None:
    b = (await _bulletin(client, world)).json()
    groups = {g["name"]: g for g in b["groups"]}
    towns, departments = groups["乡镇（街道）"], groups["县直部门及业主单位"]
    assert [r["name"] for r in towns["ranking"]] == ["A", "B"]
    assert [r["rank"] for r in towns["ranking"]] == [1, 2]
    assert [r["name"] for r in departments["ranking"]] == ["D"]
    assert departments["ranking"][0]["rank"] == 1  # first in its own group, whatever A scores
    # A: 830 of 2400 = 34.58 % against 41.67 %: investment 83.00; every report on time; no notice
    a = towns["ranking"][0]
    assert a["components"] == {"investment": "83.00", "timeliness": "100.00", "notices": "100.00"}
    assert a["score"] == "89.80"  # 0.6 × 83.00 + 0.2 × 100 + 0.2 × 100
    # B: 100 of 1200 = 8.33 % against 41.67 %: investment 20.00 → 0.6 × 20 + 40 = 52.00
    assert towns["ranking"][1]["score"] == "52.00"
    assert [r["name"] for r in towns["red_list"]] == ["A"] and [r["name"] for r in towns["black_list"]] == [
        "B"
    ]
    assert [r["name"] for r in departments["red_list"]] == ["D"] and departments["black_list"] == []


async def test_a_unit_on_the_black_list_two_months_running_is_criticised_once(
    client: AsyncClient,
    world: World,
    month: dict[str, Project],
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    program = world.programs["P"]
    published = []
    for m, times in (("2018-04", 1), ("2018-05", 2)):
        for _ in range(times):
            with clock.use_clock(at("2018-06-10 09:00")):
                answer = await client.post(
                    f"/api/v1/programs/{program.id}/bulletins/{m}/publish", headers=world.auth("p_admin")
                )
            published.append(answer)
    assert [a.status_code for a in published] == [201, 201, 200]  # the same figures again: that version
    assert published[1].json()["version"] == 1 and published[2].json() == published[1].json()
    assert published[1].json()["number"] == "〔2018〕2号"
    events = [
        m.payload["data"]
        for m in await session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.created_at)))
        if m.payload.get("event") == "bulletin.published"
        and m.payload["data"]["program_id"] == str(program.id)
    ]
    assert [e["period"] for e in events] == ["2018-04", "2018-05"]  # the republication announced nothing
    streak = {b["name"]: b["months"] for b in events[1]["black_list"]}
    assert streak == {"B": 2}
    # the notifier's event job takes each announcement (May's twice, as a redelivery would), and
    # the next sweep issues B's criticism notice once
    messages = [
        m
        for m in await session.scalars(select(OutboxMessage))
        if m.payload.get("event") == "bulletin.published"
    ]
    for message in [*messages, messages[-1]]:
        await event_job({"sessions": sessions}, str(uuid.uuid4()), message.payload)
    await sweep(sessions, at("2018-06-11 09:00").now())
    notices = (
        await session.scalars(
            select(Notice)
            .join(NoticeChain, col(NoticeChain.id) == col(Notice.chain_id))
            .where(col(NoticeChain.rule) == "ranking_streak", col(Notice.program_id) == program.id)
        )
    ).all()
    assert [(n.kind, n.recipient_unit_id) for n in notices] == [("criticism", world.units["B"].id)]
    assert "连续 2 个月列入月度排名乡镇（街道）黑榜" in notices[0].requirements
    # the frozen version reads back, for a county too
    frozen = await _bulletin(client, world, who="a_reporter")
    assert frozen.status_code == 200 and frozen.json()["version"] == 1
    assert frozen.json()["digest"] == published[1].json()["digest"]
    none = await _bulletin(client, world, "2018-06", who="a_reporter")
    assert none.status_code == 404 and "not published" in none.json()["detail"]
    refused = await client.post(
        f"/api/v1/programs/{program.id}/bulletins/2018-05/publish", headers=world.auth("b_admin")
    )
    assert refused.status_code == 403


async def test_the_workbook_has_native_charts_and_numbers_stored_as_numbers(
    client: AsyncClient, world: World, month: dict[str, Project]
) -> None:
    with clock.use_clock(at("2018-06-10 09:00")):
        answer = await client.get(
            f"/api/v1/programs/{world.programs['P'].id}/bulletins/2018-05.xlsx", headers=world.auth("p_staff")
        )
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["总体情况", "分类情况", "区域情况", "单位排名", "逾期与督办"]
    assert book["总体情况"]["A6"].value == "本年完成投资(万元)" and book["总体情况"]["B6"].value == 1380.0
    assert book["总体情况"]["B6"].number_format == "#,##0.00"
    assert len(book["分类情况"]._charts) == 1 and len(book["区域情况"]._charts) == 1
    assert len(book["单位排名"]._charts) == 1
    ranks = book["单位排名"]
    assert [ranks.cell(row=r, column=3).value for r in range(3, 6)] == ["A", "B", "D"]
    assert ranks.cell(row=3, column=4).value == 89.8
    assert ranks.page_setup.orientation == "landscape" and ranks.page_setup.paperSize == 9
    assert ranks.print_title_rows == "$2:$2"  # the header row on every printed page


async def test_the_word_draft_has_the_red_header_and_the_figures(
    client: AsyncClient, world: World, month: dict[str, Project]
) -> None:
    with clock.use_clock(at("2018-06-10 09:00")):
        published = await client.post(
            f"/api/v1/programs/{world.programs['P'].id}/bulletins/2018-05/publish",
            headers=world.auth("p_admin"),
        )
        answer = await client.get(
            f"/api/v1/programs/{world.programs['P'].id}/bulletins/2018-05.docx",
            params={"version": 1},
            headers=world.auth("p_staff"),
        )
    assert answer.status_code == 200
    doc = Document(io.BytesIO(answer.content))
    paragraphs = [p for p in doc.paragraphs if p.text.strip()]
    header = paragraphs[0]
    assert header.text == "栾川县重点项目建设指挥部文件"
    assert all(run.font.color.rgb == word.RED for run in header.runs)
    assert paragraphs[1].text == published.json()["number"] == "〔2018〕1号"
    assert paragraphs[1]._p.pPr.find(word.qn("w:pBdr")) is not None  # the red rule
    text = "\n".join(p.text for p in paragraphs)
    assert "关于2018年5月" in text and "一、总体情况" in text and "二、排名情况" in text
    assert "本年累计完成投资1380.00万元" in text and "滞后12.92个百分点" in text
    assert "列入黑榜的是：B" in text
    annex = doc.tables[0]
    assert [c.text for c in annex.rows[1].cells][:4] == ["乡镇（街道）", "1", "A", "89.80"]


async def test_the_page_draws_its_charts_in_svg(
    client: AsyncClient, world: World, month: dict[str, Project]
) -> None:
    with clock.use_clock(at("2018-06-10 09:00")):
        answer = await client.get(
            f"/api/v1/programs/{world.programs['P'].id}/bulletins/2018-05.html", headers=world.auth("p_staff")
        )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert page.count("<svg") == 5  # category, region, lights, and one per ranking group
    assert "<text" not in page.split("<svg", 1)[1]  # labels drawn as paths: no font needed to read them
    assert "@media print" in page and "1380.00" in page


def _template(*fields: str) -> bytes:
    doc = Document(io.BytesIO(word.default_template()))
    doc.add_paragraph(" ".join("{{ " + f + " }}" for f in fields))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


async def test_an_office_template_is_checked_on_upload_and_then_used(
    client: AsyncClient, world: World, month: dict[str, Project]
) -> None:
    url = f"/api/v1/programs/{world.programs['P'].id}/bulletin-template"
    without_number = Document()
    without_number.add_paragraph("{{ issuer }}文件 {{ title }}")
    without_number.add_paragraph("{%p for s in sections %}")
    without_number.add_paragraph("{{ s.heading }}")
    without_number.add_paragraph("{%p endfor %}")
    buf = io.BytesIO()
    without_number.save(buf)
    refused = await client.put(
        url,
        files={"file": ("红头.docx", buf.getvalue(), "application/octet-stream")},
        headers=world.auth("p_admin"),
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {
            "loc": ["body", "file", "number"],
            "msg": "the template does not use the field 'number', which every bulletin needs",
        }
    ]
    unknown = await client.put(
        url,
        files={"file": ("t.docx", _template("mayor"), "application/octet-stream")},
        headers=world.auth("p_admin"),
    )
    assert unknown.status_code == 422 and "'mayor'" in unknown.text
    junk = await client.put(
        url, files={"file": ("t.docx", b"not a zip", "x/y")}, headers=world.auth("p_admin")
    )
    assert junk.status_code == 422
    county = await client.put(
        url, files={"file": ("t.docx", _template("program"), "x/y")}, headers=world.auth("a_reporter")
    )
    assert county.status_code == 403
    kept = await client.put(
        url, files={"file": ("t.docx", _template("program"), "x/y")}, headers=world.auth("p_admin")
    )
    assert kept.status_code == 200, kept.text
    with clock.use_clock(at("2018-06-10 09:00")):
        answer = await client.get(
            f"/api/v1/programs/{world.programs['P'].id}/bulletins/2018-05.docx", headers=world.auth("p_staff")
        )
    last = [p.text for p in Document(io.BytesIO(answer.content)).paragraphs if p.text.strip()][-1]
    assert last == world.programs["P"].name  # the office's own field, filled


async def test_a_month_outside_the_programs_year_is_refused_in_words(
    client: AsyncClient, world: World
) -> None:
    answer = await _bulletin(client, world, "2019-01")
    assert answer.status_code == 422 and "ask for a month of 2018" in answer.json()["detail"]
    bad = await _bulletin(client, world, "2018-13")
    assert bad.status_code == 422


async def test_the_observation_bulletin_comes_from_the_published_snapshot(
    client: AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    api_settings: ApiSettings,
    password_hash: str,
) -> None:
    scene = await make_scene(session)
    await score_all(session, scene, SCORES)
    snapshot = await rank_round(sessions, scene.round.id)
    assert snapshot is not None
    program = await session.get_one(Program, scene.round.program_id)
    clerk = AppUser(
        username=f"clerk-{uuid.uuid4().hex[:6]}",
        display_name="督查室",
        password_hash=password_hash,
        unit_id=program.office_unit_id,
        roles=["office_staff"],
    )
    session.add(clerk)
    await session.commit()
    token, _ = issue_token(api_settings, subject=f"user:{clerk.id}", extra={})
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/rounds/{scene.round.id}/bulletin"
    draft = await client.get(url, headers=headers)
    assert draft.status_code == 409 and "not published" in draft.json()["detail"]
    scene.round.state, scene.round.published_version = "published", snapshot.version
    session.add(scene.round)
    await session.commit()

    b = (await client.get(url, headers=headers)).json()
    results = RoundResults.of(snapshot)
    by_unit = {g["name"]: g for g in b["groups"]}["责任单位排名"]
    assert [(r["name"], r["rank"], r["score"]) for r in by_unit["ranking"]] == [
        (u.name, u.rank, u.score) for u in results.units if u.rank
    ]
    projects = {g["name"]: g for g in b["groups"]}["项目排名"]
    praise = results.settings.praise_top
    assert [r["name"] for r in projects["red_list"]] == [
        p.name for p in results.projects if p.rank and p.rank <= praise
    ]
    assert b["version"] == snapshot.version and b["digest"] == snapshot.digest
    book = load_workbook(io.BytesIO((await client.get(url + ".xlsx", headers=headers)).content))
    assert all(len(ws._charts) == 1 for ws in book.worksheets) and len(book.worksheets) == 3
    text = "\n".join(
        p.text
        for p in Document(io.BytesIO((await client.get(url + ".docx", headers=headers)).content)).paragraphs
    )
    assert "予以通报表扬" in text and "评分说明" in text
    assert (await client.get(url + ".html", headers=headers)).text.count("<svg") == 3
