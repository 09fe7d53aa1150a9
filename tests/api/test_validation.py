"""One answer with every fault of a change (services/api/validation.py): the schema's faults
and the business rules' side by side, for programs, people and units as for projects, rounds,
reports, notices and tasks (whose own tests show theirs)."""

from uuid import uuid4

from httpx import AsyncClient

from tests.world import World


def _faulted(answer: object) -> set[tuple[object, ...]]:
    assert getattr(answer, "status_code", None) == 422, getattr(answer, "text", answer)
    return {tuple(e["loc"]) for e in answer.json()["errors"]}  # type: ignore[attr-defined]


async def test_a_change_with_a_fault_of_each_kind_names_them_all(client: AsyncClient, world: World) -> None:
    admin = world.auth("p_admin")
    # a program: an empty name (the schema) and a category its projects use dropped (the rules)
    program = world.programs["P"]
    used = (await client.get(f"/api/v1/projects/{world.projects['A'].id}", headers=admin)).json()["category"]
    others = [c for c in program.categories if c != used] or ["别的类别"]
    r = await client.patch(
        f"/api/v1/programs/{program.id}",
        json={"name": "", "categories": others},
        headers={**admin, "If-Match": f'"{program.version}"'},
    )
    assert _faulted(r) == {("body", "name"), ("body", "categories")}
    # a person: an empty name (the schema) and a unit out of sight (the rules)
    user = world.users["a_reporter"]
    r = await client.patch(
        f"/api/v1/users/{user.id}",
        json={"display_name": "", "unit_id": str(uuid4())},
        headers={**admin, "If-Match": f'"{user.version}"'},
    )
    assert _faulted(r) == {("body", "display_name"), ("body", "unit_id")}
    # a unit: a kind that is none (the schema) and a parent out of sight (the rules)
    unit = world.units["A"]
    r = await client.patch(
        f"/api/v1/units/{unit.id}",
        json={"kind": "bank", "parent_id": str(uuid4())},
        headers={**admin, "If-Match": f'"{unit.version}"'},
    )
    assert _faulted(r) == {("body", "kind"), ("body", "parent_id")}


async def test_a_unit_report_with_a_fault_of_each_kind_names_them_all(
    client: AsyncClient, world: World
) -> None:
    """An empty text (the schema), a week that is none and a filing time in the future (the
    rules): one answer, where the rules waited for the text before."""
    r = await client.post(
        f"/api/v1/units/{world.units['A'].id}/reports",
        json={"kind": "weekly", "period": "2018-W60", "body": "", "filed_at": "2099-01-01"},
        headers=world.auth("p_admin"),
    )
    assert _faulted(r) == {("body", "body"), ("body", "period"), ("body", "filed_at")}


async def test_a_year_end_evaluation_with_a_fault_of_each_kind_names_them_all(
    client: AsyncClient, world: World
) -> None:
    """A year before 2000 (the schema), a unit out of sight and one evaluated twice (the rules):
    one answer. (The rules read a field whole: a list with one bad item waits for it.)"""
    a = str(world.units["A"].id)
    scores = [
        {"unit_id": a, "score": 99},
        {"unit_id": str(uuid4()), "score": 80},
        {"unit_id": a, "score": 90},
    ]
    r = await client.put(
        f"/api/v1/programs/{world.programs['P'].id}/assessment/year-end",
        json={"year": 1999, "scores": scores},
        headers=world.auth("p_staff"),
    )
    assert _faulted(r) == {
        ("body", "year"),
        ("body", "scores", 1, "unit_id"),
        ("body", "scores", 2, "unit_id"),
    }


async def test_a_reported_value_and_a_password_change_name_every_fault(
    client: AsyncClient, world: World
) -> None:
    """A value that is no number (the schema) beside an indicator the task has no target for
    and a future date (the rules); a current password left empty (the schema) beside a new one
    the rules refuse."""
    r = await client.post(
        f"/api/v1/tasks/{world.tasks['P'].id}/indicator-values",
        json={"indicator": "不存在的指标", "value": "很多", "as_of": "2099-01-01"},
        headers=world.auth("p_admin"),
    )
    assert _faulted(r) == {("body", "value"), ("body", "indicator"), ("body", "as_of")}
    r = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "", "new_password": "short"},
        headers=world.auth("a_reporter"),
    )
    assert _faulted(r) == {("body", "current_password"), ("body", "new_password")}


async def test_a_calendar_with_a_fault_in_each_list_names_both(client: AsyncClient, world: World) -> None:
    """A holiday that is no date (the schema) and a make-up day that is a weekday already (the
    rules): one answer."""
    r = await client.put(
        "/api/v1/calendar/2030",
        json={"holidays": ["2030-02-30"], "workdays": ["2030-01-07"]},
        headers=world.auth("p_admin"),
    )
    assert _faulted(r) == {("body", "holidays", 0), ("body", "workdays", 0)}


async def test_closing_and_carrying_over_name_a_stray_field_and_the_rule_together(
    client: AsyncClient, world: World
) -> None:
    """A field the body does not take (the schema) beside a forced close with no reason, and
    beside a carry-over into a program that is not a later year's (the rules)."""
    program = world.programs["P"]
    admin = world.auth("p_admin")
    r = await client.post(
        f"/api/v1/programs/{program.id}/close", json={"force": True, "备注": 1}, headers=admin
    )
    assert _faulted(r) == {("body", "备注"), ("body", "reason")}
    r = await client.post(
        f"/api/v1/programs/{program.id}/carry-over",
        json={"to_program_id": str(program.id), "备注": 1},
        headers=admin,
    )
    assert _faulted(r) == {("body", "备注"), ("body", "to_program_id")}


async def test_publishing_another_years_assessment_names_the_year_beside_the_schemas_fault(
    client: AsyncClient, world: World
) -> None:
    r = await client.post(
        f"/api/v1/programs/{world.programs['P'].id}/assessment/publish",
        json={"year": 2019, "half": 3},
        headers=world.auth("p_staff"),
    )
    assert _faulted(r) == {("body", "half"), ("body", "year")}
