"""Reports on working-day schedules, through the 2018 National Day week.

2018: Mid-Autumn holiday 22–24 September; National Day holidays 1–7 October; make-up working
days Saturday 29 and Sunday 30 September. Program P keeps the seeds' schedules: a county's
weekly report due Monday, its monthly report by the 3rd, Luanchuan's project form by the 22nd.
"""

import io
import re
import uuid
from datetime import date, datetime
from typing import Any

from httpx import AsyncClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.auth.principal import issue_token
from shared import clock
from shared.clock import OFFICE_TZ
from shared.models import AppUser, OutboxMessage
from shared.settings import ApiSettings
from tests.world import World, at


async def dues(client: AsyncClient, world: World, as_of: str, **filters: str) -> dict[tuple[str, str], str]:
    params = {"program_id": str(world.programs["P"].id), "as_of": as_of, "page_size": "500", **filters}
    r = await client.get("/api/v1/reports/dues", params=params, headers=world.auth("p_staff"))
    assert r.status_code == 200, r.text
    return {(d["kind"], d["period"]): d for d in r.json()["data"]}  # type: ignore[misc]


async def test_working_days_skip_holidays_and_count_make_up_days(client: AsyncClient, world: World) -> None:
    reader = world.auth("a_reporter")

    async def add(start: str, days: int) -> dict[str, Any]:
        r = await client.get(f"/api/v1/calendar/add-working-days?start={start}&days={days}", headers=reader)
        assert r.status_code == 200, r.text
        return r.json()

    assert (await add("2018-09-28", 2))["date"] == "2018-09-30"  # Saturday and Sunday 29–30 are worked
    assert (await add("2018-09-30", 1))["date"] == "2018-10-08"  # then seven days off
    assert (await add("2018-10-01", 0))["date"] == "2018-10-08"  # a deadline on a holiday moves on
    assert (await add("2018-10-08", -2))["date"] == "2018-09-29"  # a reminder two working days before
    far = await add("2099-03-06", 3)
    assert far == {"date": "2099-03-11", "complete": False}  # no calendar for 2099: weekends only, said so


async def test_dues_through_the_national_day_week(
    client: AsyncClient, approved: World, session: AsyncSession
) -> None:
    world, reporter = approved, approved.auth("a_reporter")
    a = str(world.units["A"].id)
    # As of 1 October: September's project form was due Saturday 22 September, moved past the
    # weekend and the Mid-Autumn Monday to Tuesday the 25th — overdue. Week 39's report is due
    # Monday 1 October, a holiday: moved to Monday 8 October, so still open; so is September's
    # monthly report (due the 3rd, a holiday: the 8th).
    before = await dues(client, world, "2018-10-01", unit_id=a)
    assert before[("project_monthly", "2018-09")]["due_at"] == "2018-09-26T00:00:00+08:00"
    assert before[("project_monthly", "2018-09")]["state"] == "overdue"
    assert before[("unit_weekly", "2018-W39")]["due_at"] == "2018-10-09T00:00:00+08:00"
    assert before[("unit_weekly", "2018-W39")]["state"] == "open"
    assert before[("unit_monthly", "2018-09")]["due_at"] == "2018-10-09T00:00:00+08:00"
    assert before[("unit_monthly", "2018-09")]["state"] == "open"
    assert before[("unit_weekly", "2018-W38")]["due_at"] == "2018-09-26T00:00:00+08:00"  # Mid-Autumn Monday
    assert ("unit_weekly", "2018-W40") not in before  # the holiday week has not ended
    assert all(d["due_complete"] for d in before.values())

    with clock.use_clock(at("2018-10-08 17:30")):  # the first working day after the holiday
        r = await client.post(
            f"/api/v1/units/{a}/reports",
            json={"kind": "weekly", "period": "2018-W39", "body": "上周工作动态"},
            headers=reporter,
        )
        assert r.status_code == 201, r.text
    with clock.use_clock(at("2018-10-09 09:00")):  # a day late
        r = await client.post(
            f"/api/v1/units/{a}/reports",
            json={"kind": "monthly", "period": "2018-09", "body": "9月总体推进情况"},
            headers=reporter,
        )
        assert r.status_code == 201, r.text
        r = await client.post(
            f"/api/v1/projects/{world.projects['A'].id}/reports",
            json={"period": "2018-09", "investment_month": "80", "progress_percent": "40"},
            headers=reporter,
        )
        assert r.status_code == 201 and r.json()["late"] is True

    after = await dues(client, world, "2018-10-09T12:00:00+08:00", unit_id=a)
    assert after[("unit_weekly", "2018-W39")]["state"] == "submitted"
    assert after[("unit_monthly", "2018-09")]["state"] == "late"
    assert after[("project_monthly", "2018-09")]["state"] == "late"
    assert after[("unit_weekly", "2018-W40")]["state"] == "overdue"  # due Monday the 8th, not filed
    assert after[("project_monthly", "2018-10")]["state"] == "open"  # due the 22nd
    # The same question asked of an earlier instant ignores what was filed later.
    replay = await dues(client, world, "2018-10-08T12:00:00+08:00", unit_id=a)
    assert replay[("unit_weekly", "2018-W39")]["state"] == "open"
    r = await client.get(
        "/api/v1/reports/dues",
        params={
            "program_id": str(world.programs["P"].id),
            "as_of": "2018-10-09T12:00:00+08:00",
            "state": "late",
            "unit_id": a,
        },
        headers=world.auth("p_staff"),
    )
    assert r.json()["summary"]["late"] == 2 and {d["state"] for d in r.json()["data"]} == {"late"}
    # B's reporter sees none of A's dues.
    other = await client.get(
        "/api/v1/reports/dues",
        params={"program_id": str(world.programs["P"].id), "as_of": "2018-10-09", "unit_id": a},
        headers=world.auth("b_admin"),
    )
    assert other.json()["count"] == 0


async def test_a_project_owes_from_the_month_it_starts_in(
    client: AsyncClient, approved: World, session: AsyncSession
) -> None:
    """Starting on the last day of September is enough to owe September's form; starting on
    1 October is not."""
    project = approved.projects["A"]
    for start, first_owed, not_owed in (
        (date(2018, 9, 30), "2018-09", "2018-08"),
        (date(2018, 10, 1), "2018-10", "2018-09"),
    ):
        project.start_date = start
        await session.commit()
        owed = await dues(client, approved, "2018-10-31", project_id=str(project.id), kind="project_monthly")
        assert first_owed in {period for _, period in owed}, (start, owed.keys())
        assert not_owed not in {period for _, period in owed}, (start, owed.keys())


async def test_who_may_file_is_who_sees_the_project(
    client: AsyncClient, approved: World, session: AsyncSession, api_settings: ApiSettings, password_hash: str
) -> None:
    """The filing function checks visibility in SQL (services/api/migrations 20261124_0007), the
    rest of the api through services.api.auth.scope: both must let in exactly the reporters of
    the project's region, responsible or owner unit and of the units above them."""
    world = approved
    project = world.projects["A"]
    project.region_unit_id, project.responsible_unit_id, project.owner_unit_id = (
        world.units["A"].id,
        world.units["B"].id,
        world.units["D"].id,
    )
    tokens = {}
    for code in ("C", "A", "B", "D", "QC"):
        user = AppUser(
            username=f"rep-{code}-{uuid.uuid4().hex[:6]}",
            display_name=code,
            password_hash=password_hash,
            unit_id=world.units[code].id,
            roles=["reporter"],
        )
        session.add(user)
        await session.flush()
        tokens[code], _ = issue_token(api_settings, subject=f"user:{user.id}", extra={})
    await session.commit()
    seen, filed = {}, {}
    for month, (code, token) in enumerate(tokens.items(), start=3):
        auth = {"Authorization": f"Bearer {token}"}
        seen[code] = (await client.get(f"/api/v1/projects/{project.id}", headers=auth)).status_code
        with clock.use_clock(at("2018-09-28 10:00")):
            r = await client.post(
                f"/api/v1/projects/{project.id}/reports",
                json={"period": f"2018-{month:02d}", "investment_month": "1", "progress_percent": "5"},
                headers=auth,
            )
        filed[code] = r.status_code
    assert seen == {"C": 200, "A": 200, "B": 200, "D": 200, "QC": 404}
    assert filed == {"C": 201, "A": 201, "B": 201, "D": 201, "QC": 404}


async def test_a_corrected_report_replaces_the_first_in_the_indicators(
    client: AsyncClient, approved: World
) -> None:
    world, reporter = approved, approved.auth("a_reporter")
    url = f"/api/v1/projects/{world.projects['A'].id}/reports"
    with clock.use_clock(at("2018-03-20 10:00")):
        first = await client.post(
            url,
            json={"period": "2018-03", "investment_month": "60", "progress_percent": "10"},
            headers=reporter,
        )
    with clock.use_clock(at("2018-03-21 10:00")):
        fixed = await client.post(
            url,
            json={"period": "2018-03", "investment_month": "90", "progress_percent": "12"},
            headers=reporter,
        )
    assert (first.json()["version"], fixed.json()["version"]) == (1, 2)
    assert fixed.json()["investment_to_date"] == "90.00" and fixed.json()["late"] is False
    history = (await client.get(f"{url}?period=2018-03", headers=reporter)).json()
    assert history["count"] == 2
    history = history["data"]
    assert [(h["version"], h["investment_month"]) for h in history] == [(2, "90.00"), (1, "60.00")]
    ind = f"/api/v1/projects/{world.projects['A'].id}/indicators"
    now = (await client.get(ind, params={"as_of": "2018-03-31"}, headers=reporter)).json()
    # Annual plan 600: 90 / 600 = 15 %; monthly plan to March is 100 (March): 90 %.
    assert now["investment_year_to_date"] == "90.00" and now["investment_rate"] == "15.00"
    assert now["monthly_plan_rate"] == "90.00"
    then = (await client.get(ind, params={"as_of": "2018-03-20T12:00:00+08:00"}, headers=reporter)).json()
    assert then["investment_year_to_date"] == "60.00"  # before the correction was filed
    # January and February were due (by the 22nd of each) and never filed: 1 of 3 on time.
    assert now["reports_due"] == 3 and now["reports_on_time"] == 1 and now["report_timeliness"] == "33.33"
    # every figure in one form, two places: a rate of 100 is "100.00", nothing is "0.00"
    nothing = (await client.get(ind, params={"as_of": "2018-01-01"}, headers=reporter)).json()
    money = ("investment", "monthly", "milestone_rate", "report_timeliness", "annual")
    figures = {k: v for k, v in nothing.items() if k.startswith(money)}
    assert figures and all(v is None or re.fullmatch(r"\d+\.\d{2}", v) for v in figures.values()), figures
    assert nothing["investment_to_date"] == "0.00" and nothing["milestone_rate"] == "100.00", nothing


async def test_a_filing_that_waited_behind_another_is_stamped_after_it(
    client: AsyncClient, approved: World
) -> None:
    """Two forms for March race; the one whose clock read earlier waits for the project and
    becomes version 2. It takes version 1's stamp, so the first filed is version 1 everywhere."""
    world, reporter = approved, approved.auth("a_reporter")
    url = f"/api/v1/projects/{world.projects['A'].id}/reports"
    body = {"period": "2018-03", "investment_month": "60", "progress_percent": "10"}
    with clock.use_clock(at("2018-03-22 23:00")):
        first = (await client.post(url, json=body, headers=reporter)).json()
    with clock.use_clock(at("2018-03-22 22:00")):  # read before the first, filed after it
        second = (await client.post(url, json=body | {"investment_month": "70"}, headers=reporter)).json()
    assert (first["version"], second["version"]) == (1, 2)
    assert second["submitted_at"] == first["submitted_at"]
    assert datetime.fromisoformat(first["submitted_at"]) == datetime(2018, 3, 22, 23, tzinfo=OFFICE_TZ)
    history = (await client.get(f"{url}?period=2018-03", headers=reporter)).json()["data"]
    assert [h["submitted_at"] for h in history] == [first["submitted_at"]] * 2
    # Due by the 22nd: at 22:30 nothing was filed yet, at 23:30 it was, on time.
    assert (await dues(client, world, "2018-03-22T22:30:00+08:00"))[("project_monthly", "2018-03")][
        "state"
    ] == "open"
    filed = (await dues(client, world, "2018-03-22T23:30:00+08:00"))[("project_monthly", "2018-03")]
    assert filed["state"] == "submitted" and filed["filed_at"] == first["submitted_at"]
    ind = f"/api/v1/projects/{world.projects['A'].id}/indicators"
    before = (await client.get(ind, params={"as_of": "2018-03-22T22:30:00+08:00"}, headers=reporter)).json()
    assert before["investment_year_to_date"] == "0.00"  # the indicators agree: nothing filed yet


async def test_the_latest_report_shows_on_the_project_and_each_quarter_in_public(
    client: AsyncClient, approved: World
) -> None:
    world, reporter = approved, approved.auth("a_reporter")
    project = world.projects["A"]
    url = f"/api/v1/projects/{project.id}/reports"
    assert (await client.get(f"/api/v1/projects/{project.id}", headers=reporter)).json()[
        "latest_progress"
    ] is None
    filings = [  # (when, period, investment, progress): March corrected, no May, July late
        ("2018-02-20 10:00", "2018-02", "40", "5"),
        ("2018-03-20 10:00", "2018-03", "60", "10"),
        ("2018-03-21 10:00", "2018-03", "90", "12"),
        ("2018-04-20 10:00", "2018-04", "100", "20"),
        ("2018-06-20 10:00", "2018-06", "50", "30"),
        ("2018-07-25 10:00", "2018-07", "70", "41.5"),
    ]
    for when, period, money, pct in filings:
        with clock.use_clock(at(when)):
            r = await client.post(
                url,
                json={"period": period, "investment_month": money, "progress_percent": pct},
                headers=reporter,
            )
            assert r.status_code == 201, r.text
    latest = (await client.get(f"/api/v1/projects/{project.id}", headers=reporter)).json()["latest_progress"]
    assert (latest["period"], latest["version"], latest["progress_percent"]) == ("2018-07", 1, "41.50")
    assert latest["investment_to_date"] == "350.00" and latest["late"] is True
    public = await client.get(f"/api/v1/public/programs/{world.programs['P'].id}/projects")
    [shown] = [p for p in public.json()["data"] if p["code"] == project.code]
    assert shown["quarterly_progress"] == [
        {"quarter": "2018-Q1", "investment": "130.00", "investment_to_date": "130.00",
         "progress_percent": "12.00", "months_reported": 2},
        {"quarter": "2018-Q2", "investment": "150.00", "investment_to_date": "280.00",
         "progress_percent": "30.00", "months_reported": 2},
        {"quarter": "2018-Q3", "investment": "70.00", "investment_to_date": "350.00",
         "progress_percent": "41.50", "months_reported": 1},
    ]  # fmt: skip
    # February corrected in July: its new version replaces the old one in the sum, and the
    # months after it (March to July) still count.
    with clock.use_clock(at("2018-07-26 10:00")):
        r = await client.post(
            url,
            json={"period": "2018-02", "investment_month": "45", "progress_percent": "5"},
            headers=reporter,
        )
    assert (r.json()["version"], r.json()["investment_to_date"]) == (2, "355.00")


async def test_a_retried_filing_with_the_same_key_files_once(client: AsyncClient, approved: World) -> None:
    """A liaison on a bad connection sends the form again: the same key gives the first answer back."""
    world = approved
    url = f"/api/v1/projects/{world.projects['A'].id}/reports"
    body = {"period": "2018-05", "investment_month": "80", "progress_percent": "20"}
    key = {**world.auth("a_reporter"), "Idempotency-Key": "luanchuan-2018-05-form"}
    with clock.use_clock(at("2018-05-21 18:00")):
        first = await client.post(url, json=body, headers=key)
        again = await client.post(url, json=body, headers=key)
        other = await client.post(url, json=body, headers={**key, "Idempotency-Key": "a-second-form"})
    assert first.status_code == again.status_code == other.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert (first.json()["version"], other.json()["version"]) == (1, 2)
    history = (await client.get(f"{url}?period=2018-05", headers=world.auth("a_reporter"))).json()["data"]
    assert [h["version"] for h in history] == [2, 1]


async def test_bad_reports_get_clear_errors(client: AsyncClient, approved: World) -> None:
    world, reporter = approved, approved.auth("a_reporter")
    url = f"/api/v1/projects/{world.projects['A'].id}/reports"
    with clock.use_clock(at("2018-06-10 10:00")):
        future = await client.post(
            url,
            json={"period": "2018-07", "investment_month": "1", "progress_percent": "1"},
            headers=reporter,
        )
        early = await client.post(
            url,
            json={"period": "2017-12", "investment_month": "1", "progress_percent": "1"},
            headers=reporter,
        )
        over = await client.post(
            url,
            json={"period": "2018-05", "investment_month": "1", "progress_percent": "101"},
            headers=reporter,
        )
        rich = await client.post(
            url,
            json={"period": "2018-05", "investment_month": "1000.01", "progress_percent": "50"},
            headers=reporter,
        )
        negative = await client.post(
            url,
            json={"period": "2018-05", "investment_month": "-1", "progress_percent": "5"},
            headers=reporter,
        )
    assert future.status_code == 422 and "has not begun" in future.json()["detail"]
    assert early.status_code == 422 and "before it" in early.json()["detail"]
    assert over.status_code == 422 and over.json()["errors"][0]["loc"] == ["body", "progress_percent"]
    assert rich.status_code == 422 and "beyond the total investment" in rich.json()["detail"]
    assert negative.status_code == 422 and negative.json()["errors"][0]["loc"] == ["body", "investment_month"]
    draft = await client.post(
        f"/api/v1/projects/{world.projects['B'].id}/reports",
        json={"period": "2018-05", "investment_month": "1", "progress_percent": "5"},
        headers=world.auth("b_admin"),
    )
    assert draft.status_code == 409  # B is still under review, not in the library


async def test_milestones_and_problems_from_a_report(
    client: AsyncClient, approved: World, session: AsyncSession
) -> None:
    world, reporter = approved, approved.auth("a_reporter")
    office = world.auth("p_staff")
    project = await client.post(
        "/api/v1/projects",
        json={
            "program_id": str(world.programs["P"].id), "code": "MS-1", "name": "里程碑项目",
            "category": "公共服务",
            "region_unit_id": str(world.units["A"].id), "owner_unit_id": str(world.units["A"].id),
            "responsible_unit_id": str(world.units["A"].id), "leader": {"name": "甲", "title": "县长"},
            "construction": "new", "stage": "construction", "total_investment": "500", "annual_plan": "300",
            "start_date": "2018-01-01", "end_date": "2018-12-31",
            "milestones": [
                {"name": "开工", "planned_date": "2018-03-01"}, {"name": "封顶", "planned_date": "2018-08-31"}
            ],
        },
        headers=office,
    )  # fmt: skip
    pid = project.json()["id"]
    await client.post(f"/api/v1/projects/{pid}/submit", headers=office)
    await client.post(f"/api/v1/projects/{pid}/approve", headers=office)
    with clock.use_clock(at("2018-09-28 10:00")):
        r = await client.post(
            f"/api/v1/projects/{pid}/reports",
            json={
                "period": "2018-09",
                "investment_month": "20",
                "progress_percent": "70",
                "milestones": [{"name": "开工", "actual_date": "2018-03-05"}],
                "problems": [{"title": "用地指标未落实", "needs_coordination": True}],
            },
            headers=reporter,
        )
        assert r.status_code == 201, r.text
        unknown = await client.post(
            f"/api/v1/projects/{pid}/reports",
            json={
                "period": "2018-09",
                "investment_month": "0",
                "progress_percent": "70",
                "milestones": [{"name": "竣工", "actual_date": "2018-09-01"}],
            },
            headers=reporter,
        )
        assert unknown.status_code == 422 and "开工" in unknown.json()["detail"]
    ind = (await client.get(f"/api/v1/projects/{pid}/indicators?as_of=2018-09-30", headers=reporter)).json()
    assert [(m["name"], m["state"]) for m in ind["milestones"]] == [("开工", "met_late"), ("封顶", "missed")]
    assert ind["milestone_rate"] == "0.00"
    [problem_id] = r.json()["problem_ids"]
    problem = (await client.get(f"/api/v1/problems/{problem_id}", headers=reporter)).json()
    # Raised Friday 28 September with the default 10 working days: 29, 30 September (make-up
    # days), then 8–12, 15–17 October.
    assert problem["deadline"] == "2018-10-17" and problem["meeting_level"] == "system_meeting"
    assert problem["owner_unit_id"] == str(world.units["A"].id)
    up = await client.post(
        f"/api/v1/problems/{problem_id}/refer",
        json={"to_level": "leadership_meeting", "reason": "系统会未能解决"},
        headers=office,
    )
    assert up.status_code == 200 and up.json()["meeting_level"] == "leadership_meeting"
    down = await client.post(
        f"/api/v1/problems/{problem_id}/refer",
        json={"to_level": "system_meeting", "reason": "x"},
        headers=office,
    )
    assert down.status_code == 422 and down.json()["errors"][0]["loc"] == ["body", "to_level"]
    both = await client.post(  # no reason (the schema) and a lower meeting (the rules): one answer
        f"/api/v1/problems/{problem_id}/refer",
        json={"to_level": "system_meeting", "reason": ""},
        headers=office,
    )
    assert {tuple(e["loc"]) for e in both.json()["errors"]} == {("body", "to_level"), ("body", "reason")}
    no = await client.post(
        f"/api/v1/problems/{problem_id}/refer",
        json={"to_level": "standing_committee", "reason": "x"},
        headers=reporter,
    )
    assert no.status_code == 403
    summary = f"/api/v1/problems/summary?program_id={world.programs['P'].id}"
    claimed = await client.post(
        f"/api/v1/problems/{problem_id}/resolve", json={"resolution": "县长协调解决"}, headers=reporter
    )
    assert claimed.json()["state"] == "resolution_claimed"  # the office confirms it (办结复核)
    waiting = (await client.get(summary, headers=office)).json()
    assert (waiting["resolved"], waiting["awaiting_confirmation"]) == (0, 1)
    assert (await client.post(f"/api/v1/problems/{problem_id}/confirm", headers=reporter)).status_code == 403
    done = await client.post(f"/api/v1/problems/{problem_id}/confirm", headers=office)
    assert done.json()["state"] == "resolved"
    assert [e["action"] for e in done.json()["events"]] == [
        "raised",
        "referred",
        "resolution_claimed",
        "resolved",
    ]
    stats = (await client.get(summary, headers=office)).json()
    # Two problems come from the world, one from this report.
    assert (stats["total"], stats["resolved"], stats["resolution_rate"]) == (3, 1, 0.3333)
    assert stats["on_target"] is False and stats["target_resolution_rate"] == 0.8


async def test_an_instant_report_goes_out_at_once(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    a = world.units["A"].id
    r = await client.post(
        f"/api/v1/units/{a}/reports",
        json={"kind": "instant", "body": "工地发生塌方"},
        headers=world.auth("a_reporter"),
    )
    assert r.status_code == 201
    sent = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.job == "event")))
    assert [m.payload["event"] for m in sent] == ["report.instant"] and sent[0].payload["subject_id"] == str(
        a
    )
    bad = await client.post(
        f"/api/v1/units/{a}/reports",
        json={"kind": "weekly", "period": "2018-09", "body": "x"},
        headers=world.auth("a_reporter"),
    )
    assert bad.status_code == 422 and "2018-W39" in bad.json()["detail"]


async def test_the_office_loads_next_years_calendar(client: AsyncClient, world: World) -> None:
    body = {"holidays": ["2027-01-01", "2027-02-06", "2027-02-07"], "workdays": ["2027-02-13"]}
    r = await client.put("/api/v1/calendar/2027", json=body, headers=world.auth("p_admin"))
    assert r.status_code == 200 and r.json()["source"] == "office"
    got = await client.get("/api/v1/calendar/2027", headers=world.auth("a_reporter"))
    assert got.json()["workdays"] == ["2027-02-13"]
    wrong = await client.put(
        "/api/v1/calendar/2027",
        json={"holidays": ["2026-10-01"], "workdays": ["2027-02-10"]},
        headers=world.auth("p_admin"),
    )
    assert wrong.status_code == 422
    assert [e["loc"] for e in wrong.json()["errors"]] == [["body", "holidays", 0], ["body", "workdays", 0]]
    assert (
        await client.put("/api/v1/calendar/2027", json=body, headers=world.auth("p_staff"))
    ).status_code == 403
    assert (await client.get("/api/v1/calendar/2031", headers=world.auth("p_staff"))).status_code == 404


async def test_a_deadline_without_calendar_data_says_so(client: AsyncClient, world: World) -> None:
    """2027 is not loaded: its deadlines count weekends only, and the records say so."""
    office = world.auth("p_admin")
    program = await client.post(
        "/api/v1/programs",
        json={"code": "Y2027", "name": "2027 计划", "year": 2027, "office_unit_id": str(world.units["P"].id)},
        headers=office,
    )
    unit = str(world.units["A"].id)
    project = await client.post(
        "/api/v1/projects",
        json={
            "program_id": program.json()["id"], "code": "Y-1", "name": "二〇二七项目", "category": "交通",
            "region_unit_id": unit, "owner_unit_id": unit, "responsible_unit_id": unit,
            "leader": {"name": "乙", "title": "县长"}, "construction": "new", "stage": "construction",
            "total_investment": "100", "annual_plan": "50",
            "start_date": "2027-01-01", "end_date": "2027-12-31",
        },
        headers=office,
    )  # fmt: skip
    pid = project.json()["id"]
    await client.post(f"/api/v1/projects/{pid}/submit", headers=office)
    await client.post(f"/api/v1/projects/{pid}/approve", headers=office)
    with clock.use_clock(at("2027-03-19 10:00")):
        r = await client.post(
            f"/api/v1/projects/{pid}/reports",
            json={"period": "2027-03", "investment_month": "5", "progress_percent": "10"},
            headers=office,
        )
    assert r.status_code == 201 and r.json()["due_complete"] is False
    assert r.json()["due_at"] == "2027-03-23T00:00:00+08:00"  # end of Monday the 22nd, on weekends alone
    r = await client.get(
        "/api/v1/reports/dues",
        params={"program_id": program.json()["id"], "as_of": "2027-03-31", "project_id": pid},
        headers=office,
    )
    [due] = [d for d in r.json()["data"] if d["period"] == "2027-03"]
    assert due["due_complete"] is False and due["state"] == "submitted"

    async def refile() -> dict[str, Any]:
        with clock.use_clock(at("2027-03-19 11:00")):
            r = await client.post(
                f"/api/v1/projects/{pid}/reports",
                json={"period": "2027-03", "investment_month": "5", "progress_percent": "10"},
                headers=office,
            )
        assert r.status_code == 201, r.text
        return r.json()

    # The office loads 2027, with Monday 22 March a holiday: the next filing's deadline moves.
    loaded = {"holidays": ["2027-03-22"], "workdays": []}
    assert (await client.put("/api/v1/calendar/2027", json=loaded, headers=office)).status_code == 200
    again = await refile()
    assert again["version"] == 2 and again["due_complete"] is True
    assert again["due_at"] == "2027-03-24T00:00:00+08:00"  # end of Tuesday the 23rd
    # The program's schedule moves to the 25th: so does the deadline.
    url = f"/api/v1/programs/{program.json()['id']}"
    schedules = program.json()["report_schedules"]
    moved = [s | {"due_day": 25} if s["kind"] == "project_monthly" else s for s in schedules]
    version = program.json()["version"]
    patched = await client.patch(
        url, json={"report_schedules": moved}, headers={**office, "If-Match": str(version)}
    )
    assert patched.status_code == 200, patched.text
    third = await refile()
    assert third["version"] == 3 and third["due_at"] == "2027-03-26T00:00:00+08:00"
    # The history gives each version's deadline as its filing answered it, in China's time.
    history = await client.get(f"/api/v1/projects/{pid}/reports", headers=office)
    assert [(h["version"], h["due_at"]) for h in history.json()["data"]] == [
        (3, third["due_at"]),
        (2, again["due_at"]),
        (1, "2027-03-23T00:00:00+08:00"),
    ]


async def test_dates_outside_2000_to_2100_are_refused_in_words(client: AsyncClient, approved: World) -> None:
    """Far-off dates would overflow the deadline arithmetic; each is a 422 naming its field."""
    world, reporter = approved, approved.auth("a_reporter")
    pid = world.projects["A"].id
    cases = [
        (f"/api/v1/projects/{pid}/indicators?as_of=9999-12-31", ["query", "as_of"]),
        (f"/api/v1/projects/{pid}/indicators?as_of=1999-12-31T23:00:00Z", ["query", "as_of"]),
        ("/api/v1/calendar/add-working-days?start=9999-12-31&days=5", ["query", "start"]),
        ("/api/v1/calendar/17607821497624", ["path", "year"]),
        ("/api/v1/audit?until=9999-12-31T23:59:59-14:00", ["query", "until"]),
    ]
    for url, loc in cases:
        r = await client.get(url, headers=world.auth("p_admin"))
        assert r.status_code == 422, (url, r.text)
        assert r.json()["errors"][0]["loc"] == loc, url
    until = (await client.get(cases[-1][0], headers=world.auth("p_admin"))).json()["errors"][0]
    assert until["msg"] == "must be between 2000-01-01 and 2100-12-31"  # in our words, no pydantic prefix
    filed = await client.post(
        f"/api/v1/projects/{pid}/reports",
        json={
            "period": "2018-05",
            "investment_month": "1",
            "progress_percent": "5",
            "milestones": [{"name": "开工", "actual_date": "9999-12-31"}],
        },
        headers=reporter,
    )
    assert filed.status_code == 422
    assert filed.json()["errors"][0]["loc"] == ["body", "milestones", 0, "actual_date"]
    assert "2100-12-31" in filed.json()["detail"]


async def test_nothing_is_owed_before_its_first_period_ends(client: AsyncClient, approved: World) -> None:
    """Before the program's year, and on 3 January of it, units owe nothing yet: no placeholder
    row (kind and period 'none', due in 1970) counts as overdue."""
    for as_of in ("2017-12-01T09:00:00+08:00", "2018-01-03T09:00:00+08:00"):
        params = {"program_id": str(approved.programs["P"].id), "as_of": as_of, "page_size": "500"}
        r = await client.get("/api/v1/reports/dues", params=params, headers=approved.auth("p_staff"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert [d for d in body["data"] if d["period"] == "none" or d["kind"] == "none"] == []
        assert body["summary"]["overdue"] == 0
    # on 3 January only the project's own January form (due by the 22nd) is owed, and open
    assert [(d["kind"], d["period"], d["state"]) for d in body["data"]] == [
        ("project_monthly", "2018-01", "open")
    ]


async def test_a_period_outside_the_program_year_or_the_project_is_refused(
    client: AsyncClient, approved: World, session: AsyncSession
) -> None:
    """A 2018 project took reports for 2019-01 and 2026-12 and its investment to date rose: each
    is a 422 naming `period` and the months allowed, and nothing is filed."""
    project = approved.projects["A"]
    project.end_date = date(2018, 10, 31)
    await session.commit()
    url = f"/api/v1/projects/{project.id}/reports"
    with clock.use_clock(at("2026-12-20 10:00")):
        for period in ("2019-01", "2026-12", "2018-11"):
            r = await client.post(
                url,
                json={"period": period, "investment_month": "10", "progress_percent": "5"},
                headers=approved.auth("a_reporter"),
            )
            assert r.status_code == 422, r.text
            [error] = r.json()["errors"]
            assert error["loc"] == ["body", "period"] and "2018-01 to 2018-10" in error["msg"]
        ok = await client.post(
            url,
            json={"period": "2018-10", "investment_month": "10", "progress_percent": "5"},
            headers=approved.auth("a_reporter"),
        )
    assert ok.status_code == 201 and ok.json()["investment_to_date"] == "10.00"  # nothing else counted


async def test_the_history_is_a_page_and_reads_as_the_filing_answered(
    client: AsyncClient, approved: World
) -> None:
    """One shape for lists ({data, count}); "5" filed reads "5.00" in the answer and the history."""
    url = f"/api/v1/projects/{approved.projects['A'].id}/reports"
    with clock.use_clock(at("2018-05-10 10:00")):
        for month in ("2018-01", "2018-02", "2018-03"):
            filed = await client.post(
                url,
                json={"period": month, "investment_month": "10", "progress_percent": "5"},
                headers=approved.auth("a_reporter"),
            )
            assert filed.status_code == 201
    answer = filed.json()
    assert (answer["progress_percent"], answer["investment_month"]) == ("5.00", "10.00")
    page = (await client.get(f"{url}?page_size=2", headers=approved.auth("a_reporter"))).json()
    assert page["count"] == 3 and [h["period"] for h in page["data"]] == ["2018-03", "2018-02"]
    assert page["data"][0] == answer


async def test_dues_say_who_owes_and_the_last_day_and_export_as_a_workbook(
    client: AsyncClient, approved: World
) -> None:
    params = {"program_id": str(approved.programs["P"].id), "as_of": "2018-10-09T09:00:00+08:00"}
    office = approved.auth("p_staff")
    body = (
        await client.get("/api/v1/reports/dues", params={**params, "page_size": "500"}, headers=office)
    ).json()
    unit = next(d for d in body["data"] if d["kind"] == "unit_monthly" and d["period"] == "2018-09")
    assert (unit["code"], unit["name"]) == (approved.units["A"].code, "A")
    assert unit["responsible_unit_code"] == approved.units["A"].code
    # due by 8 October (the 3rd fell in the National Day week): the last day, and the instant after it
    assert unit["due_date"] == "2018-10-08" and unit["due_at"] == "2018-10-09T00:00:00+08:00"
    project = next(d for d in body["data"] if d["kind"] == "project_monthly" and d["period"] == "2018-09")
    assert (project["code"], project["responsible_unit_name"]) == ("PJ-A", "A")
    r = await client.get("/api/v1/reports/dues.xlsx", params={**params, "state": "overdue"}, headers=office)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1] == ("类型", "编号", "名称", "责任单位", "报表", "期次", "截止日期", "提交时间", "状态")
    overdue = [d for d in body["data"] if d["state"] == "overdue"]
    assert len(rows) - 2 == len(overdue) > 0
    assert {r[-1] for r in rows[2:]} == {"逾期未报"}


async def test_the_office_returns_a_resolution_it_does_not_accept(client: AsyncClient, world: World) -> None:
    """办结复核: a claimed resolution returned with a reason is open again and does not count."""
    problem_id = world.problems["A"].id
    office, unit = world.auth("p_staff"), world.auth("a_reporter")
    claimed = await client.post(
        f"/api/v1/problems/{problem_id}/resolve", json={"resolution": "已协调"}, headers=unit
    )
    assert claimed.status_code == 200 and claimed.json()["state"] == "resolution_claimed"
    again = await client.post(
        f"/api/v1/problems/{problem_id}/resolve", json={"resolution": "x"}, headers=unit
    )
    assert again.status_code == 409  # already claimed: nothing changed
    back = await client.post(
        f"/api/v1/problems/{problem_id}/return", json={"reason": "现场仍未拆除"}, headers=office
    )
    assert back.status_code == 200 and back.json()["state"] == "open" and back.json()["resolution"] is None
    assert (
        back.json()["events"][-1]["action"] == "returned"
        and back.json()["events"][-1]["reason"] == "现场仍未拆除"
    )
    stats = (
        await client.get(f"/api/v1/problems/summary?program_id={world.programs['P'].id}", headers=office)
    ).json()
    assert (stats["resolved"], stats["awaiting_confirmation"]) == (0, 0)
    twice = await client.post(f"/api/v1/problems/{problem_id}/confirm", headers=office)
    assert twice.status_code == 409  # nothing claimed to confirm


async def test_the_office_enters_history_with_its_original_filing_time(
    client: AsyncClient, approved: World, session: AsyncSession
) -> None:
    """Moving off spreadsheets in June: January to May entered as they happened. `late`, the dues
    and the indicators read the original time; the report is marked and audited; reporters may not."""
    from shared.models import AuditEntry, Milestone

    project = approved.projects["A"]
    session.add(Milestone(project_id=project.id, name="开工", planned_date=date(2018, 3, 1)))
    await session.commit()
    url = f"/api/v1/projects/{project.id}/reports"
    office = approved.auth("p_staff")
    with clock.use_clock(at("2018-06-05 10:00")):
        january = await client.post(
            url,
            json={"period": "2018-01", "investment_month": "10", "progress_percent": "5",
                  "filed_at": "2018-01-20T10:00:00+08:00"},
            headers=office,
        )  # fmt: skip
        february = await client.post(
            url,
            json={"period": "2018-02", "investment_month": "10", "progress_percent": "8",
                  "milestones": [{"name": "开工", "actual_date": "2018-02-23"}],
                  "filed_at": "2018-02-24"},  # the day off the paper form: its start, Beijing time
            headers=office,
        )  # fmt: skip
        by_reporter = await client.post(
            url,
            json={"period": "2018-03", "investment_month": "1", "progress_percent": "9",
                  "filed_at": "2018-03-20T10:00:00+08:00"},
            headers=approved.auth("a_reporter"),
        )  # fmt: skip
        future = await client.post(
            url,
            json={"period": "2018-03", "investment_month": "1", "progress_percent": "9",
                  "filed_at": "2018-07-01T10:00:00+08:00"},
            headers=office,
        )  # fmt: skip
        later = await client.post(  # a month not begun and a filing time not come: both at once
            url,
            json={"period": "2018-08", "investment_month": "1", "progress_percent": "9",
                  "filed_at": "2018-07-01T10:00:00+08:00"},
            headers=office,
        )  # fmt: skip
    assert january.status_code == 201, january.text
    assert january.json()["recorded_by_office"] is True and january.json()["late"] is False
    assert january.json()["submitted_at"] == "2018-01-20T10:00:00+08:00"  # Beijing time
    # a caller that asks for another zone gets its instants there; a zone that is none is a 400
    utc = await client.get(f"/api/v1/projects/{project.id}/reports", headers={**office, "Time-Zone": "UTC"})
    assert utc.status_code == 200 and "2018-01-20T02:00:00+00:00" in utc.text, utc.text
    nowhere = await client.get(
        f"/api/v1/projects/{project.id}/reports", headers={**office, "Time-Zone": "Mars/Olympus"}
    )
    assert nowhere.status_code == 400 and "IANA" in nowhere.json()["detail"]
    # February's form was due by the 22nd; filed on the 24th it is late
    assert february.status_code == 201 and february.json()["late"] is True, february.text
    assert february.json()["submitted_at"] == "2018-02-24T00:00:00+08:00"
    assert by_reporter.status_code == 403 and "filed_at" in by_reporter.json()["detail"]
    assert future.status_code == 422 and future.json()["errors"][0]["loc"] == ["body", "filed_at"]
    assert {tuple(e["loc"]) for e in later.json()["errors"]} == {("body", "filed_at"), ("body", "period")}
    owed = await dues(client, approved, "2018-03-01T00:00:00+08:00", kind="project_monthly")
    assert owed[("project_monthly", "2018-01")]["state"] == "submitted"
    assert owed[("project_monthly", "2018-02")]["state"] == "late"
    # as of 23 February only January's report had been filed; the milestone February's records
    # (met on the 23rd, reported on the 24th) counts from its own date
    ind = f"/api/v1/projects/{project.id}/indicators"
    before = (await client.get(ind, params={"as_of": "2018-02-22T12:00:00+08:00"}, headers=office)).json()
    assert before["investment_to_date"] == "10.00" and before["milestones"][0]["state"] == "pending"
    after = (await client.get(ind, params={"as_of": "2018-02-23T12:00:00+08:00"}, headers=office)).json()
    assert after["investment_to_date"] == "10.00" and after["milestones"][0]["state"] == "met_on_time"
    audited = await session.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_id == january.json()["id"], AuditEntry.entity == "project_report"
        )
    )
    assert audited is not None and audited.after["filed_at"] == "2018-01-20T10:00:00+08:00"
    assert audited.occurred_at.astimezone(OFFICE_TZ).date() == date(2018, 6, 5)  # when it was entered


async def test_a_milestone_counts_from_its_own_date_whenever_the_report_came(
    client: AsyncClient, approved: World, session: AsyncSession
) -> None:
    from shared.models import Milestone

    project = approved.projects["A"]
    session.add(Milestone(project_id=project.id, name="开工", planned_date=date(2018, 3, 1)))
    await session.commit()
    with clock.use_clock(at("2018-04-10 10:00")):  # April's report says it began on 20 February
        r = await client.post(
            f"/api/v1/projects/{project.id}/reports",
            json={"period": "2018-03", "investment_month": "1", "progress_percent": "5",
                  "milestones": [{"name": "开工", "actual_date": "2018-02-20"}]},
            headers=approved.auth("a_reporter"),
        )  # fmt: skip
        assert r.status_code == 201
    ind = (
        await client.get(
            f"/api/v1/projects/{project.id}/indicators?as_of=2018-03-05", headers=approved.auth("p_staff")
        )
    ).json()
    assert [(m["name"], m["state"], m["actual_date"]) for m in ind["milestones"]] == [
        ("开工", "met_on_time", "2018-02-20")
    ]
    assert ind["investment_to_date"] == "0.00"  # the investment still counts from when it was filed


async def test_a_project_owes_the_months_of_its_life_and_no_more(
    client: AsyncClient, approved: World, session: AsyncSession
) -> None:
    """Project A ends on 20 August 2018: it owes January to August (August included), not the
    months after — which filing would refuse anyway; its timeliness counts those eight months."""
    approved.projects["A"].end_date = date(2018, 8, 20)
    await session.commit()
    owed = await dues(client, approved, "2018-12-31", subject_type="project")
    months = sorted(period for kind, period in owed if kind == "project_monthly")
    assert months == [f"2018-{m:02d}" for m in range(1, 9)]
    with clock.use_clock(at("2018-12-31 10:00")):
        r = await client.get(
            f"/api/v1/projects/{approved.projects['A'].id}/indicators",
            params={"as_of": "2018-12-31"}, headers=approved.auth("p_staff"),
        )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["reports_due"] == 8
