"""Per-algorithm report from BigQuery: traffic share, mean reward, latency; and a PNG chart.

    python -m jobs.report --env .run/stack.env --chart .run/report.png

Reads the de-duplicating views (``selections_dedup``, ``feedback_dedup``)
through ``shared/sql/report.sql``, so a row delivered twice counts once.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from jobs import ENV_HELP, connect
from shared import sql


@dataclass(frozen=True)
class AlgorithmReport:
    algorithm: str
    replies: int
    traffic_share: float
    rated: int
    mean_reward: float | None
    reward_ci95: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None


def run_report(bigquery_client, dataset: str, user_id: str | None = None) -> list[AlgorithmReport]:
    """``dataset`` is fully qualified: ``project.dataset``; ``user_id`` narrows it to one user."""
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(query_parameters=[bigquery.ScalarQueryParameter("user_id", "STRING", user_id)])
    rows = bigquery_client.query(sql.render("report", dataset), job_config=config).result()
    return [AlgorithmReport(**{k: row[k] for k in AlgorithmReport.__dataclass_fields__}) for row in rows]


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render_table(reports: list[AlgorithmReport]) -> str:
    header = f"{'algorithm':<12}{'replies':>8}{'share':>8}{'rated':>7}{'reward':>16}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
    lines = [header, "-" * len(header)]
    for r in reports:
        reward = "-" if r.mean_reward is None else f"{r.mean_reward:+.3f} ± {_number(r.reward_ci95, '.3f')}"
        lines.append(
            f"{r.algorithm:<12}{r.replies:>8}{r.traffic_share:>8.1%}{r.rated:>7}{reward:>16}"
            f"{_number(r.p50_ms, '.0f'):>9}{_number(r.p90_ms, '.0f'):>9}{_number(r.p99_ms, '.0f'):>9}"
        )
    if not reports:
        lines.append("(no selections yet)")
    return "\n".join(lines)


def write_chart(reports: list[AlgorithmReport], path: Path | str) -> Path:
    """Three panels: traffic share, mean reward with its 95% interval, latency percentiles."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    names = [r.algorithm for r in reports]
    positions = range(len(reports))
    figure, (share, reward, latency) = plt.subplots(1, 3, figsize=(12, 4))
    share.bar(names, [r.traffic_share for r in reports], color="tab:blue")
    share.set_title("traffic share")
    share.set_ylim(0, 1)
    reward.bar(
        names,
        [r.mean_reward or 0.0 for r in reports],
        yerr=[r.reward_ci95 or 0.0 for r in reports],
        capsize=6,
        color="tab:green",
    )
    reward.set_title("mean reward (95% CI)")
    reward.set_ylim(-1, 1)
    reward.axhline(0, color="grey", linewidth=0.8)
    width = 0.25
    for offset, (label, values) in enumerate(
        (("p50", [r.p50_ms for r in reports]), ("p90", [r.p90_ms for r in reports]), ("p99", [r.p99_ms for r in reports]))
    ):
        latency.bar([p + (offset - 1) * width for p in positions], [v or 0.0 for v in values], width, label=label)
    latency.set_xticks(list(positions), names)
    latency.set_title("latency (ms)")
    latency.legend()
    figure.suptitle(f"zatsudan: {sum(r.replies for r in reports)} replies")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", help=ENV_HELP)
    parser.add_argument("--chart", default="report.png", help="where to write the PNG chart")
    parser.add_argument("--user", help="only this user's replies")
    args = parser.parse_args(argv)
    settings, clients = connect(args.env)
    reports = run_report(clients.bigquery, f"{settings.project}.{settings.bigquery_dataset}", args.user)
    print(render_table(reports))
    print(f"chart: {write_chart(reports, args.chart)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
