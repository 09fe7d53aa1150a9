"""What each role and each client scope may do: one table, checked in one dependency."""

from enum import StrEnum
from typing import Any

from fastapi import Depends, Request

from services.api.auth.principal import Principal
from shared.errors import Forbidden, Unauthorized
from shared.i18n import N_, tr


class Action(StrEnum):
    UNITS_READ = "units:read"
    UNITS_WRITE = "units:write"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    CLIENTS_WRITE = "clients:write"
    AUDIT_READ = "audit:read"
    OPS_PING = "ops:ping"
    PROGRAMS_READ = "programs:read"
    PROGRAMS_WRITE = "programs:write"
    TASKS_REPORT = "tasks:report"
    PROJECTS_READ = "projects:read"
    PROJECTS_WRITE = "projects:write"
    PROJECTS_REVIEW = "projects:review"
    WEBHOOKS_MANAGE = "webhooks:manage"
    CALENDAR_READ = "calendar:read"
    CALENDAR_WRITE = "calendar:write"
    REPORTS_READ = "reports:read"
    REPORTS_WRITE = "reports:write"
    REPORTS_RECORD_HISTORY = "reports:record-history"
    PROBLEMS_REFER = "problems:refer"
    PROBLEMS_CONFIRM = "problems:confirm"
    TEAMS_WRITE = "teams:write"
    VISITS_READ = "visits:read"
    VISITS_WRITE = "visits:write"
    FINDINGS_CONFIRM = "findings:confirm"


# What each permission lets one do, as a refusal says it
ABLE_TO = {
    Action.UNITS_READ: N_("see units"),
    Action.UNITS_WRITE: N_("add and change units"),
    Action.USERS_READ: N_("see users"),
    Action.USERS_WRITE: N_("add and change users"),
    Action.CLIENTS_WRITE: N_("manage integrating systems"),
    Action.AUDIT_READ: N_("read the audit log"),
    Action.OPS_PING: N_("send test messages"),
    Action.PROGRAMS_READ: N_("see programs"),
    Action.PROGRAMS_WRITE: N_("set up programs, tasks and rounds"),
    Action.TASKS_REPORT: N_("report on tasks"),
    Action.PROJECTS_READ: N_("see projects"),
    Action.PROJECTS_WRITE: N_("enter and change projects"),
    Action.PROJECTS_REVIEW: N_("review projects"),
    Action.WEBHOOKS_MANAGE: N_("manage webhooks"),
    Action.CALENDAR_READ: N_("read the working-day calendar"),
    Action.CALENDAR_WRITE: N_("load the working-day calendar"),
    Action.REPORTS_READ: N_("see reports"),
    Action.REPORTS_WRITE: N_("file reports"),
    Action.REPORTS_RECORD_HISTORY: N_("enter reports filed on paper"),
    Action.PROBLEMS_REFER: N_("refer problems"),
    Action.PROBLEMS_CONFIRM: N_("confirm problems solved"),
    Action.TEAMS_WRITE: N_("set up supervision teams"),
    Action.VISITS_READ: N_("see supervision visits"),
    Action.VISITS_WRITE: N_("record supervision visits and their evidence"),
    Action.FINDINGS_CONFIRM: N_("confirm findings rectified"),
}


EVERY_ROLE = frozenset({"office_admin", "office_staff", "reporter", "leader", "inspector", "auditor"})

ROLE_ACTIONS: dict[Action, frozenset[str]] = {
    Action.UNITS_READ: EVERY_ROLE,
    Action.UNITS_WRITE: frozenset({"office_admin", "office_staff"}),
    Action.USERS_READ: frozenset({"office_admin", "office_staff", "auditor"}),
    Action.USERS_WRITE: frozenset({"office_admin"}),
    Action.CLIENTS_WRITE: frozenset({"office_admin"}),
    Action.AUDIT_READ: frozenset({"office_admin", "auditor"}),
    Action.OPS_PING: frozenset({"office_admin"}),
    Action.PROGRAMS_READ: EVERY_ROLE,
    Action.PROGRAMS_WRITE: frozenset({"office_admin", "office_staff"}),
    Action.TASKS_REPORT: frozenset({"office_admin", "office_staff", "reporter"}),
    Action.PROJECTS_READ: EVERY_ROLE,
    # Counties enter their projects (reporters and staff); the program's office reviews them.
    Action.PROJECTS_WRITE: frozenset({"office_admin", "office_staff", "reporter"}),
    Action.PROJECTS_REVIEW: frozenset({"office_admin", "office_staff"}),
    # Banks and platforms subscribe themselves (a client with the scope) or through an admin.
    Action.WEBHOOKS_MANAGE: frozenset({"office_admin"}),
    Action.CALENDAR_READ: EVERY_ROLE,
    Action.CALENDAR_WRITE: frozenset({"office_admin"}),
    Action.REPORTS_READ: EVERY_ROLE,
    # Liaisons file their unit's and projects' reports; the office may file for them.
    Action.REPORTS_WRITE: frozenset({"office_admin", "office_staff", "reporter"}),
    # Entering past reports with their original filing time (moving off spreadsheets): the office.
    Action.REPORTS_RECORD_HISTORY: frozenset({"office_admin", "office_staff"}),
    # Taking a problem to a higher meeting is the office's call.
    Action.PROBLEMS_REFER: frozenset({"office_admin", "office_staff"}),
    # Confirming (or returning) a claimed resolution is the office's review (办结复核).
    Action.PROBLEMS_CONFIRM: frozenset({"office_admin", "office_staff"}),
    # Standing supervision teams are the office's; their members (staff, leaders, inspectors) record
    # visits, and only the office confirms a finding rectified (整改到位).
    Action.TEAMS_WRITE: frozenset({"office_admin", "office_staff"}),
    Action.VISITS_READ: EVERY_ROLE,
    Action.VISITS_WRITE: frozenset({"office_admin", "office_staff", "leader", "inspector"}),
    Action.FINDINGS_CONFIRM: frozenset({"office_admin", "office_staff"}),
}

# Scopes a system client may be granted: the actions other government systems need.
CLIENT_SCOPES = frozenset(
    {
        Action.UNITS_READ,
        Action.UNITS_WRITE,
        Action.AUDIT_READ,
        Action.PROGRAMS_READ,
        Action.TASKS_REPORT,
        Action.PROJECTS_READ,
        Action.PROJECTS_WRITE,
        Action.WEBHOOKS_MANAGE,
        Action.CALENDAR_READ,
        Action.REPORTS_READ,
        Action.REPORTS_WRITE,
    }
)


def can(principal: Principal, action: Action) -> bool:
    if principal.kind == "client":
        return action.value in principal.scopes
    return bool(principal.roles & ROLE_ACTIONS[action])


def sees_personal_data(principal: Principal) -> bool:
    """Liaison phone numbers in full: office admins only."""
    return "office_admin" in principal.roles


# What each authorizing dependency needs (None: only a signed-in caller), for the OpenAPI's
# security requirements (services/api/docs.py).
REQUIRES: dict[Any, Action | None] = {}


async def current_principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthorized(
            tr(
                "Sign in first: get a token from POST /api/v1/auth/token and send "
                "'Authorization: Bearer <token>'."
            ),
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


REQUIRES[current_principal] = None


def authorize(action: Action) -> Any:
    """A dependency returning the principal if it may perform `action`, else 401/403."""

    async def dependency(request: Request) -> Principal:
        # called, not a sub-dependency: one dependency level less per request
        principal = await current_principal(request)
        if principal.must_change_password:
            raise Forbidden(
                tr("Change the one-time password first (POST /api/v1/auth/password), then go on.")
            )
        if not can(principal, action):
            raise Forbidden(
                tr("This needs the scope '{action}', which this client was not granted.", action=action.value)
                if principal.kind == "client"
                else tr(
                    "This needs the permission to {what} ('{action}'), which your roles do not grant.",
                    what=tr(ABLE_TO[action]),
                    action=action.value,
                )
            )

        return principal

    REQUIRES[dependency] = action
    return Depends(dependency)
