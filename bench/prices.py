"""Usage per utterance -> US dollars per million utterances, by bench/prices.toml.

The functions' sizes (vCPU, memory, concurrency) are the deployed ones, read
from ``infra.deploy.FUNCTIONS`` (what ``make deploy`` passes to gcloud).
Cloud Run CPU and memory are shown two ways, because what an instance is
billed for is its allocated size while it holds a request, not the CPU it
used:
- busy: instances kept busy, so billed instance time is the CPU time measured
  (the least it can cost);
- lone requests: every request alone on its instance, billed its CPU time
  but at least 100 ms (what sparse traffic costs).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from infra import deploy

PRICES_FILE = Path(__file__).with_name("prices.toml")
MILLION = 1_000_000
GB = 1e9
TIB = 2**40


def load_prices(path: Path = PRICES_FILE) -> dict:
    return tomllib.loads(path.read_text())


def memory_gib(size: str) -> float:
    """``512Mi`` / ``1Gi`` (gcloud's notation) -> GiB."""
    units = {"Mi": 1 / 1024, "Gi": 1.0}
    return float(size[:-2]) * units[size[-2:]]


@dataclass(frozen=True)
class FunctionSize:
    vcpu: float
    memory_gib: float
    concurrency: int


def deployed_sizes() -> dict[str, FunctionSize]:
    """Stack service name (``log_sink``) -> its deployed size."""
    return {f.source: FunctionSize(float(f.cpu), memory_gib(f.memory), f.concurrency) for f in deploy.FUNCTIONS}


@dataclass
class Usage:
    """One utterance's use of each billed thing (averages over a run)."""

    cpu_s: dict[str, float]  # function -> CPU seconds
    requests: dict[str, float]  # function -> requests
    firestore: dict[str, float]  # reads, writes, deletes, ttl_deletes
    pubsub_billed_bytes: float
    bigquery_billed_bytes: float
    rtdb_download_bytes: float = 0.0
    rtdb_stored_bytes: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


def cost_lines(usage: Usage, prices: dict, sizes: dict[str, FunctionSize] | None = None) -> list[tuple[str, float]]:
    """(what, US dollars per million utterances), the total last."""
    sizes = sizes or deployed_sizes()
    run, fs, ps, bq, rtdb = (prices[k] for k in ("cloud_run", "firestore", "pubsub", "bigquery", "rtdb"))

    def instance_cost(instance_s: float, size: FunctionSize) -> float:
        return instance_s * (size.vcpu * run["vcpu_second"] + size.memory_gib * run["gib_second"])

    busy = sum(instance_cost(cpu / sizes[name].vcpu, sizes[name]) for name, cpu in usage.cpu_s.items())
    lone = sum(
        requests * instance_cost(max(run["min_billed_s"], usage.cpu_s[name] / requests), sizes[name])
        for name, requests in usage.requests.items() if requests
    )
    lines = [
        ("Cloud Run CPU+memory, busy instances", busy * MILLION),
        ("Cloud Run CPU+memory, lone requests (>=100 ms)", lone * MILLION),
        ("Cloud Run requests", sum(usage.requests.values()) * run["per_million_requests"]),
        ("Firestore reads", usage.firestore.get("reads", 0) * MILLION / 1e5 * fs["per_100k_reads"]),
        ("Firestore writes", usage.firestore.get("writes", 0) * MILLION / 1e5 * fs["per_100k_writes"]),
        ("Firestore deletes (incl. later TTL deletes)",
         (usage.firestore.get("deletes", 0) + usage.firestore.get("ttl_deletes", 0)) * MILLION / 1e5 * fs["per_100k_deletes"]),
        ("Pub/Sub throughput", usage.pubsub_billed_bytes * MILLION / TIB * ps["per_tib"]),
        ("BigQuery streaming inserts", usage.bigquery_billed_bytes * MILLION / 200e6 * bq["streaming_per_200_mb"]),
        ("RTDB download", usage.rtdb_download_bytes * MILLION / GB * rtdb["gb_downloaded"]),
        ("RTDB storage, per month kept", usage.rtdb_stored_bytes * MILLION / GB * rtdb["gb_month_stored"]),
    ]
    rest = sum(value for _, value in lines[2:])
    return [*lines, ("total, busy instances", lines[0][1] + rest), ("total, lone requests", lines[1][1] + rest)]


def alternatives(prices: dict) -> list[tuple[str, float]]:
    """(managed service, list price per million text requests)."""
    alt = prices["alternatives"]
    found = [(a["name"], a["usd_per_request"] * MILLION) for a in alt["per_request"]]
    for a in alt["per_token"]:
        per_request = (alt["input_tokens_per_request"] * a["usd_per_million_input"]
                       + alt["output_tokens_per_request"] * a["usd_per_million_output"]) / MILLION
        found.append((f"{a['name']} ({alt['input_tokens_per_request']} in + {alt['output_tokens_per_request']} out tokens)",
                      per_request * MILLION))
    return sorted(found, key=lambda pair: pair[1])
