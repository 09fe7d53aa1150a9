"""The office pages: sign-in with the same accounts (an HttpOnly, SameSite session cookie, a CSRF
token on every form), the overview, a project's page, the inbox's feedback form and the bulletins,
under the API's access rules — a refusal is a page in Chinese, never a trace."""

import re
from datetime import date
from decimal import Decimal

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared import clock
from shared.models import NoticeActionRecord, Project
from tests.world import PASSWORD, World, at


async def _sign_in(client: AsyncClient, world: World, who: str) -> str:
    """Sign in through the form; the CSRF token the pages then carry."""
    form = await client.get("/office/login")
    assert form.status_code == 200 and "登录督办系统" in form.text
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    done = await client.post(
        "/office/login",
        data={"username": world.users[who].username, "password": PASSWORD, "csrf": token.group(1)},
    )
    assert done.status_code == 303 and done.headers["location"] == "/office/"
    cookie = done.headers["set-cookie"]
    assert "duban_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/office" in cookie
    home = await client.get("/office/")
    found = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert found is not None
    return found.group(1)


async def test_signing_in_takes_the_same_account_and_refuses_a_forged_form(
    client: AsyncClient, world: World
) -> None:
    assert (await client.get("/office/")).headers["location"] == "/office/login"  # not signed in
    form = await client.get("/office/login")
    wrong = await client.post(
        "/office/login",
        data={"username": world.users["p_staff"].username, "password": "nope", "csrf": "forged"},
    )
    assert wrong.status_code == 403 and "登录表单已过期" in wrong.text  # the CSRF token comes first
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    bad = await client.post(
        "/office/login",
        data={"username": world.users["p_staff"].username, "password": "nope", "csrf": token.group(1)},
    )
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    csrf = await _sign_in(client, world, "p_staff")
    home = await client.get("/office/")
    assert world.programs["P"].name in home.text and world.programs["Q"].name not in home.text
    forged = await client.post("/office/logout", data={"csrf": "x" * 40})
    assert forged.status_code == 403
    out = await client.post("/office/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert (await client.get("/office/")).status_code == 303


async def test_the_overview_shows_lights_chart_overdue_items_and_notices_by_level(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    project = world.projects["A"]
    project.status, project.start_date = "approved", date(2018, 3, 1)
    session.add(project)
    await session.commit()
    await _sign_in(client, world, "p_staff")
    with clock.use_clock(at("2018-09-05 10:00")):
        page = await client.get(f"/office/programs/{world.programs['P'].id}")
    assert page.status_code == 200, page.text
    assert page.text.count("<svg") == 2 and "序时进度" in page.text
    assert 'id="worst"' in page.text and "PJ-A" in page.text  # red: never started, reports overdue
    assert "逾期未报（共 " in page.text and "<td>项目月报</td><td>2018-03</td>" in page.text
    assert "催办" in page.text  # the world's urging notice, counted by its rung


async def test_a_county_cannot_open_another_countys_project_page(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    other = Project(
        program_id=world.programs["P"].id, code="B-2", name="乙县项目", category="公共服务",
        region_unit_id=world.units["B"].id, owner_unit_id=world.units["B"].id,
        responsible_unit_id=world.units["B"].id, leader={"name": "李四", "title": "副县长"},
        construction="new", stage="construction", status="approved", total_investment=Decimal(100),
        annual_plan=Decimal(50), start_date=date(2018, 1, 1), end_date=date(2018, 12, 31), created_by="t",
    )  # fmt: skip
    session.add(other)
    await session.commit()
    await _sign_in(client, world, "a_reporter")
    own = await client.get(f"/office/projects/{world.projects['A'].id}")
    assert own.status_code == 200 and "PJ-A" in own.text and "节点" in own.text
    refused = await client.get(f"/office/projects/{other.id}")
    assert refused.status_code == 403 and "无权查看" in refused.text and "Traceback" not in refused.text
    assert refused.headers["content-type"].startswith("text/html")


async def test_a_liaison_answers_a_notice_from_the_inbox_with_the_forms_csrf_token(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    csrf = await _sign_in(client, world, "a_reporter")
    inbox = await client.get("/office/inbox")
    notice = world.notices["A"]
    assert f'id="notice-{notice.id}"' in inbox.text and "提交反馈" in inbox.text
    url = f"/office/notices/{notice.id}/feedback"
    forged = await client.post(url, data={"text": "已报送", "csrf": "x" * 40})
    assert forged.status_code == 403
    sent = await client.post(
        url, data={"text": "八月报表已补报", "csrf": csrf}, headers={"HX-Request": "true"}
    )
    assert sent.status_code == 200 and "反馈已提交" in sent.text
    recorded = await session.scalars(
        select(NoticeActionRecord).where(col(NoticeActionRecord.notice_id) == notice.id)
    )
    assert [(a.action, a.text) for a in recorded] == [("feedback", "八月报表已补报")]
    # county B's liaison cannot answer county A's notice
    client.cookies.clear()
    b_csrf = await _sign_in(client, world, "b_admin")
    other = await client.post(url, data={"text": "代答", "csrf": b_csrf})
    assert other.status_code == 404 and other.headers["content-type"].startswith("text/html")
    assert "Traceback" not in other.text


async def test_the_bulletins_page_lists_the_months_with_their_downloads(
    client: AsyncClient, world: World
) -> None:
    await _sign_in(client, world, "p_staff")
    with clock.use_clock(at("2018-06-10 09:00")):
        page = await client.get(f"/office/programs/{world.programs['P'].id}/bulletins")
        assert page.status_code == 200 and "2018-06" in page.text and "2018-07" not in page.text
        link = f"/office/programs/{world.programs['P'].id}/bulletins/2018-05"
        assert f"{link}.xlsx" in page.text
        html = await client.get(f"{link}.html")
        xlsx = await client.get(f"{link}.xlsx")
    assert html.status_code == 200 and "<svg" in html.text
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
