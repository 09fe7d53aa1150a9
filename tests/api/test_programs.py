"""Programs with their settings, tasks with quantified targets and their state over time."""

from uuid import uuid4

from httpx import AsyncClient

from tests.world import World


def new_program(world: World, **extra: object) -> dict[str, object]:
    return {
        "code": f"BC-{uuid4().hex[:6]}",
        "name": "百城建设提质工程 2018",
        "year": 2018,
        "office_unit_id": str(world.units["P"].id),
        "categories": ["现代基础设施", "公共服务"],
        **extra,
    }


async def test_a_program_without_settings_gets_the_seeds_defaults(client: AsyncClient, world: World) -> None:
    r = await client.post("/api/v1/programs", json=new_program(world), headers=world.auth("p_staff"))
    assert r.status_code == 201, r.text
    body = r.json()
    schedules = {s["kind"]: s for s in body["report_schedules"]}
    assert schedules["unit_weekly"]["due_weekday"] == 1  # Monday
    assert schedules["unit_monthly"]["due_day"] == 3
    assert schedules["project_monthly"]["due_day"] == 22
    assert all(s["move_to_next_working_day"] for s in body["report_schedules"])
    ladder = [(lv["level"], lv["kind"]) for lv in body["escalation_policy"]["levels"]]
    assert ladder == [
        (0, "reminder"),
        (1, "urging"),
        (2, "supervision"),
        (3, "criticism"),
        (4, "interview"),
        (5, "accountability"),
    ]
    assert body["approved_total_investment"] == "0.00" and body["version"] == 1  # money: two places


async def test_a_program_keeps_its_own_schedules(client: AsyncClient, world: World) -> None:
    # Xinchang files its project monthly form by the 25th.
    schedules = [{"kind": "project_monthly", "due_day": 25}]
    r = await client.post(
        "/api/v1/programs", json=new_program(world, report_schedules=schedules), headers=world.auth("p_admin")
    )
    assert r.status_code == 201, r.text
    assert [(s["kind"], s["due_day"]) for s in r.json()["report_schedules"]] == [("project_monthly", 25)]


async def test_bad_settings_and_duplicates_say_what_is_wrong(client: AsyncClient, world: World) -> None:
    admin = world.auth("p_admin")
    weekly_by_day = new_program(world, report_schedules=[{"kind": "unit_weekly", "due_day": 3}])
    r = await client.post("/api/v1/programs", json=weekly_by_day, headers=admin)
    assert r.status_code == 422 and "due_weekday" in r.json()["detail"]
    day_31 = new_program(world, report_schedules=[{"kind": "unit_monthly", "due_day": 31}])
    r = await client.post("/api/v1/programs", json=day_31, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][:2] == ["body", "report_schedules"]
    taken = new_program(world, code=world.programs["P"].code)
    r = await client.post("/api/v1/programs", json=taken, headers=admin)
    assert r.status_code == 409 and world.programs["P"].code in r.json()["detail"]
    # a code that is not one (the schema's) and an office out of sight (the rules'): one answer
    both = new_program(world, code="百城", office_unit_id=str(uuid4()))
    r = await client.post("/api/v1/programs", json=both, headers=admin)
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == {("body", "code"), ("body", "office_unit_id")}


async def test_a_county_takes_part_in_its_provinces_program_but_cannot_change_it(
    client: AsyncClient, world: World
) -> None:
    url = f"/api/v1/programs/{world.programs['P'].id}"
    assert (await client.get(url, headers=world.auth("b_admin"))).status_code == 200
    r = await client.patch(url, json={"name": "改"}, headers={**world.auth("b_admin"), "If-Match": "1"})
    assert r.status_code == 403 and "office" in r.json()["detail"]
    listed = await client.get("/api/v1/programs", headers=world.auth("a_reporter"))
    assert {p["code"] for p in listed.json()["data"]} == {world.programs["P"].code}


async def test_settings_change_with_if_match(client: AsyncClient, world: World) -> None:
    url = f"/api/v1/programs/{world.programs['P'].id}"
    admin = world.auth("p_admin")
    change = {"notice_rules": {"default_due_in_working_days": 3}}
    assert (await client.patch(url, json=change, headers=admin)).status_code == 428
    r = await client.patch(url, json=change, headers={**admin, "If-Match": "1"})
    assert r.status_code == 200 and r.json()["notice_rules"]["default_due_in_working_days"] == 3
    assert r.json()["report_schedules"][0]["kind"] == "unit_weekly"  # the rest is kept
    stale = await client.patch(url, json=change, headers={**admin, "If-Match": "1"})
    assert stale.status_code == 412
    nothing = await client.patch(url, json={"categories": None}, headers={**admin, "If-Match": "2"})
    assert nothing.status_code == 200 and nothing.json()["categories"] == ["现代基础设施", "公共服务"]


async def test_targets_are_met_on_track_behind_or_missed(client: AsyncClient, world: World) -> None:
    """Hebi's road-network density: 7 km/km² by the end of 2018, 8 by the end of 2020."""
    admin = world.auth("p_admin")
    task = {
        "number": "三.1",
        "title": "完善城市路网",
        "lead_unit_ids": [str(world.units["C"].id)],
        "responsible_unit_ids": [str(world.units["A"].id)],
        "cooperating_unit_ids": [str(world.units["D"].id)],
        "due_date": "2020-12-31",
        "targets": [
            {"indicator": "路网密度", "unit": "km/km²", "target_value": "7", "due_date": "2018-12-31"},
            {"indicator": "路网密度", "unit": "km/km²", "target_value": "8", "due_date": "2020-12-31"},
            {"indicator": "断头路打通率", "unit": "%", "target_value": "70", "due_date": "2018-06-30"},
        ],
    }
    r = await client.post(f"/api/v1/programs/{world.programs['P'].id}/tasks", json=task, headers=admin)
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    reporter = world.auth("a_reporter")
    for as_of, value in (("2018-01-31", "5.0"), ("2018-06-30", "6.2")):
        v = await client.post(
            f"/api/v1/tasks/{task_id}/indicator-values",
            json={"indicator": "路网密度", "value": value, "as_of": as_of},
            headers=reporter,
        )
        assert v.status_code == 201, v.text

    async def states(as_of: str) -> dict[tuple[str, str], str]:
        got = await client.get(f"/api/v1/tasks/{task_id}?as_of={as_of}", headers=reporter)
        return {(t["indicator"], t["due_date"]): t["state"] for t in got.json()["targets"]}

    # By mid-2018 a straight line from 5.0 (January) to 7 (December) expects ~6.0: 6.2 is on track.
    s = await states("2018-07-01")
    assert s[("路网密度", "2018-12-31")] == "on_track"
    assert s[("断头路打通率", "2018-06-30")] == "missed"  # nothing reported by its due date
    # In October the line expects ~6.5; 6.2 is behind.
    assert (await states("2018-10-15"))[("路网密度", "2018-12-31")] == "behind"
    await client.post(
        f"/api/v1/tasks/{task_id}/indicator-values",
        json={"indicator": "路网密度", "value": "7.1", "as_of": "2018-12-20"},
        headers=reporter,
    )
    s = await states("2019-03-01")
    assert s[("路网密度", "2018-12-31")] == "met"
    assert s[("路网密度", "2020-12-31")] == "on_track"


async def test_indicator_values_are_checked(client: AsyncClient, world: World) -> None:
    url = f"/api/v1/tasks/{world.tasks['P'].id}/indicator-values"
    reporter = world.auth("a_reporter")
    unknown = await client.post(
        url, json={"indicator": "绿化率", "value": "1", "as_of": "2018-05-01"}, headers=reporter
    )
    assert unknown.status_code == 422 and "路网密度" in unknown.json()["detail"]
    future = await client.post(
        url, json={"indicator": "路网密度", "value": "1", "as_of": "2999-01-01"}, headers=reporter
    )
    assert future.status_code == 422 and future.json()["errors"][0]["loc"] == ["body", "as_of"]


async def test_task_units_must_be_yours_and_numbers_unique(client: AsyncClient, world: World) -> None:
    url = f"/api/v1/programs/{world.programs['P'].id}/tasks"
    admin = world.auth("p_admin")
    foreign = {"number": "8", "title": "t", "responsible_unit_ids": [str(world.units["QC"].id)]}
    r = await client.post(url, json=foreign, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "responsible_unit_ids", 0]
    again = {
        "number": world.tasks["P"].number,
        "title": "t",
        "responsible_unit_ids": [str(world.units["A"].id)],
    }
    r = await client.post(url, json=again, headers=admin)
    assert r.status_code == 409
    # a title the schema refuses, a unit listed twice, a unit with two parts and one out of sight:
    # one answer
    a, qc = str(world.units["A"].id), str(world.units["QC"].id)
    everything = {"number": "9", "title": "", "lead_unit_ids": [a, a], "responsible_unit_ids": [qc],
                  "cooperating_unit_ids": [a]}  # fmt: skip
    r = await client.post(url, json=everything, headers=admin)
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == {
        ("body", "title"),
        ("body", "lead_unit_ids"),
        ("body", "responsible_unit_ids", 0),
        ("body", "cooperating_unit_ids"),
    }, r.json()


async def test_the_assessment_rules_are_set_through_the_api(client: AsyncClient, world: World) -> None:
    """The year-end evaluation's share and the quarter weights are the office's to set (they were
    refused before, so a year-end score entered changed nothing); a pass mark above the excellent
    mark is named."""
    url = f"/api/v1/programs/{world.programs['P'].id}"
    admin = {**world.auth("p_admin"), "If-Match": "1"}
    rules = {"year_end_weight": 0.3, "quarter_weights": {"Q1": 1, "Q2": 1, "Q3": 1, "Q4": 2}}
    wrong = await client.patch(
        url, json={"assessment": {"pass_from": 90, "excellent_from": 85}}, headers=admin
    )
    assert wrong.status_code == 422 and "pass_from" in wrong.text
    set_ = await client.patch(url, json={"assessment": rules}, headers=admin)
    assert set_.status_code == 200, set_.text
    shown = set_.json()["assessment"]
    assert shown["year_end_weight"] == 0.3 and shown["quarter_weights"]["Q4"] == 2
    assert shown["excellent_from"] == 85  # the rest keep their defaults
