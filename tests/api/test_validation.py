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
