"""Every status, stage, kind and role the system stores or answers with, once.

The request and response schemas, the table models and the database's CHECK constraints
(`check`) all take their words from here; migration 20261201_0010 added the constraints.
"""

from enum import StrEnum


class ProjectStage(StrEnum):
    PLANNING = "planning"
    PREPARATION = "preparation"
    CONSTRUCTION = "construction"
    COMPLETED = "completed"


# Projects in these stages owe monthly reports.
STAGES_OWING_REPORTS = (ProjectStage.PREPARATION, ProjectStage.CONSTRUCTION)


class ProjectStatus(StrEnum):
    """Review: draft → submitted → approved | returned (reason) → submitted …; approved → withdrawn."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


class ConstructionKind(StrEnum):
    NEW = "new"
    CONTINUING = "continuing"


class TaskUnitRole(StrEnum):
    """A unit's part in a task: 牵头, 责任, 配合."""

    LEAD = "lead"
    RESPONSIBLE = "responsible"
    COOPERATING = "cooperating"


class UnitKind(StrEnum):
    OFFICE = "office"
    GOVERNMENT = "government"
    DEPARTMENT = "department"
    OWNER = "owner"
    FINANCIAL = "financial"
    OTHER = "other"


class Role(StrEnum):
    OFFICE_ADMIN = "office_admin"
    OFFICE_STAFF = "office_staff"
    REPORTER = "reporter"
    LEADER = "leader"
    INSPECTOR = "inspector"
    AUDITOR = "auditor"


class PrincipalKind(StrEnum):
    USER = "user"
    CLIENT = "client"


class WebhookEvent(StrEnum):
    PROJECT_APPROVED = "project.approved"
    REPORT_INSTANT = "report.instant"
    NOTICE_ISSUED = "notice.issued"  # the notifier issued a notice (a reminder, urging, …)
    NOTICE_CLOSED = "notice.closed"  # its matter was done (the report filed)
    ROUND_PUBLISHED = "round.published"  # the office published an observation round's ranking
    ASSESSMENT_PUBLISHED = "assessment.published"  # the office published a half-year or annual grade
    BULLETIN_PUBLISHED = "bulletin.published"  # the office published a monthly or observation bulletin


class BulletinKind(StrEnum):
    MONTHLY = "monthly"  # 一月一排队一通报: a program's month
    ROUND = "round"  # an observation round's published snapshot


class VisitKind(StrEnum):
    """A standing supervision team's kinds of visit (督查工作方案)."""

    JOINT = "joint"  # 联合督查
    ON_SITE = "on_site"  # 现场督查
    MEETING = "meeting"  # 督查例会


class Severity(StrEnum):
    """How grave a visit's finding is: a critical one starts at supervision, the rest at urging."""

    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class FindingState(StrEnum):
    OPEN = "open"  # its notice chases the unit
    RECTIFIED = "rectified"  # the office confirmed the rectification (整改到位): its chain ended


class CadenceState(StrEnum):
    """Where a team's kind of visit stands as of an instant."""

    OPEN = "open"  # the next visit is not due yet
    DUE = "due"  # within the reminder's working days of its due day
    OVERDUE = "overdue"  # its due day has passed with no visit


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Duty(StrEnum):
    """Who a person is in their unit, for the notices that reach people (services/notifier)."""

    LIAISON = "liaison"  # 联络员: every notice to the unit
    UNIT_HEAD = "unit_head"  # 单位负责人: supervision notices
    UNIT_PRINCIPAL = "unit_principal"  # 主要负责人: interview summons


class SendState(StrEnum):
    """A digest's delivery to one person through one channel."""

    PENDING = "pending"  # not sent yet, or sent again after a gateway's temporary failure
    SENT = "sent"  # the gateway took it
    FAILED = "failed"  # refused for good (a bad address or number), or out of attempts


class UnitReportKind(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    INSTANT = "instant"  # 重要情况即时报


class ScheduleKind(StrEnum):
    UNIT_WEEKLY = "unit_weekly"
    UNIT_MONTHLY = "unit_monthly"
    PROJECT_MONTHLY = "project_monthly"
    PROJECT_QUARTERLY = "project_quarterly"


# The unit report kind each unit schedule asks for.
UNIT_SCHEDULES = {
    ScheduleKind.UNIT_WEEKLY: UnitReportKind.WEEKLY,
    ScheduleKind.UNIT_MONTHLY: UnitReportKind.MONTHLY,
}


class DueState(StrEnum):
    SUBMITTED = "submitted"  # first filed by the deadline
    LATE = "late"  # first filed after it
    OVERDUE = "overdue"  # deadline passed, nothing filed
    OPEN = "open"  # not yet due


class MilestoneState(StrEnum):
    MET_ON_TIME = "met_on_time"
    MET_LATE = "met_late"
    MISSED = "missed"
    PENDING = "pending"


class TargetState(StrEnum):
    MET = "met"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    MISSED = "missed"


class TargetDirection(StrEnum):
    AT_LEAST = "at_least"
    AT_MOST = "at_most"


class ProblemState(StrEnum):
    """open → resolution_claimed (the unit says it is solved) → resolved (the office confirms, 办结复核)
    or open again (the office returns it, with a reason)."""

    OPEN = "open"
    RESOLUTION_CLAIMED = "resolution_claimed"
    RESOLVED = "resolved"


class MeetingLevel(StrEnum):
    """Where an unresolved problem is taken, lowest first (stored as its position: 0, 1, 2)."""

    SYSTEM_MEETING = "system_meeting"
    LEADERSHIP_MEETING = "leadership_meeting"
    STANDING_COMMITTEE = "standing_committee"

    @property
    def rank(self) -> int:
        return list(MeetingLevel).index(self)

    @classmethod
    def at(cls, rank: int) -> "MeetingLevel":
        return list(cls)[rank]


class ProblemAction(StrEnum):
    """What happened to a problem (its history)."""

    RAISED = "raised"
    REFERRED = "referred"  # taken to a higher meeting (not notice escalation)
    RESOLUTION_CLAIMED = "resolution_claimed"  # the owner unit says it is solved
    RESOLVED = "resolved"  # the office confirmed it
    RETURNED = "returned"  # the office did not: open again, with the reason


class NoticeKind(StrEnum):
    """The escalation ladder's levels (docs/schedules-and-ladder.md), lowest first."""

    REMINDER = "reminder"
    URGING = "urging"
    SUPERVISION = "supervision"
    CRITICISM = "criticism"
    INTERVIEW = "interview"
    ACCOUNTABILITY = "accountability"
    PRAISE = "praise"  # off the ladder: the top of a published ranking (通报表扬)


class NoticeState(StrEnum):
    """A notice: issued, then closed (its matter done) or superseded (a higher level came)."""

    ISSUED = "issued"
    FEEDBACK_SUBMITTED = "feedback_submitted"  # the unit answered in writing; the office decides
    EXPLANATION_SUBMITTED = "explanation_submitted"  # 延期申请: the clock pauses till the office decides
    REOPENED = "reopened"  # 退办: the office rejected the feedback; due again by a new deadline
    SUPERSEDED = "superseded"
    CLOSED = "closed"


class NoticeAction(StrEnum):
    """What people do with a notice: the unit answers it, the office accepts the answer."""

    FEEDBACK = "feedback"
    EXPLANATION = "explanation"  # why it cannot be done in time, and a proposed date (延期申请)
    ACCEPT = "accept"  # the office accepts the pending feedback or explanation
    REJECT = "reject"  # the office rejects it, with a reason (退办)
    WITHDRAW = "withdraw"  # the office withdraws a notice issued by mistake, with a reason


class ChainState(StrEnum):
    """The ladder one matter climbs: open until the matter is done."""

    OPEN = "open"
    CLOSED = "closed"


class ChainClosed(StrEnum):
    """Why a chain ended (notice_chain.closed_reason)."""

    REPORT_FILED = "report_filed"  # the report period it chased was filed
    MILESTONE_MET = "milestone_met"  # a report gave the milestone's actual date
    PROBLEM_RESOLVED = "problem_resolved"  # the office confirmed the problem resolved
    CAUGHT_UP = "caught_up"  # investment back above the plan curve
    MOVING_AGAIN = "moving_again"  # a report shows investment again
    RULE_SWITCHED_OFF = "rule_switched_off"  # the program switched the rule off
    FEEDBACK_ACCEPTED = "feedback_accepted"  # the office accepted the unit's written feedback
    PRAISED = "praised"  # a praise notice: nothing to chase
    NO_RUNG = "no_rung"  # the ladder the chain keeps has no rung of the kind it was to climb to
    WITHDRAWN = "withdrawn"  # the office withdrew a notice issued by mistake
    PROGRAM_CLOSED = "program_closed"  # the office closed the program's year
    LIGHT_CLEARED = "light_cleared"  # the project's light is no longer red
    VISIT_MADE = "visit_made"  # the supervision team made the visit that was due
    RECTIFIED = "rectified"  # the office confirmed a visit's finding rectified


class NoticeRule(StrEnum):
    """What finds a matter to chase."""

    REPORT_DUE = "report_due"  # a report period owed: reminded before, urged after its deadline
    MANUAL = "manual"  # the office's own notice on a matter it names (a leader's instruction, …)
    MILESTONE_DUE = "milestone_due"  # a roadmap milestone: reminded before, urged once missed
    PROBLEM_OVERDUE = "problem_overdue"  # a problem unresolved: reminded before, urged past its deadline
    INVESTMENT_BEHIND = (
        "investment_behind"  # below the plan curve at a checkpoint (Xinchang: 38 % by 30 June)
    )
    NOT_MOVING = "not_moving"  # 开而未动: under construction, no investment in N monthly reports running
    MOVING_SLOWLY = "moving_slowly"  # 动而迟缓: investment this year below X % of the plan to date
    RANKING = "ranking"  # a published round: praise for the top, a criticism bulletin for the bottom
    ASSESSMENT = "assessment"  # a failing annual grade: an accountability referral
    RANKING_STREAK = "ranking_streak"  # on a monthly bulletin's 黑榜 N published months running
    RED_LIGHT = "red_light"  # a project's light turned red (off by default)
    VISIT_DUE = "visit_due"  # a supervision team's visit by its cadence: reminded before, urged after
    FINDING = "finding"  # a supervision visit's finding, to be rectified by its deadline


class RoundState(StrEnum):
    """An observation round's life: scored while open, ranked by the ranker, then published."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    RANKED = "ranked"
    PUBLISHED = "published"


class ObjectiveComponent(StrEnum):
    """The objective parts of a round's composite, each 0–100 as of the round's end."""

    INVESTMENT_RATE = "investment_rate"
    MILESTONE_RATE = "milestone_rate"
    REPORT_TIMELINESS = "report_timeliness"


class Grade(StrEnum):
    """An annual (or half-year) assessment's grade."""

    EXCELLENT = "excellent"  # 优良
    PASS = "pass"  # 合格
    FAIL = "fail"  # 不合格


def check(column: str, vocabulary: type[StrEnum]) -> str:
    """A CHECK constraint's condition: `column` holds one of the vocabulary's words."""
    return f"{column} IN ({', '.join(repr(str(v.value)) for v in vocabulary)})"


def check_all(column: str, vocabulary: type[StrEnum]) -> str:
    """A CHECK constraint's condition for an array column: every element is one of the words."""
    return f"{column} <@ ARRAY[{', '.join(repr(str(v.value)) for v in vocabulary)}]::varchar[]"


# (table, constraint name, condition): the CHECK constraints the table models declare and
# migration 20261201_0010 created. A changed vocabulary needs a migration that replaces its check.
CHECKS: tuple[tuple[str, str, str], ...] = (
    ("unit", "kind", check("kind", UnitKind)),
    ("app_user", "roles", check_all("roles", Role)),
    ("app_user", "duties", check_all("duties", Duty)),
    ("notice_delivery", "state", check("state", SendState)),
    ("project", "stage", check("stage", ProjectStage)),
    ("project", "status", check("status", ProjectStatus)),
    ("project", "construction", check("construction", ConstructionKind)),
    ("task_unit", "role", check("role", TaskUnitRole)),
    ("task_target", "direction", check("direction", TargetDirection)),
    ("unit_report", "kind", check("kind", UnitReportKind)),
    ("problem", "state", check("state", ProblemState)),
    ("problem_event", "action", check("action", ProblemAction)),
    ("webhook", "events", check_all("events", WebhookEvent)),
    ("webhook_delivery", "state", check("state", DeliveryState)),
    ("notice_chain", "state", check("state", ChainState)),
    ("notice_chain", "rule", check("rule", NoticeRule)),
    ("notice_chain", "closed_reason", check("closed_reason", ChainClosed)),
    ("notice_chain", "start_kind", check("start_kind", NoticeKind)),
    ("notice", "state", check("state", NoticeState)),
    ("notice", "kind", check("kind", NoticeKind)),
    ("notice_action", "action", check("action", NoticeAction)),
    ("observation_round", "state", check("state", RoundState)),
    ("bulletin", "kind", check("kind", BulletinKind)),
    ("visit", "kind", check("kind", VisitKind)),
    ("finding", "severity", check("severity", Severity)),
    ("finding", "state", check("state", FindingState)),
)


def checks_of(table: str) -> list[tuple[str, str]]:
    """(name, condition) of the CHECK constraints on `table`."""
    return [(name, condition) for t, name, condition in CHECKS if t == table]
