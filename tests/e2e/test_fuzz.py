"""Never a 500 for bad input, and an OpenAPI that says what the api enforces: schemathesis sends
every operation of the api's own OpenAPI requests built from its schema — boundary values, wrong
types, odd text, valid ones too — with every check on (`--checks all`): no 5xx, every answer as
its schema says, schema-violating requests refused, undeclared methods 405, and schema-valid ones
refused only for rules no schema can state. The api runs as a real process on a database of its
own (the fuzzer creates units, loads calendars and fails sign-ins, which other tests must not see)."""

import asyncio
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Spawn, operator_headers, own_database, wait_ready
from tests.helpers import free_port, record_reliability

pytestmark = pytest.mark.e2e


async def _records(c: httpx.AsyncClient) -> dict[str, str]:
    """A county, a program with a task, an approved project with a report that raised a problem:
    the ids the fuzzer puts in paths, so requests reach past the 404 into each endpoint's logic."""
    office = (await c.get("/api/v1/me")).json()["unit_id"]
    unit = {"code": "LC", "name": "栾川县", "kind": "government"}
    county = (await c.post("/api/v1/units", json=unit)).json()
    body = {"code": "BC", "name": "重点项目", "year": 2018, "categories": ["基础设施"]}
    program = (await c.post("/api/v1/programs", json={**body, "office_unit_id": office})).json()
    task = (
        await c.post(
            f"/api/v1/programs/{program['id']}/tasks",
            json={"number": "1", "title": "路网建设", "responsible_unit_ids": [county["id"]]},
        )
    ).json()
    project = (
        await c.post(
            "/api/v1/projects",
            json={
                "program_id": program["id"],
                "code": "LC-1",
                "name": "伏牛山滑雪度假区提升工程",
                "category": "基础设施",
                "region_unit_id": county["id"],
                "owner_unit_id": county["id"],
                "responsible_unit_id": county["id"],
                "leader": {"name": "王五", "title": "副县长"},
                "construction": "new",
                "stage": "construction",
                "total_investment": "12000",
                "annual_plan": "6000",
                "start_date": "2018-03-01",
                "end_date": "2019-10-31",
                "milestones": [{"name": "开工", "planned_date": "2018-04-15"}],
            },
        )
    ).json()
    for step in ("submit", "approve"):
        assert (await c.post(f"/api/v1/projects/{project['id']}/{step}")).status_code == 200
    report = {"period": "2018-05", "investment_month": "100", "progress_percent": "20"}
    filed = await c.post(
        f"/api/v1/projects/{project['id']}/reports", json={**report, "problems": [{"title": "征地拆迁滞后"}]}
    )
    assert filed.status_code == 201, filed.text
    problem = (await c.get("/api/v1/problems")).json()["data"][0]
    return {
        "unit_id": county["id"],
        "program_id": program["id"],
        "task_id": task["id"],
        "project_id": project["id"],
        "problem_id": problem["id"],
    }


async def test_no_generated_request_gets_a_server_error(
    spawn: Spawn, base_env: dict[str, str], tmp_path: Path
) -> None:
    async with own_database(base_env, "fuzz") as env:
        port = free_port()
        api = spawn("serve", "api", "--port", str(port), env=env, log="fuzz-api")
        base_url = f"http://127.0.0.1:{port}"
        await wait_ready(base_url, api)
        headers = await operator_headers(base_url, env)
        async with httpx.AsyncClient(base_url=base_url, timeout=10, headers=headers) as c:
            ids = await _records(c)
            operations = sum(len(ops) for ops in (await c.get("/openapi.json")).json()["paths"].values())
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            "[parameters]\n"
            + "".join(f'"path.{k}" = "{v}"\n' for k, v in ids.items())
            # an update without If-Match is 428 (Precondition Required), the status made for it
            + '\n[[operations]]\ninclude-method = "PATCH"\n'
            + 'checks.missing_required_header.expected-statuses = ["401", "403", "422", "428"]\n'
        )
        run = [
            *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"),
            f"{base_url}/openapi.json",
            *("--header", f"Authorization: {headers['Authorization']}"),
            *("--checks", "all"),
            *("--phases", "examples,coverage,fuzzing"),
            *("--max-examples", os.environ.get("DUBAN_FUZZ_EXAMPLES", "10")),
            *("--seed", "20181001"),
            *("--report", "junit", "--report-dir", str(tmp_path / "report")),
            "--no-color",
        ]
        done = await asyncio.to_thread(
            subprocess.run, run, capture_output=True, text=True, timeout=600, cwd=tmp_path
        )
        assert f"Tested: {operations}" in done.stdout, done.stdout[-4000:]  # every operation was reached
        [report] = (tmp_path / "report").glob("*.xml")
        failures = _failures(report)
        wrong = [f for f in failures if not _beyond_a_schema(f)]
        assert not wrong, "\n\n".join(f"{f.operation}: {f.check} [{f.status}] {f.body[:400]}" for f in wrong)
        generated = re.search(r"(\d+) generated", done.stdout)
        record_reliability(
            "fuzz",
            {
                "operations": operations,
                "cases": int(generated[1]) if generated else None,
                "refused_beyond_a_schema": len(failures),
            },
        )


@dataclass
class Failure:
    operation: str
    check: str
    status: int
    body: str


def _failures(report: Path) -> list[Failure]:
    """Each failed check in schemathesis's JUnit report: the operation, the check's code, the
    status and the start of the body answered."""
    found = []
    for case in ET.parse(report).getroot().iter("testcase"):
        for failure in case.iter("failure"):
            for check, status, body in re.findall(
                r"^- (ST\d+) .*?^\[(\d{3})\][^\n]*\n\s*`([^\n]*)", failure.text or "", re.M | re.S
            ):
                found.append(Failure(case.attrib["name"], check, int(status), body))
    return found


def _beyond_a_schema(f: Failure) -> bool:
    """A schema-valid request refused for a reason JSON Schema cannot state: a stale version
    (412), or a rule the service checks (a referenced record that does not exist or is not
    visible, a date outside the program year, one field that needs another). Whatever the
    request's validation refuses ("Please correct: …") the schema must have said: that, and
    every other check (server errors, response schemas, undeclared methods), fails the test."""
    if f.check != "ST202":
        return False
    return f.status == 412 or (f.status == 422 and '"detail":"Please correct:' not in f.body)
