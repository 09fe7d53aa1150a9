"""The ladder in working days: a report never filed is reminded, urged, supervised, criticised and
summoned to interview, each on its working day through the 2018 Mid-Autumn and National Day
holidays (make-up working days Saturday 29 and Sunday 30 September), and filing it ends the chain.
Sweeps run as of 09:00 each day, as the notifier's cron and `duban notifier sweep --as-of` do."""

from datetime import date, datetime, time

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier.channels import LoggingChannel
from services.notifier.sweep import sweep
from services.notifier.tasks import sweep_notices
from services.notifier.webhooks import fan_out
from shared import clock
from shared.clock import OFFICE_TZ
from shared.crypto import SecretBox
from shared.models import Notice, NoticeChain, OutboxMessage, Program, WebhookDelivery
from shared.queues import EventPayload
from shared.settings import NotifierSettings
from tests.notifier.steps import apply_actions, days, morning, urged
from tests.world import World, at


async def _ladder(
    session: AsyncSession, world: World, period: str = "2018-09"
) -> list[tuple[str, date, str]]:
    notices = await session.scalars(
        select(Notice)
        .where(col(Notice.subject_id) == world.projects["A"].id, col(Notice.period) == period)
        .order_by(col(Notice.level))
        .execution_options(populate_existing=True)
    )
    return [(n.kind, n.issued_on, n.state) for n in notices]


async def test_a_report_never_filed_climbs_the_ladder_each_rung_on_its_working_day(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """September's project form is due Saturday 22 September, moved past the weekend and the
    Mid-Autumn Monday to Tuesday the 25th. Reminder 2 working days before (Thursday the 20th);
    urging the first working day after (Wednesday the 26th); supervision 3 working days later
    (27th, 28th and the make-up Saturday the 29th); criticism 5 later (the make-up Sunday the
    30th, then 8-11 October past the holiday week); interview 10 later (25 October)."""
    await days(sessions, date(2018, 9, 14), date(2018, 10, 31))
    assert await _ladder(session, approved) == [
        ("reminder", date(2018, 9, 20), "superseded"),
        ("urging", date(2018, 9, 26), "superseded"),
        ("supervision", date(2018, 9, 29), "superseded"),
        ("criticism", date(2018, 10, 11), "superseded"),
        ("interview", date(2018, 10, 25), "issued"),
    ]
    chain = await session.scalar(
        select(NoticeChain).where(
            col(NoticeChain.subject_id) == approved.projects["A"].id, col(NoticeChain.period) == "2018-09"
        )
    )
    assert chain is not None and chain.recipient_unit_id == approved.units["A"].id
    assert chain.state == "open" and chain.next_level_on is None  # accountability comes by an event only


async def test_a_sweep_run_again_issues_nothing_twice(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await sweep(sessions, morning(date(2018, 9, 26)))
    again = await sweep(sessions, morning(date(2018, 9, 26)))
    later = await sweep(sessions, datetime.combine(date(2018, 9, 26), time(17), OFFICE_TZ))
    assert first["issued"] > 0 and again["issued"] == later["issued"] == 0
    assert again["opened"] == 0
    assert [k for k, _, _ in await _ladder(session, approved)] == ["urging"]  # no reminder after the deadline


async def test_filing_the_late_report_closes_the_chain(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await days(sessions, date(2018, 9, 19), date(2018, 9, 27))
    with clock.use_clock(at("2018-09-27 15:00")):
        filed = await client.post(
            f"/api/v1/projects/{approved.projects['A'].id}/reports",
            json={"period": "2018-09", "investment_month": "80", "progress_percent": "40"},
            headers=approved.auth("a_reporter"),
        )
    assert filed.status_code == 201 and filed.json()["late"] is True
    outcome = await sweep(sessions, morning(date(2018, 9, 28)))
    assert outcome["closed"] >= 1
    await days(sessions, date(2018, 9, 29), date(2018, 10, 31))
    assert await _ladder(session, approved) == [
        ("reminder", date(2018, 9, 20), "superseded"),
        ("urging", date(2018, 9, 26), "closed"),
    ]


async def test_an_open_chain_keeps_the_ladder_it_opened_under(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The office shortens its ladder after the urging notice went out: the open chain climbs by
    the old one (supervision 3 working days on), a chain opened afterwards by the new."""
    await days(sessions, date(2018, 9, 19), date(2018, 9, 26))
    program = await session.get_one(Program, approved.programs["P"].id)
    settings = dict(program.settings)
    policy = {"levels": [
        {"level": 1, "kind": "urging", "working_days": 0, "recipient": "unit"},
        {"level": 2, "kind": "supervision", "working_days": 0, "recipient": "unit_head"},
        {"level": 3, "kind": "criticism", "recipient": "all_units"},
        {"level": 4, "kind": "interview", "recipient": "unit_principal"},
    ]}  # fmt: skip
    program.settings = {**settings, "escalation_policy": policy}
    await session.commit()
    await days(sessions, date(2018, 9, 27), date(2018, 9, 29))
    assert [(k, d) for k, d, _ in await _ladder(session, approved)][-1] == ("supervision", date(2018, 9, 29))


async def test_the_notifiers_cron_sweeps_as_of_now(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    notifier_settings: NotifierSettings,
) -> None:
    with clock.use_clock(at("2018-09-26 09:00")):
        done = await sweep_notices(
            {"sessions": sessions, "channels": [LoggingChannel()], "phones": SecretBox("test", "phone"),
             "settings": notifier_settings}
        )  # fmt: skip
    assert done["issued"] > 0 and done["sent"] == done["gathered"] > 0  # the day's digests went out
    assert [k for k, _, _ in await _ladder(session, approved)] == ["urging"]


async def test_a_unit_reads_its_notices_coloured_and_another_county_does_not(
    client: AsyncClient,
    approved: World,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """County A's reporter sees the urging notice on its project: issued Wednesday 26 September
    and due Friday the 28th (the working day before supervision would fire), so yellow at once
    (due within two working days), red from Saturday the 29th; the supervision notice that
    follows gives 4 working days, green on its first. County B sees none of A's."""
    await days(sessions, date(2018, 9, 26), date(2018, 9, 26))
    project = approved.projects["A"].id
    about = {"subject_id": str(project), "period": "2018-09"}

    async def seen(who: str, day: str, **params: str) -> list[dict[str, object]]:
        with clock.use_clock(at(f"{day} 10:00")):
            r = await client.get("/api/v1/notices", params={**about, **params}, headers=approved.auth(who))
        assert r.status_code == 200, r.text
        return r.json()["data"]

    [urging] = await seen("a_reporter", "2018-09-26")
    assert urging["kind"] == "urging" and urging["subject"] == {
        "type": "project",
        "id": str(project),
        "period": "2018-09",
    }
    assert urging["recipient_unit_id"] == str(approved.units["A"].id) and urging["due_date"] == "2018-09-28"
    assert "2018-09" in urging["requirements"] and urging["state"] == "issued"
    assert urging["colour"] == "yellow"
    assert [n["colour"] for n in await seen("a_reporter", "2018-09-28")] == ["yellow"]
    assert [n["colour"] for n in await seen("a_reporter", "2018-09-29", state="issued")] == ["red"]
    assert await seen("a_reporter", "2018-09-29", colour="green") == []
    assert await seen("b_admin", "2018-09-26") == []
    assert len(await seen("p_staff", "2018-09-26")) == 1  # the province office sees all below it
    await days(sessions, date(2018, 9, 29), date(2018, 9, 29))
    [supervision] = await seen("a_reporter", "2018-09-29", state="issued")
    assert (supervision["kind"], supervision["due_date"], supervision["colour"]) == (
        "supervision",
        "2018-10-10",
        "green",
    )  # 30 Sep, 8, 9 and 10 Oct: 4 working days after the 29th; criticism fires the 11th


async def test_nothing_goes_out_in_quiet_hours_it_waits_for_the_next_working_morning(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The first sweep of all runs on Saturday 22 September: nothing is issued that weekend, nor
    on the Mid-Autumn Monday, nor at night; Tuesday morning the reminder goes out (the report is
    due that day). The make-up Saturday the 29th is a working morning like any other."""
    quiet = [
        datetime(2018, 9, 21, 20, 0, tzinfo=OFFICE_TZ),  # Friday evening
        morning(date(2018, 9, 22)), morning(date(2018, 9, 23)),  # the weekend
        morning(date(2018, 9, 24)),  # Mid-Autumn Festival
        datetime(2018, 9, 25, 7, 0, tzinfo=OFFICE_TZ),  # before the office opens
    ]  # fmt: skip
    for instant in quiet:
        assert (await sweep(sessions, instant))["issued"] == 0, instant
    assert await _ladder(session, approved) == []
    assert (await sweep(sessions, morning(date(2018, 9, 25))))["issued"] > 0
    assert [(k, d) for k, d, _ in await _ladder(session, approved)] == [("reminder", date(2018, 9, 25))]
    await days(sessions, date(2018, 9, 26), date(2018, 9, 29))
    assert [(k, d) for k, d, _ in await _ladder(session, approved)][-1] == ("supervision", date(2018, 9, 29))


async def test_a_notice_issued_or_closed_is_an_event_for_the_webhooks_that_see_its_unit(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """County A's system and county B's both subscribe to notice.issued: the urging notice to A
    becomes a delivery for A's webhook only; filing the report then announces notice.closed."""
    for county in ("A", "B"):
        approved.webhooks[county].events = ["notice.issued", "notice.closed"]
    await session.commit()
    await sweep(sessions, morning(date(2018, 9, 26)))
    [urging] = (
        await session.scalars(
            select(Notice).where(
                col(Notice.subject_id) == approved.projects["A"].id, col(Notice.period) == "2018-09"
            )
        )
    ).all()
    message = await session.scalar(
        select(OutboxMessage).where(
            col(OutboxMessage.payload)["subject_id"].astext == str(urging.id),
            col(OutboxMessage.payload)["event"].astext == "notice.issued",
        )
    )
    assert message is not None and message.producer == "notifier"
    event = EventPayload.model_validate(message.payload)
    assert event.data["kind"] == "urging" and event.data["matter"]["period"] == "2018-09"
    await fan_out(session, message_id=str(message.id), event=event)
    hooks = set(
        await session.scalars(
            select(col(WebhookDelivery.webhook_id)).where(col(WebhookDelivery.message_id) == message.id)
        )
    )
    assert hooks == {approved.webhooks["A"].id}
    with clock.use_clock(at("2018-09-26 15:00")):
        filed = await client.post(
            f"/api/v1/projects/{approved.projects['A'].id}/reports",
            json={"period": "2018-09", "investment_month": "80", "progress_percent": "40"},
            headers=approved.auth("a_reporter"),
        )
    assert filed.status_code == 201
    await sweep(sessions, morning(date(2018, 9, 27)))
    closed = await session.scalar(
        select(OutboxMessage).where(
            col(OutboxMessage.payload)["subject_id"].astext == str(urging.id),
            col(OutboxMessage.payload)["event"].astext == "notice.closed",
        )
    )
    assert closed is not None and closed.payload["data"]["reason"] == "report_filed"


async def test_a_sweep_queues_no_notice_event_that_no_webhook_subscribes_to(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """No webhook takes notice events: the sweep's notices put nothing in the notifier's queue
    (each would be a job fanning out to no one, and every filing and webhook would wait behind
    them). Once county A's system subscribes to notice.issued, the next sweep's notices are
    announced, and notice.closed, still unsubscribed, is not."""
    notice_events = select(OutboxMessage).where(col(OutboxMessage.payload)["event"].astext.like("notice.%"))
    assert (await sweep(sessions, morning(date(2018, 9, 26))))["issued"] > 0
    assert (await session.scalars(notice_events)).all() == []
    approved.webhooks["A"].events = ["notice.issued"]
    await session.commit()
    issued = (await sweep(sessions, morning(date(2018, 9, 29))))["issued"]
    events = {m.payload["event"] for m in (await session.scalars(notice_events)).all()}
    assert issued > 0 and events == {"notice.issued"}


async def test_accepted_feedback_stops_the_ladder(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """County A answers the urging notice in writing on the 27th; the office accepts it on the
    28th: nothing more is issued on that report, though it is still not filed. A second accept
    is 409 and changes nothing; feedback on the closed notice is 409 with the reason."""
    urging = await urged(session, sessions, approved)
    url = f"/api/v1/notices/{urging.id}"
    with clock.use_clock(at("2018-09-26 10:00")):
        early = await client.post(f"{url}/accept", headers=approved.auth("p_staff"))
    assert early.status_code == 409 and "no feedback" in early.json()["detail"]
    with clock.use_clock(at("2018-09-27 10:00")):
        answered = await client.post(
            f"{url}/feedback", json={"text": "征地问题已协调，本周补报"}, headers=approved.auth("a_reporter")
        )
        outsider = await client.post(f"{url}/feedback", json={"text": "x"}, headers=approved.auth("b_admin"))
    assert answered.status_code == 202, answered.text
    assert outsider.status_code == 404
    await apply_actions(session, sessions)
    with clock.use_clock(at("2018-09-27 11:00")):
        assert (await client.get(url, headers=approved.auth("a_reporter"))).json()[
            "state"
        ] == "feedback_submitted"
        county = await client.post(f"{url}/accept", headers=approved.auth("a_reporter"))
    assert county.status_code == 403  # the unit cannot accept its own answer
    with clock.use_clock(at("2018-09-28 10:00")):
        accepted = await client.post(f"{url}/accept", headers=approved.auth("p_staff"))
        again = await client.post(f"{url}/accept", headers=approved.auth("p_staff"))
    assert accepted.status_code == 202 and again.status_code == 409
    await apply_actions(session, sessions)
    await days(sessions, date(2018, 9, 28), date(2018, 10, 31))
    assert [(k, s) for k, _, s in await _ladder(session, approved)] == [("urging", "closed")]
    chain = await session.get_one(NoticeChain, urging.chain_id, populate_existing=True)
    assert chain.state == "closed" and chain.closed_reason == "feedback_accepted"
    with clock.use_clock(at("2018-09-29 10:00")):
        late = await client.post(
            f"{url}/feedback", json={"text": "补充"}, headers=approved.auth("a_reporter")
        )
    assert late.status_code == 409


async def test_the_office_issues_its_own_notice_due_in_working_days(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Friday 28 September 2018, 3 working days: the make-up weekend counts, the holiday week
    does not, so it is due Monday 8 October. Issued once however often its message arrives."""
    world = approved
    body = {
        "program_id": str(world.programs["P"].id), "kind": "urging",
        "recipient_unit_id": str(world.units["A"].id),
        "subject": {"type": "project", "id": str(world.projects["A"].id)},
        "requirements": "按县领导批示，三个工作日内解决征地问题并书面反馈", "due_in_working_days": 3,
    }  # fmt: skip
    staff = world.auth("p_staff")
    wrong = {
        "outside": {"recipient_unit_id": str(world.units["QC"].id)},
        "unknown": {"subject": {"type": "task", "id": str(world.projects["A"].id)}},
        "no days": {"due_in_working_days": 0},
        "instruction with an id": {"subject": {"type": "instruction", "id": str(world.units["A"].id)}},
    }
    with clock.use_clock(at("2018-09-28 10:00")):
        r = await client.post("/api/v1/notices", json=body, headers=staff)
        refused = {
            k: await client.post("/api/v1/notices", json={**body, **v}, headers=staff)
            for k, v in wrong.items()
        }
        refused["a county"] = await client.post(
            "/api/v1/notices", json=body, headers=world.auth("a_reporter")
        )
    assert r.status_code == 202, r.text
    assert r.json()["due_date"] == "2018-10-08"
    assert {k: v.status_code for k, v in refused.items()} == {
        "outside": 422, "unknown": 422, "no days": 422, "instruction with an id": 422, "a county": 403,
    }  # fmt: skip
    assert refused["outside"].json()["errors"][0]["loc"] == ["body", "recipient_unit_id"]
    assert refused["unknown"].json()["errors"][0]["loc"] == ["body", "subject", "id"]
    assert await apply_actions(session, sessions, "issue_notice") == ["issued"]
    assert await apply_actions(session, sessions, "issue_notice") == ["duplicate"]  # replayed
    with clock.use_clock(at("2018-09-28 11:00")):
        shown = await client.get(f"/api/v1/notices/{r.json()['id']}", headers=world.auth("a_reporter"))
    notice = shown.json()
    assert shown.status_code == 200 and notice["kind"] == "urging" and notice["level"] == 1
    assert notice["due_date"] == "2018-10-08" and notice["requirements"] == body["requirements"]
    assert notice["subject"]["type"] == "project" and notice["colour"] == "green"


async def test_a_replay_behind_the_live_clock_never_closes_a_chain_it_has_moved_past(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The cron chased September's report up to supervision (29 September); an operator then
    replays 1 September, when that report was not yet due. The replay leaves the chain open with
    its notice standing, and the live sweeps after it go on climbing."""
    await days(sessions, date(2018, 9, 19), date(2018, 9, 29))
    replayed = await sweep(sessions, morning(date(2018, 9, 1)))
    assert replayed["closed"] == 0
    assert (await _ladder(session, approved))[-1] == ("supervision", date(2018, 9, 29), "issued")
    await days(sessions, date(2018, 9, 30), date(2018, 10, 11))
    assert (await _ladder(session, approved))[-1] == ("criticism", date(2018, 10, 11), "issued")


async def test_actions_applied_out_of_order_end_as_they_were_recorded(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """County A answers the urging notice on the 27th and the office returns it for rework (退办)
    on the 28th; after a backlog, the worker that takes the return runs before the one that
    takes the answer. The notice stands reopened, due again — not stuck awaiting a decision."""
    urging = await urged(session, sessions, approved)
    base = f"/api/v1/notices/{urging.id}"
    with clock.use_clock(at("2018-09-27 10:00")):
        answered = await client.post(
            f"{base}/feedback", json={"text": "已报送"}, headers=approved.auth("a_reporter")
        )
    with clock.use_clock(at("2018-09-28 10:00")):
        returned = await client.post(
            f"{base}/reject",
            json={"reason": "数据不全", "due_in_working_days": 3},
            headers=approved.auth("p_staff"),
        )
    assert answered.status_code == returned.status_code == 202
    done = await apply_actions(session, sessions, newest_first=True)
    assert done == ["feedback submitted; reopened", "applied already"]
    await session.refresh(urging)
    assert (urging.state, urging.due_date) == ("reopened", date.fromisoformat(returned.json()["due_date"]))
    assert await apply_actions(session, sessions) == ["duplicate", "duplicate"]


async def test_the_lights_replay_as_of_any_day(
    client: AsyncClient,
    approved: World,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Looking back from December: the urging notice of 26 September was yellow that day and red
    on the 29th; as of the 25th it had not been issued."""
    await days(sessions, date(2018, 9, 26), date(2018, 9, 26))
    about = {"subject_id": str(approved.projects["A"].id), "period": "2018-09", "kind": "urging"}

    async def colours(as_of: str) -> list[str | None]:
        with clock.use_clock(at("2018-12-03 10:00")):
            r = await client.get(
                "/api/v1/notices", params={**about, "as_of": as_of}, headers=approved.auth("a_reporter")
            )
        assert r.status_code == 200, r.text
        return [n["colour"] for n in r.json()["data"]]

    assert await colours("2018-09-25") == []
    assert await colours("2018-09-26") == ["yellow"]
    assert await colours("2018-09-29T09:00:00+08:00") == ["red"]
    with clock.use_clock(at("2018-12-03 10:00")):
        bad = await client.get(
            "/api/v1/notices", params={"as_of": "yesterday"}, headers=approved.auth("a_reporter")
        )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "as_of"]
