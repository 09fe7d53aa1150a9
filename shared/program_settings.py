"""A program's settings, as validated data: report schedules, notice rules, escalation policy.

The api stores them with the program; the reports, notifier and ranker code read them
through these models, so all three agree on their meaning. Defaults come from the seeds
(docs/schedules-and-ladder.md): Henan counties report last week's work every Monday and last month's by the
3rd; Luanchuan's project monthly form is due by the 22nd; the escalation ladder is the
default one in docs/schedules-and-ladder.md.
"""

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator

from shared.dates import Day
from shared.i18n import tr, word
from shared.vocabulary import NoticeKind, ScheduleKind, UnitKind


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
    """One rung of the ladder, looked up by its kind (docs/schedules-and-ladder.md, "One clock").

    A reminder comes `before_working_days` working days before the matter's deadline and is due
    on it. Every other rung gives its recipient `working_days` working days after the day it is
    issued (none: the program's `default_due_in_working_days`), and its notice is due on the last
    of them. The next rung fires the first working day after that deadline if the matter still
    stands and nothing waits for the office; a rung with `by_time` false is reached only by an
    event (a failed assessment), never by time."""

    level: Count = Field(ge=0, le=5, description="the number notices show; increasing up the ladder")
    kind: NoticeKind
    recipient: str = Field(max_length=100)
    working_days: Annotated[int, Field(ge=0, le=120), BeforeValidator(not_a_bool)] | None = Field(
        default=None,
        description="working days the recipient is given after the day of issue (0: due that day); "
        "none: the program's default_due_in_working_days. Not for a reminder (due on the deadline)",
    )
    before_working_days: Annotated[int, Field(ge=1, le=30), BeforeValidator(not_a_bool)] | None = Field(
        default=None, description="a reminder only: this many working days before the deadline"
    )
    by_time: StrictBool = Field(
        default=True, description="false: only an event (a failed assessment) puts a chain on this rung"
    )

    @model_validator(mode="after")
    def _fits_kind(self) -> "EscalationLevel":
        if self.kind == NoticeKind.PRAISE:
            raise ValueError(tr("praise is not a rung of the ladder"))
        if self.kind == NoticeKind.REMINDER:
            if self.before_working_days is None or self.working_days is not None:
                raise ValueError(
                    tr("a reminder takes before_working_days and no working_days (it is due on the deadline)")
                )
        elif self.before_working_days is not None:
            raise ValueError(tr("only a reminder takes before_working_days"))
        return self


def _upgrade(levels: list[Any]) -> list[Any]:
    """A ladder in the shape before one clock (`after_working_days`: from the deadline for levels
    0–1, from the previous rung's issue for the others) in today's: a rung that fired n working
    days after the one below gives the one below n − 1 working days (its deadline is the working
    day before). What the urging rung's own delay said is dropped: urging fires the first working
    day after the deadline."""
    if not all(isinstance(lv, dict) for lv in levels) or not any("after_working_days" in lv for lv in levels):
        return levels
    rungs = [dict(lv) for lv in levels]
    afters = [r.pop("after_working_days", None) for r in rungs]
    for i, rung in enumerate(rungs):
        if rung.get("kind") == NoticeKind.REMINDER:
            after = afters[i]
            rung["before_working_days"] = -after if isinstance(after, int) and after < 0 else 2
            continue
        if i and rungs[i - 1].get("kind") != NoticeKind.REMINDER:
            after = afters[i]
            if after is None:
                rung["by_time"] = False
            elif isinstance(after, int) and after >= 1 and "working_days" not in rungs[i - 1]:
                rungs[i - 1]["working_days"] = after - 1
    return rungs


class EscalationPolicy(_Strict):
    levels: list[EscalationLevel] = Field(min_length=1, max_length=6)

    @model_validator(mode="before")
    @classmethod
    def _from_before_one_clock(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("levels"), list):
            return {**data, "levels": _upgrade(data["levels"])}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> "EscalationPolicy":
        numbers = [lv.level for lv in self.levels]
        if numbers != sorted(set(numbers)):
            raise ValueError(tr("levels must be listed once each, in increasing order"))
        kinds = [lv.kind for lv in self.levels]
        if len(kinds) != len(set(kinds)):
            raise ValueError(tr("each kind of notice may be a rung of the ladder once"))
        if NoticeKind.REMINDER in kinds[1:]:
            raise ValueError(tr("a reminder can only be the first rung"))
        return self

    def rung(self, kind: str) -> EscalationLevel | None:
        """The rung of that kind, if the ladder has one."""
        return next((r for r in self.levels if r.kind == kind), None)

    def at(self, level: int) -> EscalationLevel | None:
        """The rung a chain keeping this ladder issued as `level` (its notices' number)."""
        return next((r for r in self.levels if r.level == level), None)

    def above(self, rung: EscalationLevel) -> EscalationLevel | None:
        """The rung after this one, if any."""
        later = [r for r in self.levels if r.level > rung.level]
        return later[0] if later else None


def default_escalation_policy() -> EscalationPolicy:
    """The seeds' ladder, with today's firing days: supervision the 3rd working day after urging
    (so urging gives 2), criticism the 5th after supervision, interview the 10th after criticism."""
    return EscalationPolicy(
        levels=[
            EscalationLevel(level=0, kind="reminder", before_working_days=2, recipient="liaison"),
            EscalationLevel(level=1, kind="urging", working_days=2, recipient="unit"),
            EscalationLevel(level=2, kind="supervision", working_days=4, recipient="unit_head"),
            EscalationLevel(level=3, kind="criticism", working_days=9, recipient="all_units"),
            EscalationLevel(level=4, kind="interview", recipient="unit_principal"),
            EscalationLevel(level=5, kind="accountability", by_time=False, recipient="discipline"),
        ]
    )


# Before one clock, condition rules named their first rung by its number on the default ladder.
_DEFAULT_KINDS = tuple(r.kind for r in default_escalation_policy().levels)


def _start_kind(data: object) -> object:
    if isinstance(data, dict) and "start_level" in data and "start_kind" not in data:
        data = dict(data)
        number = data.pop("start_level")
        if isinstance(number, int) and not isinstance(number, bool) and 0 <= number < len(_DEFAULT_KINDS):
            data["start_kind"] = _DEFAULT_KINDS[number]
        else:
            data["start_level"] = number  # refused as an unknown field, with its value
    return data


class Switch(_Strict):
    """A rule that finds a deadline (a report's, a milestone's, a problem's): reminded by the
    ladder's reminder before it, urged by its urging rung after it."""

    enabled: StrictBool = True


class Checkpoint(_Strict):
    on: str = Field(
        pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", description="MM-DD of the program year"
    )
    share: float = Field(strict=True, gt=0, le=1, description="of the annual plan, invested by that day")


class ConditionRule(_Strict):
    """A rule that finds a condition (not a deadline): its chains start on `start_kind`, the
    working day it is found."""

    enabled: StrictBool = True
    start_kind: NoticeKind = Field(default=NoticeKind.URGING, description="the rung its chains start on")

    @model_validator(mode="before")
    @classmethod
    def _from_start_level(cls, data: object) -> object:
        return _start_kind(data)

    @model_validator(mode="after")
    def _a_rung(self) -> "ConditionRule":
        if self.start_kind in (NoticeKind.REMINDER, NoticeKind.PRAISE):
            raise ValueError(
                tr("a condition rule's chains start on a rung after the deadline, not a reminder")
            )
        return self


class InvestmentBehind(ConditionRule):
    """Investment behind the plan curve at checkpoints: a project below the share of its annual
    plan on a checkpoint day is urged the next working day (Xinchang: ~38 % by 30 June)."""

    checkpoints: list[Checkpoint] = Field(
        default_factory=lambda: [Checkpoint(on="06-30", share=0.38)], max_length=12
    )


class NotMoving(ConditionRule):
    """开而未动: under construction, and no investment in `months` monthly reports running. The
    ladder's interview level by default (DOMAIN: "started but not moving" → 约谈)."""

    months: Count = Field(default=3, ge=1, le=12)
    start_kind: NoticeKind = Field(default=NoticeKind.INTERVIEW, description="the rung its chains start on")


class MovingSlowly(ConditionRule):
    """动而迟缓: under construction, and this year's investment to the latest report below `below`
    of the monthly plan to that month."""

    below: float = Field(strict=True, default=0.6, gt=0, le=1)


class RedLight(ConditionRule):
    """A project whose light (shared.lights) is red: a chain at `start_kind`, closed once it is
    not red. Off by default: the lights inform before they chase."""

    enabled: StrictBool = False


class NoticeRules(_Strict):
    """How notices are issued when the office does not say otherwise, and the rules (each one
    switchable) that find what is late."""

    chase_from: Day | None = Field(
        default=None,
        description="deadlines before this day are not chased (an office going live mid-year enters "
        "the months before as history); empty: every deadline of the program",
    )
    chase_months_after_year: Annotated[int, Field(ge=0, le=60), BeforeValidator(not_a_bool)] | None = Field(
        default=3,
        description="a live sweep opens and climbs no chain of the program this many months after its "
        "year ends (late reports of December are still chased); empty: for as long as it is open",
    )
    default_due_in_working_days: Count = Field(default=5, ge=1, le=60)
    warning_working_days: Count = Field(
        default=2, ge=0, le=30, description="yellow: a standing notice due within this many working days"
    )
    decision_reminder_working_days: Count = Field(
        default=3,
        ge=1,
        le=30,
        description="the office's digest lists the feedback and explanations it has left undecided "
        "this many working days",
    )
    criticise_bottom_of_ranking: Count = Field(default=3, ge=0, le=50)
    praise_top_of_ranking: Count = Field(default=3, ge=0, le=50)
    report_due: Switch = Field(default_factory=Switch)
    milestone_due: Switch = Field(default_factory=Switch)
    problem_overdue: Switch = Field(default_factory=Switch)
    investment_behind: InvestmentBehind = Field(default_factory=InvestmentBehind)
    not_moving: NotMoving = Field(default_factory=NotMoving)
    moving_slowly: MovingSlowly = Field(default_factory=MovingSlowly)
    red_light: RedLight = Field(default_factory=RedLight)
    visit_due: Switch = Field(default_factory=Switch)  # a supervision team's cadence (teams)

    def starts(self) -> list[tuple[str, NoticeKind]]:
        """(rule, the rung its chains start on) for each rule that can open a chain: the deadline
        rules switched on start at urging (a reminder before, if the ladder has one), the
        condition rules switched on at their start_kind, the ranking at criticism when it
        criticises anyone. A failing assessment's referral is not checked here: a program may
        have no accountability rung, and its referrals then close at once (`no_rung`)."""
        out: list[tuple[str, NoticeKind]] = []
        for name in ("report_due", "milestone_due", "problem_overdue", "visit_due"):
            if getattr(self, name).enabled:
                out.append((name, NoticeKind.URGING))
        for name in ("investment_behind", "not_moving", "moving_slowly", "red_light"):
            rule = getattr(self, name)
            if rule.enabled:
                out.append((name, rule.start_kind))
        if self.criticise_bottom_of_ranking > 0:
            out.append(("ranking", NoticeKind.CRITICISM))
        return out


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


class LightRules(_Strict):
    """红黄绿灯 thresholds (after Yinchuan's and Tianjin's published rules; docs/lights.md)."""

    start_yellow_months: Count = Field(
        default=1,
        ge=1,
        le=12,
        description="yellow: not started this many months after the planned start month",
    )
    start_red_months: Count = Field(
        default=3, ge=1, le=24, description="red: not started this many months after the planned start month"
    )
    progress_yellow_points: float = Field(
        strict=True, default=10, gt=0, le=100, description="yellow: this many points behind 序时进度 or more"
    )
    progress_red_points: float = Field(
        strict=True, default=30, gt=0, le=100, description="red: more than this many points behind 序时进度"
    )
    reports_yellow: Count = Field(default=1, ge=1, le=12, description="yellow: this many overdue reports")
    reports_red: Count = Field(default=2, ge=1, le=24, description="red: this many overdue reports")
    problems_red: Count = Field(
        default=1, ge=1, le=50, description="red: this many problems open past deadline"
    )
    notices_red_from: NoticeKind = Field(
        default=NoticeKind.SUPERVISION, description="red: a standing notice at this rung or above"
    )

    @model_validator(mode="after")
    def _ordered(self) -> "LightRules":
        if self.start_red_months < self.start_yellow_months:
            raise ValueError(tr("lights: start_red_months cannot be below start_yellow_months"))
        if self.progress_red_points < self.progress_yellow_points:
            raise ValueError(tr("lights: progress_red_points cannot be below progress_yellow_points"))
        if self.reports_red < self.reports_yellow:
            raise ValueError(tr("lights: reports_red cannot be below reports_yellow"))
        if self.notices_red_from in (NoticeKind.REMINDER, NoticeKind.PRAISE):
            raise ValueError(tr("lights: notices_red_from is a rung from urging up"))
        return self


class RankingGroup(_Strict):
    """Units ranked together (乡镇 apart from 县直部门): by the kinds of unit, or named units."""

    name: str = Field(min_length=1, max_length=64)
    unit_kinds: list[UnitKind] = Field(default_factory=list, max_length=6)
    unit_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)


def default_groups() -> list[RankingGroup]:
    return [
        RankingGroup(name="乡镇（街道）", unit_kinds=[UnitKind.GOVERNMENT]),
        RankingGroup(
            name="县直部门及业主单位",
            unit_kinds=[
                UnitKind.DEPARTMENT,
                UnitKind.OWNER,
                UnitKind.FINANCIAL,
                UnitKind.OTHER,
                UnitKind.OFFICE,
            ],
        ),
    ]


class BulletinRules(_Strict):
    """The monthly bulletin (一月一排队一通报): when its figures are taken, how units are scored and
    grouped, who is on the 红榜 and 黑榜 (docs/scoring.md)."""

    days_after_deadline: Count = Field(
        default=3,
        ge=0,
        le=28,
        description="figures as of this many days after the month's project report deadline",
    )
    investment_weight: float = Field(strict=True, default=0.6, ge=0, le=1)
    timeliness_weight: float = Field(strict=True, default=0.2, ge=0, le=1)
    notices_weight: float = Field(strict=True, default=0.2, ge=0, le=1)
    notice_penalty: float = Field(
        strict=True,
        default=10,
        ge=0,
        le=100,
        description="points off 100 per standing notice at supervision or above",
    )
    groups: list[RankingGroup] = Field(default_factory=default_groups, min_length=1, max_length=10)
    red_list_top: Count = Field(default=3, ge=0, le=50, description="红榜: the top N of each group …")
    red_list_from: float = Field(strict=True, default=80, ge=0, le=100, description="… scoring at least this")
    black_list_bottom: Count = Field(default=3, ge=0, le=50, description="黑榜: the bottom N of each group …")
    black_list_below: float = Field(
        strict=True, default=60, ge=0, le=100.01, description="… scoring below this"
    )
    streak_months: Count = Field(
        default=2,
        ge=1,
        le=12,
        description="on the 黑榜 this many published months running: a criticism notice",
    )
    document_number: Count = Field(
        default=1, ge=1, le=9999, description="the next 发文字号 number 〔YYYY〕N号"
    )
    issuer: str = Field(default="", max_length=64, description="发文机关 (default: the office's name)")

    @model_validator(mode="after")
    def _weights(self) -> "BulletinRules":
        total = self.investment_weight + self.timeliness_weight + self.notices_weight
        if abs(total - 1) > 1e-9:
            raise ValueError(tr("bulletin: the three weights must add up to 1"))
        names = [g.name for g in self.groups]
        if len(names) != len(set(names)):
            raise ValueError(tr("bulletin: each ranking group needs its own name"))
        return self


class ProgramSettings(_Strict):
    units_enter_projects: StrictBool = Field(
        default=False,
        description="a unit (a department's liaison) enters projects it is responsible for, naming "
        "as region and owner also the units above it in the program; off: every unit named must "
        "lie in the caller's subtree",
    )
    report_schedules: list[ReportSchedule] = Field(default_factory=default_report_schedules)
    escalation_policy: EscalationPolicy = Field(default_factory=default_escalation_policy)
    notice_rules: NoticeRules = Field(default_factory=NoticeRules)
    problem_rules: ProblemRules = Field(default_factory=ProblemRules)
    assessment: AssessmentRules = Field(default_factory=AssessmentRules)
    lights: LightRules = Field(default_factory=LightRules)
    bulletin: BulletinRules = Field(default_factory=BulletinRules)

    def schedule(self, kind: ScheduleKind) -> ReportSchedule | None:
        return next((s for s in self.report_schedules if s.kind == kind), None)

    @model_validator(mode="after")
    def _one_schedule_per_kind(self) -> "ProgramSettings":
        kinds = [s.kind for s in self.report_schedules]
        if len(kinds) != len(set(kinds)):
            raise ValueError(tr("report_schedules: one schedule per kind"))
        return self

    @model_validator(mode="after")
    def _every_rule_has_its_rung(self) -> "ProgramSettings":
        for rule, kind in self.notice_rules.starts():
            if self.escalation_policy.rung(kind) is None:
                raise ValueError(
                    tr(
                        "notice rule '{rule}' starts its chains on the {kind} rung, "
                        "which the ladder does not have; add the rung or switch the rule off",
                        rule=rule,
                        kind=word(NoticeKind, kind),
                    )
                )
        return self
