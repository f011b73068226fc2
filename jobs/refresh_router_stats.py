"""Refresh the Thompson router's statistics: BigQuery -> Firestore ``router/stats``.

    python -m jobs.refresh_router_stats --env .run/stack.env

Run it periodically (Cloud Scheduler -> Cloud Run job in production; ``make
router-stats`` locally). Ingress reads the document through a TTL cache, so a
refresh reaches routing within ``ROUTER_STATS_TTL_S``.
"""

from __future__ import annotations

import argparse
import sys

from jobs import ENV_HELP, connect
from shared import sql
from shared.bandit import ArmStats
from shared.stores import RouterStatsStore


def read_stats(bigquery_client, dataset: str) -> dict[str, ArmStats]:
    """Per-algorithm rated replies and reward successes, from the de-duplicated tables."""
    rows = bigquery_client.query(sql.render("router_stats", dataset)).result()
    return {row["algorithm"]: ArmStats(int(row["rated"]), float(row["successes"] or 0.0)) for row in rows}


def refresh(bigquery_client, db, dataset: str) -> dict[str, ArmStats]:
    stats = read_stats(bigquery_client, dataset)
    RouterStatsStore(db).put(stats)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", help=ENV_HELP)
    args = parser.parse_args(argv)
    settings, clients = connect(args.env)
    stats = refresh(clients.bigquery, clients.firestore, f"{settings.project}.{settings.bigquery_dataset}")
    for name, arm in sorted(stats.items()):
        print(f"{name:<12} rated {arm.rated:>6}  mean reward {2 * arm.successes / max(arm.rated, 1) - 1:+.3f}")
    if not stats:
        print("no rated replies yet: the router keeps its uniform priors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
