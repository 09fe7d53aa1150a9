"""Table models. They describe tables only; request and response schemas live with each service."""

from shared.models.audit import AuditEntry
from shared.models.base import metadata
from shared.models.bulletins import Bulletin, BulletinTemplate
from shared.models.idempotency import IdempotencyRecord
from shared.models.identity import ApiClient, AppUser, LiaisonChange, Unit
from shared.models.inbox import NotifierInbox, RankerInbox
from shared.models.library import (
    Adjustment,
    IndicatorValue,
    Milestone,
    Program,
    Project,
    Task,
    TaskTarget,
    TaskUnit,
)
from shared.models.notices import Notice, NoticeActionRecord, NoticeChain, NoticeDelivery, NoticeDigest
from shared.models.outbox import OutboxMessage
from shared.models.ping import NotifierPingReceipt, Ping, RankerPingReceipt
from shared.models.reports import (
    CalendarDay,
    CalendarYear,
    Problem,
    ProblemEvent,
    ProjectReport,
    ReportDeadline,
    UnitReport,
)
from shared.models.rounds import (
    Assessment,
    ObservationRound,
    ObservationScore,
    RoundInspector,
    RoundProject,
    RoundSnapshot,
    ScoreReceipt,
    SnapshotRatings,
    YearEndEvaluation,
)
from shared.models.teams import EvidenceFile, Finding, Team, TeamCover, TeamMember, Visit
from shared.models.webhooks import Webhook, WebhookDelivery

__all__ = [
    "Adjustment",
    "ApiClient",
    "AppUser",
    "Assessment",
    "AuditEntry",
    "Bulletin",
    "BulletinTemplate",
    "CalendarDay",
    "CalendarYear",
    "EvidenceFile",
    "Finding",
    "IdempotencyRecord",
    "IndicatorValue",
    "LiaisonChange",
    "Milestone",
    "Notice",
    "NoticeActionRecord",
    "NoticeChain",
    "NoticeDelivery",
    "NoticeDigest",
    "NotifierInbox",
    "NotifierPingReceipt",
    "ObservationRound",
    "ObservationScore",
    "OutboxMessage",
    "Ping",
    "Problem",
    "ProblemEvent",
    "Program",
    "Project",
    "ProjectReport",
    "RankerInbox",
    "RankerPingReceipt",
    "ReportDeadline",
    "RoundInspector",
    "RoundProject",
    "RoundSnapshot",
    "ScoreReceipt",
    "SnapshotRatings",
    "Task",
    "TaskTarget",
    "TaskUnit",
    "Team",
    "TeamCover",
    "TeamMember",
    "Unit",
    "UnitReport",
    "Visit",
    "Webhook",
    "WebhookDelivery",
    "YearEndEvaluation",
    "metadata",
]
