"""The bandit's loop on the emulators: BigQuery rewards -> router/stats in Firestore -> Thompson router."""

from __future__ import annotations

import dataclasses

from jobs.refresh_router_stats import refresh
from shared import app, ids, timeutil
from shared.bandit import ArmStats, ThompsonRouter
from shared.stores import RouterStatsStore
from shared.events import FeedbackEvent
from tests.support import selection_log


def test_refreshed_stats_reach_the_thompson_router(settings, clients, unique):
    good, bad = f"good_{unique}", f"bad_{unique}"
    selections, feedback = [], []
    for algorithm, rewards in ((good, [1, 1, 1, 0.5]), (bad, [-1, -1, 0])):
        for reward in rewards:
            log = selection_log(algorithm=algorithm, user_id=unique)
            selections.append(log)
            feedback.append(
                FeedbackEvent(ids.new_message_id(), log.message_id, unique, float(reward), "explicit", timeutil.iso(timeutil.now()))
            )
    # A duplicate that slipped past insert-id de-duplication must not count twice.
    duplicate = dataclasses.replace(feedback[0])
    assert not clients.bigquery.insert_rows_json(settings.selections_table_id, [s.to_row() for s in selections])
    assert not clients.bigquery.insert_rows_json(settings.feedback_table_id, [f.to_row() for f in [*feedback, duplicate]])

    stats = refresh(clients.bigquery, clients.firestore, f"{settings.project}.{settings.bigquery_dataset}")
    assert stats[good] == ArmStats(4, 3.75)
    assert stats[bad] == ArmStats(3, 0.5)
    assert RouterStatsStore(clients.firestore).get()[good] == ArmStats(4, 3.75)

    router = app.make_router(
        dataclasses.replace(settings, router="thompson", algorithm_weights=f"{good}:1,{bad}:1", router_seed=1),
        clients,
        known=[good, bad],
    )
    assert isinstance(router, ThompsonRouter)
    propensities = router.propensities()
    assert propensities[good] > 0.8 and propensities[bad] >= settings.router_min_propensity
    choice = router.choose()
    assert choice.propensity == propensities[choice.algorithm]


def test_ratings_by_anyone_but_the_answered_user_are_ignored(settings, clients, unique):
    """User B rating user A's replies (however often, however late) changes nothing in rewards."""
    arm = f"arm_{unique}"
    logs = [selection_log(algorithm=arm, user_id=f"a{unique}") for _ in range(2)]
    earlier = timeutil.iso(timeutil.now())
    owners = [FeedbackEvent(ids.new_message_id(), log.message_id, f"a{unique}", 1.0, "explicit", earlier) for log in logs]
    later = timeutil.iso(timeutil.now() + __import__("datetime").timedelta(minutes=5))
    intruders = [
        FeedbackEvent(ids.new_message_id(), log.message_id, f"b{unique}", -1.0, "explicit", later) for log in logs
    ] + [FeedbackEvent(ids.new_message_id(), ids.new_message_id(), f"b{unique}", -1.0, "explicit", later)]
    assert not clients.bigquery.insert_rows_json(settings.selections_table_id, [s.to_row() for s in logs])
    assert not clients.bigquery.insert_rows_json(settings.feedback_table_id, [f.to_row() for f in owners + intruders])

    stats = refresh(clients.bigquery, clients.firestore, f"{settings.project}.{settings.bigquery_dataset}")
    assert stats[arm] == ArmStats(2, 2.0)
