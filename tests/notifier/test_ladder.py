"""The ladder's one clock, case by case through the 2018 Mid-Autumn and National Day holidays
(22–24 September and 1–7 October off; Saturday 29 and Sunday 30 September worked).

Every rung gives its recipient working days after the day it is issued and is due on the last
of them; the rung above fires the first working day after that deadline."""

from datetime import date

import pytest

from services.notifier import ladder
from shared.calendar import WorkingCalendar, packaged_years
from shared.program_settings import EscalationPolicy, default_escalation_policy

DEFAULT = default_escalation_policy()
NO_REMINDER = EscalationPolicy.model_validate(
    {"levels": [lv.model_dump() for lv in DEFAULT.levels if lv.kind != "reminder"]}
)
NO_CRITICISM = EscalationPolicy.model_validate(
    {"levels": [lv.model_dump() for lv in DEFAULT.levels if lv.kind != "criticism"]}
)
# The same ladder as the default, as programs stored it before one clock.
BEFORE_ONE_CLOCK = EscalationPolicy.model_validate(
    {
        "levels": [
            {"level": 0, "kind": "reminder", "after_working_days": -2, "recipient": "liaison"},
            {"level": 1, "kind": "urging", "after_working_days": 0, "recipient": "unit"},
            {"level": 2, "kind": "supervision", "after_working_days": 3, "recipient": "unit_head"},
            {"level": 3, "kind": "criticism", "after_working_days": 5, "recipient": "all_units"},
            {"level": 4, "kind": "interview", "after_working_days": 10, "recipient": "unit_principal"},
            {"level": 5, "kind": "accountability", "after_working_days": None, "recipient": "discipline"},
        ]
    }
)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    holidays, workdays = packaged_years()[2018]
    return WorkingCalendar(holidays=set(holidays), workdays=set(workdays), years={2018})


SEPTEMBER = date(2018, 9, 25)  # September's project form: due the 22nd, a Saturday, moved past Mid-Autumn


@pytest.mark.parametrize(
    ("case", "policy", "kind", "issued", "deadline", "due", "next_on"),
    [
        # September's form chased up the default ladder
        ("reminder: due on the deadline", DEFAULT, "reminder", date(2018, 9, 20), SEPTEMBER,
         SEPTEMBER, date(2018, 9, 26)),
        ("urging: 2 working days, supervision the make-up Saturday", DEFAULT, "urging",
         date(2018, 9, 26), SEPTEMBER, date(2018, 9, 28), date(2018, 9, 29)),
        ("supervision: 4 working days across the holiday week", DEFAULT, "supervision",
         date(2018, 9, 29), SEPTEMBER, date(2018, 10, 10), date(2018, 10, 11)),
        ("criticism: 9 working days", DEFAULT, "criticism", date(2018, 10, 11), SEPTEMBER,
         date(2018, 10, 24), date(2018, 10, 25)),
        ("interview: the program's default 5; accountability only by an event", DEFAULT, "interview",
         date(2018, 10, 25), SEPTEMBER, date(2018, 11, 1), None),
        ("accountability: the top of the ladder", DEFAULT, "accountability", date(2018, 11, 5),
         SEPTEMBER, date(2018, 11, 12), None),
        # a ladder without criticism: supervision climbs straight to the interview
        ("no criticism rung", NO_CRITICISM, "supervision", date(2018, 9, 29), SEPTEMBER,
         date(2018, 10, 10), date(2018, 10, 11)),
        # issued on a day off (the office's notice on a holiday): the days count from the next working day
        ("issued on National Day", DEFAULT, "urging", date(2018, 10, 1), SEPTEMBER, date(2018, 10, 9),
         date(2018, 10, 10)),
        # the ladder as stored before one clock fires on the same days
        ("stored before one clock", BEFORE_ONE_CLOCK, "urging", date(2018, 9, 26), SEPTEMBER,
         date(2018, 9, 28), date(2018, 9, 29)),
        ("stored before one clock, criticism", BEFORE_ONE_CLOCK, "criticism", date(2018, 10, 11),
         SEPTEMBER, date(2018, 10, 24), date(2018, 10, 25)),
    ],
)  # fmt: skip
def test_each_rung_is_due_on_its_last_working_day_and_the_next_fires_the_day_after(
    cal: WorkingCalendar,
    case: str,
    policy: EscalationPolicy,
    kind: str,
    issued: date,
    deadline: date,
    due: date,
    next_on: date | None,
) -> None:
    rung = policy.rung(kind)
    assert rung is not None, case
    step = ladder.step(policy, rung, issued, cal, deadline=deadline, default_days=5)
    assert (step.due, step.next_on) == (due, next_on), case


@pytest.mark.parametrize(
    ("case", "due", "next_on"),
    [
        ("the office's notice of Friday 28 September, 3 working days", date(2018, 10, 8), date(2018, 10, 9)),
        ("an accepted explanation moves the deadline to Friday 19 October", date(2018, 10, 19),
         date(2018, 10, 22)),
        ("a return (退办) on 15 October, due in 3 working days", date(2018, 10, 18), date(2018, 10, 19)),
        ("a deadline on the last day before National Day", date(2018, 9, 30), date(2018, 10, 8)),
    ],
)  # fmt: skip
def test_a_deadline_set_by_the_office_moves_the_next_rung_with_it(
    cal: WorkingCalendar, case: str, due: date, next_on: date
) -> None:
    urging = DEFAULT.rung("urging")
    assert urging is not None
    assert ladder.next_day(DEFAULT, urging, due, cal) == next_on, case


@pytest.mark.parametrize(
    ("case", "policy", "deadline", "opens"),
    [
        ("reminder 2 working days before, past Mid-Autumn and the weekend", DEFAULT, SEPTEMBER,
         date(2018, 9, 20)),
        ("no reminder: the first working day after the deadline", NO_REMINDER, SEPTEMBER, date(2018, 9, 26)),
        ("a deadline on the make-up Sunday: urging after the holiday week", NO_REMINDER, date(2018, 9, 30),
         date(2018, 10, 8)),
    ],
)  # fmt: skip
def test_a_deadlines_chain_opens_with_its_first_rung(
    cal: WorkingCalendar, case: str, policy: EscalationPolicy, deadline: date, opens: date
) -> None:
    assert ladder.opening_day(policy, deadline, cal) == opens, case


def test_a_chain_starts_on_its_kind_of_rung_and_a_missing_one_is_said() -> None:
    def first(policy: EscalationPolicy, start: str | None, today: date) -> str | None:
        rung = ladder.first_rung(policy, start, SEPTEMBER, today)
        return None if rung is None else rung.kind

    assert first(DEFAULT, None, date(2018, 9, 20)) == "reminder"  # before the deadline
    assert first(DEFAULT, None, date(2018, 9, 25)) == "reminder"  # on it
    assert first(DEFAULT, None, date(2018, 9, 26)) == "urging"  # the reminder's moment passed
    assert first(NO_REMINDER, None, date(2018, 9, 25)) is None  # nothing before the deadline
    assert first(DEFAULT, "interview", date(2018, 9, 20)) == "interview"  # 开而未动
    assert first(DEFAULT, "criticism", date(2018, 9, 20)) == "criticism"  # a bottom ranking
    with pytest.raises(ladder.NoRung) as missing:
        first(NO_CRITICISM, "criticism", date(2018, 10, 12))
    assert missing.value.kind == "criticism"
