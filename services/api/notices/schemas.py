"""Notice bodies: what a unit's inbox shows."""

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shared.dates import Stamp
from shared.notice_facts import Colour
from shared.program_settings import Count, not_a_bool
from shared.vocabulary import ChainClosed, NoticeAction, NoticeKind, NoticeState, SendState


class Subject(BaseModel):
    type: str = Field(
        description="what is chased: project, unit (their reports, a project's plan), milestone, problem, "
        "task or instruction"
    )
    id: UUID
    period: str | None = Field(
        description="the period chased (2018-09, 2018-W38, 2018-Q3, …); none for the office's own notice"
    )


class NoticePublic(BaseModel):
    id: UUID
    chain_id: UUID
    program_id: UUID
    kind: NoticeKind
    level: int = Field(description="its rung on the ladder: 0 reminder … 5 accountability")
    subject: Subject
    recipient_unit_id: UUID
    recipient: str = Field(description="who in the unit: liaison, unit_head, unit_principal, …")
    requirements: str
    issued_at: Stamp
    due_date: date = Field(description="the last day to act on it (inclusive, Asia/Shanghai)")
    state: NoticeState
    colour: Colour | None = Field(
        description="for a notice waiting on the unit (issued or reopened); "
        "null once answered, closed or superseded"
    )
    parent_id: UUID | None = Field(description="the notice it escalated from")
    closed_at: Stamp | None = Field(default=None, description="when its matter was done, or it was withdrawn")
    closed_reason: ChainClosed | None = Field(
        default=None, description="why its chain ended (report_filed, feedback_accepted, withdrawn, …)"
    )
    awaiting_since: Stamp | None = Field(
        default=None, description="feedback or an explanation waits for the office's decision since then"
    )


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1, max_length=5000, description="the written feedback on the result (书面反馈)"
    )


class ExplanationIn(BaseModel):
    """Why it cannot be done in time, and by when it can (延期申请), asked before the deadline."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=5000)
    proposed_due_date: date = Field(description="the day it can be done by, after the notice's due_date")


class RejectIn(BaseModel):
    """The office rejects the latest answer: feedback goes back to the unit (退办) with a new
    deadline; an explanation is refused and the clock resumes."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=5000)
    due_in_working_days: Annotated[int, Field(ge=1, le=60), BeforeValidator(not_a_bool)] | None = Field(
        default=None,
        description="rejected feedback: working days to redo it (the program's default)",
    )


class ActionPublic(BaseModel):
    """An action recorded; the notifier applies it (the notice's state follows shortly)."""

    id: UUID
    notice_id: UUID
    action: NoticeAction
    actor: str
    at: Stamp
    text: str | None = Field(
        default=None, description="the feedback's text, the explanation's or the decision's reason"
    )
    decides_id: UUID | None = Field(default=None, description="accept / reject: the answer decided")
    proposed_due_date: date | None = None
    due_date: date | None = Field(default=None, description="rejected feedback: the new deadline")


class Told(BaseModel):
    """A person a digest went to, through one channel (the rows of GET /deliveries, in short)."""

    user_id: UUID | None = Field(description="null: the unit's own named liaison (no account)")
    to_name: str | None
    channel: str
    address: str | None = Field(description="the e-mail address, or the phone masked (138****1234)")
    state: SendState
    sent_at: Stamp | None


class NoticeDetail(NoticePublic):
    """A notice with every action on it, oldest first: what the unit answered and the office
    decided; and the people its day's digest told it to, through which channel."""

    actions: list[ActionPublic]
    told: list[Told] = Field(default_factory=list)


class WithdrawIn(BaseModel):
    """The office withdraws a notice issued by mistake: its chain ends, the recipient is told."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=5000)


class DeliveryPublic(BaseModel):
    """A digest to one person through one channel: what went to whom, when, through what, and
    what the gateway said."""

    id: UUID
    digest_id: UUID
    unit_id: UUID
    user_id: UUID | None = Field(description="null: the unit's own named liaison (no account)")
    to_name: str | None
    address: str | None = Field(description="the e-mail address, or the phone masked (138****1234)")
    channel: str = Field(description="log, email, sms, or another gateway's name")
    duties: list[str] = Field(description="why it reached the person: liaison, unit_head, unit_principal")
    subject: str
    state: SendState = Field(description="pending (not yet, or tried again later), sent, failed (for good)")
    attempts: int
    next_attempt_at: Stamp | None = Field(description="when it is tried again, while pending")
    provider_id: str | None = Field(description="the gateway's id for the message (its answer for e-mail)")
    error: str | None = Field(description="what the gateway said when it did not take it")
    sent_at: Stamp | None
    created_at: Stamp


class DigestPublic(BaseModel):
    """What a unit's liaison (or an office, of the answers it has left undecided) was told in a
    day's message."""

    id: UUID
    unit_id: UUID
    day: date
    to_name: str | None
    body: str
    notices: int = Field(description="notices (and answers awaiting a decision) it listed")
    created_at: Stamp
    sent_at: Stamp | None = Field(description="when it first reached someone; null: not yet")
    channel: str | None
    told: list[Told] = Field(default_factory=list, description="each person and channel it went to")


class MatterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["project", "unit", "task", "problem", "instruction"] = Field(
        description="what the notice is about; `instruction`: a leader's written instruction "
        "(领导批示), with no id"
    )
    id: UUID | None = Field(
        default=None, description="the project, unit, task or problem (none for an instruction)"
    )


class NoticeIn(BaseModel):
    """The office's own notice (催办/督办): a matter, a recipient, requirements and a deadline."""

    model_config = ConfigDict(extra="forbid")

    program_id: UUID
    kind: Literal["urging", "supervision"]
    recipient_unit_id: UUID
    subject: MatterIn
    requirements: str = Field(min_length=1, max_length=5000)
    due_in_working_days: Count = Field(
        ge=1, le=60, description="working days to act in: urgent 1–5, ordinary 15"
    )


class NoticeAccepted(BaseModel):
    """Issued by the notifier in a moment: GET /notices/{id} shows it then."""

    id: UUID
    due_date: date
