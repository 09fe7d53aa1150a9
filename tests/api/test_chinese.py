"""Messages a clerk can read: with `Accept-Language: zh-CN` every problem detail is in Chinese and
names fields by their Chinese labels (the Excel templates' headers); English stays the default.
The catalog itself (every message translated) is checked in tests/shared/test_i18n.py."""

import re
import uuid

from httpx import AsyncClient

from shared import clock
from tests.world import World, at

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
HAN = re.compile(r"[\u4e00-\u9fff]")


def _chinese(text: str) -> bool:
    """Mostly Chinese: no run of three English words left untranslated."""
    return bool(HAN.search(text)) and not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,} [A-Za-z]{3,}", text)


async def test_a_bad_report_is_refused_in_chinese_naming_the_template_columns(
    client: AsyncClient,
    approved: World,
) -> None:
    url = f"/api/v1/projects/{approved.projects['A'].id}/reports"
    body = {"period": "2018-05", "investment_month": "-1", "progress_percent": "120"}
    with clock.use_clock(at("2018-06-10 10:00")):
        zh = await client.post(url, json=body, headers={**approved.auth("a_reporter"), **ZH})
        en = await client.post(url, json=body, headers=approved.auth("a_reporter"))
    assert zh.status_code == en.status_code == 422
    problem = zh.json()
    assert problem["title"] == "填写有误" and zh.headers["content-language"] == "zh-CN"
    assert [e["loc"] for e in problem["errors"]] == [e["loc"] for e in en.json()["errors"]]
    by_field = {e["loc"][-1]: e["msg"] for e in problem["errors"]}
    assert by_field["investment_month"] == "本月完成投资(万元)：应大于或等于 0"
    assert by_field["progress_percent"] == "形象进度(%)：应小于或等于 100"
    assert problem["detail"].startswith("请更正：") and "本月完成投资(万元)" in problem["detail"]
    assert "body.investment_month" not in problem["detail"]
    # English unchanged: the field's path, pydantic's words
    assert en.json()["title"] == "Invalid values" and en.headers["content-language"] == "en"
    assert "body.investment_month: Input should be greater than or equal to 0" in en.json()["detail"]


async def test_a_rule_of_the_filing_and_a_state_are_said_in_chinese(
    client: AsyncClient,
    approved: World,
) -> None:
    """The service's own words (a period before the project starts) and a 409 naming a status."""
    world = approved
    with clock.use_clock(at("2018-06-10 10:00")):
        early = await client.post(
            f"/api/v1/projects/{world.projects['A'].id}/reports",
            json={"period": "2017-12", "investment_month": "1", "progress_percent": "1"},
            headers={**world.auth("a_reporter"), **ZH},
        )
        draft = await client.post(
            f"/api/v1/projects/{world.projects['B'].id}/reports",
            json={"period": "2018-05", "investment_month": "1", "progress_percent": "5"},
            headers={**world.auth("b_admin"), **ZH},
        )
    [error] = early.json()["errors"]
    assert error["msg"].startswith("期次：") and "早于开工" in error["msg"] and _chinese(error["msg"])
    # with a fault the schema finds (a negative amount) the rules' are in the same answer
    with clock.use_clock(at("2018-06-10 10:00")):
        both = await client.post(
            f"/api/v1/projects/{world.projects['A'].id}/reports",
            json={"period": "2017-12", "investment_month": "-1", "progress_percent": "1",
                  "milestones": [{"name": "不存在的节点", "actual_date": "2018-05-01"}]},
            headers={**world.auth("a_reporter"), **ZH},
        )  # fmt: skip
    assert {tuple(e["loc"]) for e in both.json()["errors"]} == {
        ("body", "investment_month"),
        ("body", "period"),
        ("body", "milestones", 0, "name"),
    }, both.json()
    assert draft.status_code == 409 and draft.json()["title"] == "冲突"
    assert "待审核" in draft.json()["detail"] and _chinese(draft.json()["detail"])


async def test_every_kind_of_refusal_speaks_chinese(client: AsyncClient, world: World) -> None:
    """Sign-in, a missing token, a forbidden action, an unknown record, a wrong method, a stale
    If-Match, a malformed body: title and detail in Chinese each time."""
    unit = world.units["A"]
    admin = {**world.auth("p_admin"), **ZH}
    answers = [
        await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": "p_admin", "password": "x"},
            headers=ZH,
        ),
        await client.get("/api/v1/projects", headers=ZH),
        await client.get("/api/v1/projects", headers={"Authorization": "Bearer nonsense", **ZH}),
        await client.post("/api/v1/calendar/2030", headers={**world.auth("a_reporter"), **ZH}),
        await client.get(f"/api/v1/units/{world.projects['A'].id}", headers=admin),
        await client.patch(
            f"/api/v1/units/{unit.id}", json={"name": "x"}, headers={**admin, "If-Match": "99"}
        ),
        await client.post(
            "/api/v1/units",
            content=b"{not json",
            headers={**admin, "Content-Type": "application/json"},
        ),
        await client.put("/api/v1/calendar/2030", json={"holidays": [], "workdays": ["2030-01-07"]},
                         headers=admin),
    ]  # fmt: skip
    assert [a.status_code for a in answers] == [401, 401, 401, 405, 404, 412, 400, 422]
    for a in answers:
        problem = a.json()
        assert _chinese(problem["title"]) and _chinese(problem["detail"]), problem
        for e in problem.get("errors") or []:
            assert _chinese(e["msg"]), e
    assert answers[-1].json()["errors"][0]["msg"].startswith("调休工作日 第 1 项：")


async def test_english_is_the_default_and_a_preference_is_weighed(client: AsyncClient, world: World) -> None:
    url = "/api/v1/projects"
    for header, language in [
        (None, "en"),
        ("fr-FR", "en"),
        ("zh", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("en;q=0.5, zh-CN;q=0.9", "zh-CN"),
        ("zh-CN;q=0.1, en", "en"),
        ("zh-CN;q=0", "en"),
        ("zh-CN;q=nonsense, en", "en"),
    ]:
        r = await client.get(url, headers={"Accept-Language": header} if header else {})
        assert r.status_code == 401 and r.headers["content-language"] == language, header
        assert ("未登录" == r.json()["title"]) == (language == "zh-CN")


async def test_an_import_lists_its_errors_in_chinese(client: AsyncClient, world: World) -> None:
    """The report import names a column missing from the sheet, in Chinese."""
    content = "项目编号,期次,本月完成投资(万元)\nX-1,2018-05,abc\n".encode()
    r = await client.post(
        "/api/v1/reports/import",
        data={"program_id": str(world.programs["P"].id)},
        files={"file": ("r.csv", content, "text/csv")},
        headers={**world.auth("p_admin"), **ZH},
    )
    assert r.status_code == 422
    [missing] = r.json()["errors"]
    assert missing == {"row": 1, "column": "形象进度(%)", "message": "缺少模板中的这一列"}


async def test_what_pydantic_and_the_permissions_say_is_chinese_too(
    client: AsyncClient, world: World
) -> None:
    """No English left in a Chinese answer (tests/helpers.in_chinese checks every one): a choice
    among words, a code's form said in words rather than as a regular expression, and a
    permission named by what it lets one do."""
    admin = {**world.auth("p_admin"), **ZH}
    kind = await client.post("/api/v1/notices", json={"kind": "bogus"}, headers=admin)
    assert kind.status_code == 422
    said = {e["loc"][-1]: e["msg"] for e in kind.json()["errors"]}
    assert "'urging' 或 'supervision'" in said["kind"], said
    code = await client.post(
        "/api/v1/units",
        json={
            "code": "栾川县",
            "name": "栾川县",
            "kind": "government",
            "parent_id": str(world.units["P"].id),
        },
        headers=admin,
    )
    assert code.status_code == 422
    [error] = code.json()["errors"]
    assert "字母、数字" in error["msg"] and "A-Za-z" not in error["msg"], error
    refused = await client.post(
        f"/api/v1/problems/{uuid.uuid4()}/confirm", json={}, headers={**world.auth("a_reporter"), **ZH}
    )
    assert refused.status_code == 403 and "确认问题已解决" in refused.json()["detail"], refused.text


async def test_every_write_endpoint_refuses_a_wrong_body_in_chinese(
    client: AsyncClient, world: World
) -> None:
    """Each operation taking a JSON body, sent one with every property of the wrong type and an
    unknown one: refused (4xx), and said in Chinese throughout, values aside
    (tests/helpers.in_chinese checks each answer)."""
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    admin = {**world.auth("p_admin"), **ZH}
    sent = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            ref = content["application/json"]["schema"].get("$ref", "")
            properties = schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
            wrong = {name: [[]] for name in properties} | {"未知字段": 1}
            url = re.sub(r"{[^}]+}", lambda m: "2018" if "year" in m.group(0) else str(uuid.uuid4()), path)
            r = await client.request(method, url, json=wrong, headers={**admin, "If-Match": '"1"'})
            assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text)
            sent += 1
    assert sent > 30
