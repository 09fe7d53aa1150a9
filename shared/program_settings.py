"""A program's settings, as validated data: report schedules, notice rules, escalation policy.

The api stores them with the program; the reports, notifier and ranker code read them
through these models, so all three agree on their meaning. Defaults come from the seeds
(docs/schedules-and-ladder.md): Henan counties report last week's work every Monday and last month's by the
3rd; Luanchuan's project monthly form is due by the 22nd; the escalation ladder is the
default one in docs/schedules-and-ladder.md.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator

from shared.dates import Day
from shared.i18n import tr, word
from shared.vocabulary import NoticeKind, ScheduleKind


def not_a_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(tr("expected a whole number, not true or false"))
    return value


# A whole number as JSON says one (3, or 3.0), never a boolean (false is not 0).
Count = Annotated[int, BeforeValidator(not_a_bool)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportSchedule(_Strict):
    """When a kind of report is due. Weekly: a weekday of the following week; monthly and
    quarterly: a day of the month after the period."""

    kind: ScheduleKind
    # (bounds inside the optional type, before the validator: else the schema says `ge`/`le`, not
    # JSON Schema's minimum/maximum)
    due_weekday: Annotated[int, Field(ge=1, le=7), BeforeValidator(not_a_bool)] | None = Field(
        default=None, description="1 = Monday … 7 = Sunday (weekly)"
    )
    due_day: Annotated[int, Field(ge=1, le=28), BeforeValidator(not_a_bool)] | None = Field(
        default=None, description="day of the month, 1–28"
    )
    month_offset: Count = Field(
        default=1,
        ge=0,
        le=1,
        description="monthly and quarterly: 1 = day N of the month after the period (Henan: last "
        "month's report by the 3rd); 0 = day N of the period's own (last) month (Luanchuan: the "
        "month's project form by the 22nd)",
    )
    move_to_next_working_day: StrictBool = Field(
        default=True, description="a due date on a day off moves to the next working day"
    )

    @model_validator(mode="after")
    def _fits_kind(self) -> "ReportSchedule":
        if self.kind == "unit_weekly":
            if self.due_weekday is None or self.due_day is not None:
                raise ValueError(tr("a weekly schedule takes due_weekday (1 = Monday) and no due_day"))
        elif self.due_day is None or self.due_weekday is not None:
            raise ValueError(
                tr(
                    "a {kind} schedule takes due_day (1–28) and no due_weekday",
                    kind=word(ScheduleKind, self.kind),
                )
            )

        return self


def default_report_schedules() -> list[ReportSchedule]:
    return [
        ReportSchedule(kind="unit_weekly", due_weekday=1),
        ReportSchedule(kind="unit_monthly", due_day=3),
        ReportSchedule(kind="project_monthly", due_day=22, month_offset=0),
    ]


class EscalationLevel(_Strict):
    """One rung of the ladder. `after_working_days` counts from the deadline for levels 0–1
    (negative: before it) and from the previous level otherwise; None means the level is
    reached only by an event (a failed assessment, a bottom ranking), never by time."""

    level: Count = Field(ge=0, le=5)
    kind: NoticeKind
    after_working_days: Annotated[int, Field(ge=-30, le=120), BeforeValidator(not_a_bool)] | None = None
    recipient: str = Field(max_length=100)


class EscalationPolicy(_Strict):
    levels: list[EscalationLevel] = Field(min_length=1, max_length=6)

    @model_validator(mode="after")
    def _ordered(self) -> "EscalationPolicy":
        numbers = [lv.level for lv in self.levels]
        if numbers != sorted(set(numbers)):
            raise ValueError(tr("levels must be listed once each, in increasing order"))
        return self


def default_escalation_policy() -> EscalationPolicy:
    return EscalationPolicy(
        levels=[
            EscalationLevel(level=0, kind="reminder", after_working_days=-2, recipient="liaison"),
            EscalationLevel(level=1, kind="urging", after_working_days=0, recipient="unit"),
            EscalationLevel(level=2, kind="supervision", after_working_days=3, recipient="unit_head"),
            EscalationLevel(level=3, kind="criticism", after_working_days=5, recipient="all_units"),
            EscalationLevel(level=4, kind="interview", after_working_days=10, recipient="unit_principal"),
            EscalationLevel(level=5, kind="accountability", after_working_days=None, recipient="discipline"),
        ]
    )


class Switch(_Strict):
    """A rule that finds a deadline (a report's, a milestone's, a problem's): reminded by the
    ladder's level 0 before it, urged by level 1 after it."""

    enabled: StrictBool = True


class Checkpoint(_Strict):
    on: str = Field(
        pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", description="MM-DD of the program year"
    )
    share: float = Field(strict=True, gt=0, le=1, description="of the annual plan, invested by that day")


class InvestmentBehind(_Strict):
    """Investment behind the plan curve at checkpoints: a project below the share of its annual
    plan on a checkpoint day is urged the next working day (Xinchang: ~38 % by 30 June)."""

    enabled: StrictBool = True
    checkpoints: list[Checkpoint] = Field(
        default_factory=lambda: [Checkpoint(on="06-30", share=0.38)], max_length=12
    )
    start_level: Count = Field(default=1, ge=1, le=5)


class NotMoving(_Strict):
    """开而未动: under construction, and no investment in `months` monthly reports running. The
    ladder's interview level by default (DOMAIN: "started but not moving" → 约谈)."""

    enabled: StrictBool = True
    months: Count = Field(default=3, ge=1, le=12)
    start_level: Count = Field(default=4, ge=1, le=5)


class MovingSlowly(_Strict):
    """动而迟缓: under construction, and this year's investment to the latest report below `below`
    of the monthly plan to that month."""

    enabled: StrictBool = True
    below: float = Field(strict=True, default=0.6, gt=0, le=1)
    start_level: Count = Field(default=1, ge=1, le=5)


class NoticeRules(_Strict):
    """How notices are issued when the office does not say otherwise, and the rules (each one
    switchable) that find what is late."""

    chase_from: Day | None = Field(
        default=None,
        description="deadlines before this day are not chased (an office going live mid-year enters "
        "the months before as history); empty: every deadline of the program",
    )
    default_due_in_working_days: Count = Field(default=5, ge=1, le=60)
    warning_working_days: Count = Field(
        default=2, ge=0, le=30, description="yellow: a standing notice due within this many working days"
    )
    supervision_cosigned_by: str = Field(default="督查室", max_length=100)
    criticise_bottom_of_ranking: Count = Field(default=3, ge=0, le=50)
    praise_top_of_ranking: Count = Field(default=3, ge=0, le=50)
    report_due: Switch = Field(default_factory=Switch)
    milestone_due: Switch = Field(default_factory=Switch)
    problem_overdue: Switch = Field(default_factory=Switch)
    investment_behind: InvestmentBehind = Field(default_factory=InvestmentBehind)
    not_moving: NotMoving = Field(default_factory=NotMoving)
    moving_slowly: MovingSlowly = Field(default_factory=MovingSlowly)


class ProblemRules(_Strict):
    """The problem ledger: how long a problem may stay open, and the meetings it goes up through."""

    deadline_working_days: Count = Field(default=10, ge=1, le=250)
    target_resolution_rate: float = Field(
        strict=True, default=0.8, ge=0, le=1, description="Xinchang aims at 80 %"
    )


Quarter = Literal["Q1", "Q2", "Q3", "Q4"]


def _equal_quarters() -> dict[Quarter, float]:
    return {"Q1": 1.0, "Q2": 1.0, "Q3": 1.0, "Q4": 1.0}


class AssessmentRules(_Strict):
    """How a half-year or annual grade (考核) comes from the program's published rounds."""

    quarter_weights: dict[Quarter, float] = Field(
        default_factory=_equal_quarters,
        description="each quarter's weight in the mean of a unit's published round scores",
    )
    excellent_from: float = Field(strict=True, default=85, ge=0, le=100, description="优良 at or above")
    pass_from: float = Field(
        strict=True, default=60, ge=0, le=100, description="合格 at or above; 不合格 below"
    )

    year_end_weight: float = Field(
        strict=True,
        default=0,
        ge=0,
        le=1,
        description="the annual score's share from the office's year-end evaluation (年终考评); the "
        "rest from the published rounds",
    )

    @model_validator(mode="after")
    def _ordered(self) -> "AssessmentRules":
        if self.pass_from > self.excellent_from:
            raise ValueError(tr("assessment: pass_from cannot be above excellent_from"))
        if any(w < 0 for w in self.quarter_weights.values()):
            raise ValueError(tr("assessment: a quarter's weight cannot be negative"))
        return self


class ProgramSettings(_Strict):
    report_schedules: list[ReportSchedule] = Field(default_factory=default_report_schedules)
    escalation_policy: EscalationPolicy = Field(default_factory=default_escalation_policy)
    notice_rules: NoticeRules = Field(default_factory=NoticeRules)
    problem_rules: ProblemRules = Field(default_factory=ProblemRules)
    assessment: AssessmentRules = Field(default_factory=AssessmentRules)

    def schedule(self, kind: ScheduleKind) -> ReportSchedule | None:
        return next((s for s in self.report_schedules if s.kind == kind), None)

    @model_validator(mode="after")
    def _one_schedule_per_kind(self) -> "ProgramSettings":
        kinds = [s.kind for s in self.report_schedules]
        if len(kinds) != len(set(kinds)):
            raise ValueError(tr("report_schedules: one schedule per kind"))
        return self
