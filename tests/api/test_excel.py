"""The project library in spreadsheets: template, import (all or nothing), export round trip."""

import io
import zipfile
from typing import Any

from httpx import AsyncClient
from openpyxl import Workbook, load_workbook
from openpyxl.utils.cell import range_boundaries

from services.api.projects.excel import HEADERS
from tests.world import World

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def row(world: World, code: str, **overrides: Any) -> dict[str, Any]:
    cells = {
        "项目编号": code,
        "项目名称": f"{code} 道路工程",
        "所属类别": "现代基础设施",
        "所属区域": world.units["A"].code,
        "业主单位": "D",  # by name: unique among the units the caller sees
        "责任单位": world.units["A"].code,
        "责任领导": "张三",
        "领导职务": "副县长",
        "建设性质": "新建",
        "建设阶段": "在建",
        "总投资(万元)": 1200,
        "年度计划投资(万元)": 600.5,
        "开工日期": "2018-03-01",
        "竣工日期": "2019/12/31",
        "主要节点": "开工:2018-03-15；主体完工：2019-06-30",
        "服务团队": "手续办理人员:李四;法务人员:王五",
        "3月计划投资(万元)": 100,
        "4月计划投资(万元)": "200.25",
    }
    cells.update(overrides)
    return cells


def workbook(rows: list[dict[str, Any]], headers: list[str] = HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h) for h in headers])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def upload(
    client: AsyncClient,
    world: World,
    content: bytes,
    name: str = "projects.xlsx",
    dry_run: bool = False,
    who: str = "a_reporter",
) -> Any:
    return await client.post(
        "/api/v1/projects/import",
        data={"program_id": str(world.programs["P"].id), "dry_run": str(dry_run).lower()},
        files={"file": (name, content, XLSX)},
        headers=world.auth(who),
    )


async def codes(client: AsyncClient, world: World, prefix: str) -> list[str]:
    r = await client.get(f"/api/v1/projects?q={prefix}&sort=code", headers=world.auth("p_admin"))
    return [p["code"] for p in r.json()["data"]]


async def test_the_template_has_the_chinese_columns(client: AsyncClient, world: World) -> None:
    r = await client.get(
        f"/api/v1/projects/template.xlsx?program_id={world.programs['P'].id}",
        headers=world.auth("a_reporter"),
    )
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers[:4] == ["项目编号", "项目名称", "所属类别", "所属区域"] and "总投资(万元)" in headers
    book = load_workbook(io.BytesIO(r.content))
    choices = book["选项"]
    assert choices.sheet_state == "hidden"
    # each pick-list: its column, and the choices it reads from the hidden sheet
    offered = {}
    for rule in ws.data_validations.dataValidation:
        source = range_boundaries(str(rule.formula1).split("!")[1].replace("$", ""))[0]
        target = range_boundaries(str(rule.sqref))[0]
        column = [c.value for c in next(choices.iter_cols(min_col=source, max_col=source))]
        offered[headers[target - 1]] = [v for v in column if v is not None]
    assert offered["所属类别"] == ["现代基础设施", "公共服务"] and offered["建设性质"] == ["新建", "续建"]
    # the units the reporter sees, by name (the import takes names)
    assert world.units["A"].name in offered["责任单位"] and offered["业主单位"] == offered["责任单位"]


async def test_a_good_file_imports_every_row(client: AsyncClient, world: World) -> None:
    content = workbook([row(world, "IMP-1"), row(world, "IMP-2", 建设性质="续建", 建设阶段="前期")])
    dry = await upload(client, world, content, dry_run=True)
    assert dry.status_code == 200 and dry.json() == {"created": 2, "dry_run": True, "errors": []}
    assert await codes(client, world, "IMP-") == []  # a dry run changes nothing
    r = await upload(client, world, content)
    assert r.json() == {"created": 2, "dry_run": False, "errors": []}
    assert await codes(client, world, "IMP-") == ["IMP-1", "IMP-2"]
    one = (await client.get("/api/v1/projects?q=IMP-2", headers=world.auth("a_reporter"))).json()["data"][0]
    detail = (await client.get(f"/api/v1/projects/{one['id']}", headers=world.auth("a_reporter"))).json()
    assert (
        detail["status"] == "draft"
        and detail["construction"] == "continuing"
        and detail["stage"] == "preparation"
    )
    assert detail["owner_unit_id"] == str(world.units["D"].id)
    assert detail["annual_plan"] == "600.50" and detail["monthly_plan"] == {
        "2018-03": "100.00",
        "2018-04": "200.25",
    }
    assert [(m["name"], m["planned_date"]) for m in detail["milestones"]] == [
        ("开工", "2018-03-15"),
        ("主体完工", "2019-06-30"),
    ]
    assert detail["service_team"][1] == {"role": "法务人员", "name": "王五", "title": None}


async def test_errors_in_rows_3_and_7_import_nothing_and_name_both(client: AsyncClient, world: World) -> None:
    rows = [row(world, f"ERR-{i}") for i in range(2, 8)]  # sheet rows 2..7
    rows[1] = row(world, "ERR-3", **{"年度计划投资(万元)": 5000})  # row 3: annual plan above the total
    rows[5] = row(world, "ERR-7", 业主单位="没有这个单位", 开工日期="明年")  # row 7: two bad cells
    r = await upload(client, world, workbook(rows))
    assert r.status_code == 422  # a system that checks the status code must not think it worked
    body = r.json()
    assert body["created"] == 0
    assert {(e["row"], e["column"]) for e in body["errors"]} == {
        (3, "年度计划投资(万元)"),
        (7, "业主单位"),
        (7, "开工日期"),
    }
    dry = await upload(client, world, workbook(rows), dry_run=True)
    assert dry.status_code == 422 and dry.json()["dry_run"] is True
    assert {(e["row"], e["column"]) for e in dry.json()["errors"]} == {
        (e["row"], e["column"]) for e in body["errors"]
    }
    assert await codes(client, world, "ERR-") == []


async def test_duplicates_within_the_file_and_the_program_are_named(
    client: AsyncClient, world: World
) -> None:
    content = workbook([row(world, "DUP-1"), row(world, "DUP-1"), row(world, world.projects["A"].code)])
    errors = (await upload(client, world, content)).json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(3, "项目编号"), (4, "项目编号")]
    assert "row 2" in errors[0]["message"]


async def test_a_gbk_csv_from_excel_imports(client: AsyncClient, world: World) -> None:
    lines = [",".join(HEADERS), ",".join(str(row(world, "CSV-1").get(h, "")) for h in HEADERS)]
    content = "\r\n".join(lines).encode("gb18030")
    r = await upload(client, world, content, name="项目.csv")
    assert r.json()["created"] == 1, r.text


async def test_wrong_or_hostile_files_get_clear_errors(client: AsyncClient, world: World) -> None:
    not_a_sheet = await upload(client, world, b"%PDF-1.4 ...", name="plan.pdf")
    assert not_a_sheet.status_code == 422 and ".xlsx" in not_a_sheet.json()["detail"]
    broken = await upload(client, world, b"PK\x03\x04garbage")
    assert broken.status_code == 422 and "readable" in broken.json()["detail"]
    wide = Workbook()
    wide.active.cell(row=50_000, column=300, value="x")
    buf = io.BytesIO()
    wide.save(buf)
    absurd = await upload(client, world, buf.getvalue())
    assert absurd.status_code == 422 and "50000 rows × 300 columns" in absurd.json()["detail"]
    corner = Workbook()
    corner.active["A1"] = "项目编号"
    corner.active["XFD1048576"] = "x"  # read densely, this one cell would be 17 billion
    buf = io.BytesIO()
    corner.save(buf)
    far = await upload(client, world, buf.getvalue())
    assert far.status_code == 422 and "1048576 rows × 16384 columns" in far.json()["detail"]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (210 * 1024 * 1024))
    zipped = await upload(client, world, bomb.getvalue())
    assert zipped.status_code == 422 and "200 MB" in zipped.json()["detail"]
    huge = await upload(client, world, b"x" * (11 * 1024 * 1024), name="big.csv")
    assert huge.status_code == 413
    headers = await upload(client, world, workbook([row(world, "H-1")], headers=["编号", *HEADERS[1:]]))
    assert {(e["row"], e["column"]) for e in headers.json()["errors"]} == {(1, "编号"), (1, "项目编号")}


async def test_an_export_imports_again(client: AsyncClient, world: World) -> None:
    content = workbook([row(world, "RT-1"), row(world, "RT-2")])
    assert (await upload(client, world, content)).json()["created"] == 2
    exported = await client.get(
        f"/api/v1/projects/export.xlsx?program_id={world.programs['P'].id}&q=RT-",
        headers=world.auth("p_admin"),
    )
    assert exported.status_code == 200
    ws = load_workbook(io.BytesIO(exported.content)).worksheets[0]
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert values[0][-1] == "状态" and [r[0] for r in values[1:]] == ["RT-1", "RT-2"]
    assert values[1][-1] == "草稿" and values[1][4] == world.units["D"].name  # units by name
    # Into a fresh program of the same office: the same projects, the same plans.
    program = await client.post(
        "/api/v1/programs",
        json={"code": "RT-COPY", "name": "复制", "year": 2018, "office_unit_id": str(world.units["P"].id)},
        headers=world.auth("p_admin"),
    )
    again = await client.post(
        "/api/v1/projects/import",
        data={"program_id": program.json()["id"]},
        files={"file": ("export.xlsx", exported.content, XLSX)},
        headers=world.auth("p_admin"),
    )
    assert again.json() == {"created": 2, "dry_run": False, "errors": []}, again.text


async def test_a_retried_upload_with_the_same_key_imports_once(client: AsyncClient, world: World) -> None:
    """A clerk on a bad line sends the file again: same Idempotency-Key, a new multipart boundary."""
    content = workbook([row(world, "RETRY-1")])
    responses = []
    for _ in range(2):
        responses.append(
            await client.post(
                "/api/v1/projects/import",
                data={"program_id": str(world.programs["P"].id)},
                files={"file": ("projects.xlsx", content, XLSX)},
                headers={**world.auth("a_reporter"), "Idempotency-Key": "upload-2018-05-22-001"},
            )
        )
    first, again = responses
    assert first.json()["created"] == 1 and again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await codes(client, world, "RETRY-") == ["RETRY-1"]
