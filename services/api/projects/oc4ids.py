"""A program's approved projects as an OC4IDS 0.9 project package."""

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from shared.clock import OFFICE_TZ
from shared.dates import answered
from shared.models import Milestone, Program, Project, Unit

STATUS = {
    "planning": "identification",
    "preparation": "preparation",
    "construction": "implementation",
    "completed": "completion",
}
CONSTRUCTION_LABEL = {"new": "新建", "continuing": "续建"}
ID_SCHEME = "CN-DUBAN"


def _datetime(d: date) -> str:
    return datetime.combine(d, time(0), OFFICE_TZ).isoformat()


def _yuan(wan: Decimal) -> int | float:
    """万元 → yuan, as a JSON number."""
    amount = wan * 10_000
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _party(unit: Unit, roles: list[str]) -> dict[str, Any]:
    party: dict[str, Any] = {
        "id": f"{ID_SCHEME}-{unit.code}",
        "name": unit.name,
        "identifier": {"scheme": ID_SCHEME, "id": unit.code, "legalName": unit.name},
        "roles": roles,
    }
    if unit.region_code:
        party["address"] = {"region": unit.region_code, "countryName": "China"}
    return party


def _milestone(m: Milestone, as_of: date) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(m.id),
        "title": m.name,
        "type": "delivery",
        "dueDate": _datetime(m.planned_date),
    }
    if m.actual_date:
        out |= {"status": "met", "dateMet": _datetime(m.actual_date)}
    else:
        out["status"] = "notMet" if m.planned_date < as_of else "scheduled"
    return out


def project(
    p: Project, program: Program, units: dict[UUID, Unit], milestones: list[Milestone], as_of: date
) -> dict[str, Any]:
    status = "cancelled" if p.status == "withdrawn" else STATUS[p.stage]
    roles: dict[UUID, list[str]] = {}
    for unit_id, role in (
        (p.owner_unit_id, "publicAuthority"),
        (p.responsible_unit_id, "administrativeEntity"),
        (program.office_unit_id, "reviewBody"),
    ):
        roles.setdefault(unit_id, []).append(role)
    owner = units[p.owner_unit_id]
    out: dict[str, Any] = {
        "id": f"{ID_SCHEME}-{program.code}-{p.code}",
        "updated": answered(p.updated_at or p.created_at),
        "language": "zh",
        "identifiers": [{"id": p.code, "scheme": f"{ID_SCHEME}-{program.code}"}],
        "title": p.name,
        "status": status,
        "type": "construction",
        "additionalClassifications": [
            {"scheme": "DUBAN-CATEGORY", "id": p.category, "description": p.category},
            {
                "scheme": "DUBAN-CONSTRUCTION",
                "id": p.construction,
                "description": CONSTRUCTION_LABEL[p.construction],
            },
        ],
        "publicAuthority": {"id": f"{ID_SCHEME}-{owner.code}", "name": owner.name},
        "budget": {
            "amount": {"amount": _yuan(p.total_investment), "currency": "CNY"},
            "budgetBreakdowns": [
                {
                    "id": str(program.year),
                    "description": f"{program.year}年度计划投资",
                    "budgetBreakdown": [
                        {
                            "id": f"{program.year}-annual",
                            "amount": {"amount": _yuan(p.annual_plan), "currency": "CNY"},
                            "period": {
                                "startDate": _datetime(date(program.year, 1, 1)),
                                "endDate": _datetime(date(program.year, 12, 31)),
                            },
                        }
                    ],
                }
            ],
        },
        "period": {"startDate": _datetime(p.start_date), "endDate": _datetime(p.end_date)},
        "parties": [_party(units[u], r) for u, r in roles.items()],
    }
    if p.description:
        out["description"] = p.description
    if milestones:
        out["milestones"] = [_milestone(m, as_of) for m in milestones]
    return out


def package(uri: str, published: datetime, projects: list[dict[str, Any]], publisher: str) -> dict[str, Any]:
    return {
        "uri": uri,
        "publishedDate": answered(published),
        "version": "0.9",
        "publisher": {"name": publisher},
        "projects": projects,
    }
