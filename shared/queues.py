"""Queue names, job names and JSON job payloads: the contract between the api and the workers.

Each worker service has its own queues: a worker that meets a job it does not know fails it for
good, so two services must never share a queue. A service's jobs go on its urgent queue (a
filing's chain closure, an office's own notice, a decision on feedback: one person waits on
each), but for the bulk ones (`BULK`: a sweep's announcements fanned out to webhooks), which go
on its bulk queue, worked by a lane of its own (shared/worker.py), so urgent work never waits
behind a backlog.
"""

import json
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.settings import DubanSettings


class Target(StrEnum):
    """A worker service that consumes jobs."""

    NOTIFIER = "notifier"
    RANKER = "ranker"


class Job(StrEnum):
    """Job (arq function) names."""

    PING = "ping"
    EVENT = "event"
    NOTICE_ACTION = "notice_action"
    ISSUE_NOTICE = "issue_notice"
    REPORT_FILED = "report_filed"
    FINDING_RECTIFIED = "finding_rectified"
    RANK_ROUND = "rank_round"
    PUBLISH_ASSESSMENT = "publish_assessment"


class Payload(BaseModel):
    """Base of job payloads: JSON only (ids, ISO datetimes), never ORM objects."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PingPayload(Payload):
    ping_id: UUID
    # Lets an operator (or a test) hold a ping inside a worker, to see crash recovery.
    delay_seconds: float = Field(default=0, ge=0, le=30)


class EventPayload(Payload):
    """Something happened that other systems may subscribe to (signed webhooks)."""

    event: str = Field(examples=["project.approved"])
    subject_type: str
    subject_id: UUID
    occurred_at: datetime
    data: dict[str, Any]


class NoticeActionPayload(Payload):
    """A person's action on a notice, recorded by the api, for the notifier to apply."""

    action_id: UUID
    notice_id: UUID
    action: str = Field(examples=["feedback", "explanation", "accept", "reject"])
    at: datetime | None = None  # when the person acted (the day an explanation pauses the clock)
    decides: str | None = Field(default=None, description="accept / reject: the answer decided")
    proposed_due_date: date | None = None  # an explanation's proposed deadline
    due_date: date | None = None  # a rejected feedback's new deadline (退办)


class ReportFiledPayload(Payload):
    """A report period filed while a notice chain chased it (written by the filing itself: for a
    project report, by the file_project_report function), so the notifier closes the chain now."""

    subject_type: str = Field(examples=["project", "unit"])
    subject_id: UUID
    period: str
    filed_at: datetime


class RankRoundPayload(Payload):
    """A round closed, or scores arrived during its grace period: the ranker computes its results
    (the same inputs give the same snapshot, so a duplicate job changes nothing)."""

    round_id: UUID


class PublishAssessmentPayload(Payload):
    """The office asked to publish a half-year or annual assessment (the ranker computes and
    freezes it, once per request)."""

    program_id: UUID
    year: int
    half: int | None = None
    requested_by: str


class IssueNoticePayload(Payload):
    """The office's own notice, checked by the api, for the notifier to issue under this id."""

    notice_id: UUID
    program_id: UUID
    kind: str
    recipient_unit_id: UUID
    subject_type: str
    subject_id: UUID
    requirements: str
    due_date: date
    issued_at: datetime
    actor: str
    rule: str = Field(default="manual", examples=["manual", "finding"])  # a visit's finding: "finding"
    title: str | None = None  # what its later rungs name (default: the requirement's first line)


class FindingRectifiedPayload(Payload):
    """The office confirmed a visit's finding rectified: the notifier ends the chain of its notice."""

    notice_id: UUID
    confirmed_at: datetime


BULK = frozenset({Job.EVENT})  # announcements to other systems: thousands at once after a sweep


def queue_name(
    settings: DubanSettings, target: Target | str, job: str | None = None, *, bulk: bool = False
) -> str:
    """The arq queue of a worker service: its bulk queue for a job in BULK (or `bulk=True`),
    else its urgent one."""
    urgent = {Target.NOTIFIER: settings.notifier_queue, Target.RANKER: settings.ranker_queue}[Target(target)]
    return f"{urgent}:bulk" if bulk or job in BULK else urgent


def serialize(obj: Any) -> bytes:
    """arq's job serializer: JSON, so jobs are readable and never unpickle code."""
    return json.dumps(obj, default=str, separators=(",", ":")).encode()


def deserialize(data: bytes) -> Any:
    return json.loads(data)
