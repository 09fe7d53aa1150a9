"""Each job and cron of a worker is registered with the timeout and tries it declares."""

from services.notifier.worker import bulk
from services.notifier.worker import create_worker as create_notifier
from services.ranker.worker import create_worker as create_ranker
from shared.models import NotifierInbox
from shared.queues import Job, Target
from shared.settings import NotifierSettings, RankerSettings
from shared.worker import JobSpec, Periodic, build_worker


async def _noop(ctx: dict) -> str:
    return "ok"


async def _sweep(ctx: dict) -> str:
    return "swept"


def test_jobs_and_crons_keep_their_own_timeouts_and_tries(notifier_settings: NotifierSettings) -> None:
    worker = build_worker(
        notifier_settings,
        target=Target.NOTIFIER,
        inbox=NotifierInbox,
        functions=[JobSpec(_noop, timeout=5, max_tries=2)],
        periodic=[Periodic(_sweep, 30, timeout=300)],
    )
    quick, sweep, reconcile = (
        worker.functions["_noop"],
        worker.functions["_sweep"],
        worker.functions["reconcile"],
    )
    assert (quick.timeout_s, quick.max_tries) == (5, 2)
    assert (sweep.timeout_s, sweep.max_tries) == (300, 1)  # a cron's next tick is its retry
    assert reconcile.timeout_s == notifier_settings.job_timeout_seconds
    # arq hands a crashed job on after the longest timeout + 10 s: the sweep's, here
    assert worker.in_progress_timeout_s == 310


def test_the_services_declare_every_job(
    notifier_settings: NotifierSettings, ranker_settings: RankerSettings
) -> None:
    notifier, ranker = create_notifier(notifier_settings), create_ranker(ranker_settings)
    lane = bulk(notifier_settings)
    assert set(notifier.functions) | {s.fn.__name__ for s in [*lane.functions, *lane.periodic]} == {
        "ping",
        "event",
        "notice_action",
        "issue_notice",
        "report_filed",
        "finding_rectified",
        "deliver_webhooks",
        "sweep_notices",
        "reconcile",
    }
    assert set(ranker.functions) == {"ping", "rank_round", "publish_assessment", "rank_unranked", "reconcile"}
    assert set(ranker.functions) >= {
        Job.RANK_ROUND.value,
        Job.PUBLISH_ASSESSMENT.value,
    }  # the api asks for these
    for worker in (notifier, ranker):
        assert all(f.timeout_s is not None for f in worker.functions.values())
