"""Sign in, open the overview, a project and a bulletin in chromium: the charts are SVG with a
size, the console stays clean, and a county's reader gets a 403 page for another county's project.
Screenshots go to tests/browser/artifacts/."""

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import OPERATOR, Spawn, api_up, own_database
from tests.helpers import eventually

ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "Browser-2026-pages"
YEAR = date.today().year


async def _seed(c: httpx.AsyncClient) -> dict[str, Any]:
    """Over the api, as an office would: two counties with a reader each, a program of this year
    with a project in each county, monthly reports, and last month's bulletin published."""
    tag = uuid.uuid4().hex[:6]
    office = (await c.get("/api/v1/me")).json()["unit_id"]
    made: dict[str, Any] = {}
    for county, name in (("A", "栾川县"), ("B", "嵩县")):
        r = await c.post(
            "/api/v1/units",
            json={"code": f"{county}-{tag}", "name": name, "kind": "government", "parent_id": office},
        )
        assert r.status_code == 201, r.text
        made[county] = r.json()["id"]
        r = await c.post(
            "/api/v1/users",
            json={
                "username": f"reader-{county}-{tag}",
                "password": PASSWORD,
                "display_name": f"{name}联络员",
                "unit_id": made[county],
                "roles": ["reporter"],
            },
        )
        assert r.status_code == 201, r.text
        made[f"user_{county}"] = f"reader-{county}-{tag}"
    r = await c.post(
        "/api/v1/programs",
        json={
            "code": f"B-{tag}",
            "name": "重点项目建设",
            "year": YEAR,
            "office_unit_id": office,
            "categories": ["现代基础设施", "公共服务"],
        },
    )
    assert r.status_code == 201, r.text
    made["program"] = r.json()["id"]
    for county, category in (("A", "现代基础设施"), ("B", "公共服务")):
        r = await c.post(
            "/api/v1/projects",
            json={
                "program_id": made["program"],
                "code": f"{county}-1",
                "name": f"{county}县城区道路改造",
                "category": category,
                "region_unit_id": made[county],
                "owner_unit_id": made[county],
                "responsible_unit_id": made[county],
                "leader": {"name": "张三", "title": "副县长"},
                "construction": "new",
                "stage": "construction",
                "total_investment": "5000",
                "annual_plan": "1200",
                "start_date": f"{YEAR}-01-01",
                "end_date": f"{YEAR + 1}-12-31",
                "milestones": [{"name": "开工", "planned_date": f"{YEAR}-02-01"}],
            },
        )
        assert r.status_code == 201, r.text
        made[f"project_{county}"] = project = r.json()["id"]
        for step in ("submit", "approve"):
            assert (await c.post(f"/api/v1/projects/{project}/{step}")).status_code == 200
    last = date.today().month - 1 or 1
    for month in range(1, last + 1):
        for county, amount in (("A", "90"), ("B", "40")):
            r = await c.post(
                f"/api/v1/projects/{made[f'project_{county}']}/reports",
                json={
                    "period": f"{YEAR}-{month:02d}",
                    "investment_month": amount,
                    "progress_percent": str(month * 5),
                },
            )
            assert r.status_code == 201, r.text
    made["month"] = f"{YEAR}-{last:02d}"
    r = await c.post(f"/api/v1/programs/{made['program']}/bulletins/{made['month']}/publish")
    assert r.status_code == 201, r.text
    return made


async def _urged(c: httpx.AsyncClient, made: dict[str, Any]) -> str:
    """The office urges county A on its project; the notifier issues the notice."""
    r = await c.post(
        "/api/v1/notices",
        json={
            "program_id": made["program"],
            "kind": "urging",
            "recipient_unit_id": made["A"],
            "subject": {"type": "project", "id": made["project_A"]},
            "requirements": "请加快征地拆迁进度，五个工作日内书面报告。",
            "due_in_working_days": 5,
        },
    )
    assert r.status_code == 202, r.text
    notice_id = str(r.json()["id"])

    async def issued() -> bool:
        return (await c.get(f"/api/v1/notices/{notice_id}")).status_code == 200

    await eventually(issued, within=30, every=0.2)
    return notice_id


def _sign_in(driver: webdriver.Chrome, base_url: str, username: str, password: str) -> None:
    driver.get(f"{base_url}/office/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 20).until(ready.url_to_be(f"{base_url}/office/"))


def _charts(driver: webdriver.Chrome) -> list[dict[str, int]]:
    sizes = [svg.size for svg in driver.find_elements(By.CSS_SELECTOR, "svg")]
    assert sizes, "no SVG chart on the page"
    assert all(s["width"] > 0 and s["height"] > 0 for s in sizes), sizes
    return sizes


def _console_errors(driver: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


async def test_the_office_pages_in_a_real_browser(
    spawn: Spawn, base_env: dict[str, str], browser: webdriver.Chrome
) -> None:
    async with own_database(base_env, "browser") as env:
        base_url, headers = await api_up(spawn, env)
        spawn("serve", "notifier", env=env, log="notifier")  # issues the office's notice below
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as c:
            made = await _seed(c)
            made["notice"] = await _urged(c, made)
        _sign_in(browser, base_url, *OPERATOR)
        browser.save_screenshot(str(ARTIFACTS / "home.png"))
        browser.find_element(By.LINK_TEXT, "重点项目建设").click()
        WebDriverWait(browser, 20).until(ready.presence_of_element_located((By.ID, "lights")))
        assert len(_charts(browser)) == 2
        assert browser.find_element(By.ID, "notices-by-level").is_displayed()
        browser.save_screenshot(str(ARTIFACTS / "overview.png"))

        browser.get(f"{base_url}/office/projects/{made['project_A']}")
        light = browser.find_element(By.ID, "project-light").get_attribute("data-light")
        assert light in ("green", "yellow", "red")
        assert "A县城区道路改造" in browser.find_element(By.TAG_NAME, "h1").text
        browser.save_screenshot(str(ARTIFACTS / "project.png"))

        browser.get(f"{base_url}/office/programs/{made['program']}/bulletins")
        browser.find_element(By.CSS_SELECTOR, f"a[href$='/bulletins/{made['month']}.html']").click()
        WebDriverWait(browser, 20).until(ready.presence_of_element_located((By.TAG_NAME, "svg")))
        assert len(_charts(browser)) == 5  # category, region, lights, two ranking groups
        assert "通报" in browser.title
        browser.save_screenshot(str(ARTIFACTS / "bulletin.png"))
        assert _console_errors(browser) == []

        # county A's liaison answers the notice from the inbox: htmx swaps the card in place
        browser.delete_all_cookies()
        _sign_in(browser, base_url, made["user_A"], PASSWORD)
        browser.get(f"{base_url}/office/inbox")
        card = browser.find_element(By.ID, f"notice-{made['notice']}")
        card.find_element(By.TAG_NAME, "textarea").send_keys("已于本周完成整改，附现场照片。")
        browser.execute_script("window.__stayed = true")  # gone if the page were loaded anew
        card.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 20).until(ready.presence_of_element_located((By.CSS_SELECTOR, ".sent")))
        assert browser.execute_script("return window.__stayed") is True
        assert "反馈已提交" in browser.find_element(By.ID, f"notice-{made['notice']}").text
        browser.save_screenshot(str(ARTIFACTS / "inbox.png"))
        assert _console_errors(browser) == []

        browser.delete_all_cookies()
        _sign_in(browser, base_url, made["user_B"], PASSWORD)
        browser.get(f"{base_url}/office/projects/{made['project_A']}")
        assert "403" in browser.find_element(By.TAG_NAME, "h1").text
        assert "无权查看" in browser.find_element(By.ID, "problem").text
        assert "Traceback" not in browser.page_source
        browser.save_screenshot(str(ARTIFACTS / "forbidden.png"))
