"""A fresh scorer instance's cold start: process start to its first push answered.

    make bench-scorer-cold-start           (the stack of `make run`: corpus seeded, model published)
    PYTHONPATH=. .venv/bin/python bench/scorer_cold_start.py --env .run/stack.env [--runs 3]

Builds the scorer's deploy bundle afresh (``infra/deploy.py``), starts it
under functions-framework as the local stack does (only the bundle on the
path), and POSTs one push of a new Japanese utterance for the dual encoder
the moment the port accepts connections. Timed from just before the process
starts to the push's answer: imports, the Japanese dictionary (loaded by the
warm-up thread that starts with the worker), the clients, the published
model (loaded by the first ranking) and the reply. Also shown: when the port
opened, the process group's CPU seconds by the answer (on a loaded machine
the wall time stretches; the CPU time much less), and its peak memory. The stack's own scorer keeps
running; this instance answers only the push sent to it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

TARGET_S = 2.0
TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stack_env(env_file: Path) -> dict[str, str]:
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and not line.startswith("#"))
    store = env.get("MODEL_STORE", ".run/models")
    if "://" not in store and not os.path.isabs(store):
        env["MODEL_STORE"] = str(REPO / store)
    return env


def push_envelope(project: str) -> dict:
    from tests.support import utterance_event

    event = utterance_event(f"cold-{os.urandom(4).hex()}", "最近ラーメンにはまっています", "ja", "dual_encoder")
    message = {"data": base64.b64encode(event.to_json()).decode(), "messageId": "1",
               "attributes": {"message_id": event.message_id, "algorithm": event.algorithm}}
    return {"message": message, "subscription": f"projects/{project}/subscriptions/cold-start"}


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def one_start(bundle: Path, env: dict[str, str], log_path: Path) -> dict:
    import e2e_latency

    port = free_port()
    envelope = push_envelope(env["GOOGLE_CLOUD_PROJECT"])
    url = f"http://127.0.0.1:{port}/projects/{env['GOOGLE_CLOUD_PROJECT']}/topics/utterances"
    command = [str(REPO / ".venv/bin/functions-framework"), f"--source={bundle / 'main.py'}", "--target=scorer",
               "--host=127.0.0.1", f"--port={port}"]
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=bundle, env={**os.environ, **env, "PYTHONPATH": str(bundle), "PYTHONUNBUFFERED": "1"},
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    peak_kib = 0
    try:
        while not accepts(port):
            if process.poll() is not None or time.perf_counter() - started > TIMEOUT_S:
                raise RuntimeError(f"the scorer did not start; see {log_path}")
            time.sleep(0.01)
        listening = time.perf_counter() - started
        answer = requests.post(url, json=envelope, headers={"ce-id": "1", "ce-source": "//pubsub", "ce-type": "google.cloud.pubsub.topic.v1.messagePublished", "ce-specversion": "1.0"}, timeout=TIMEOUT_S)
        answered = time.perf_counter() - started
        cpu_s = e2e_latency.group_cpu_s(process.pid)
        peak_kib = sum(int(line.split()[1]) for proc, _ in e2e_latency.group_stats(process.pid)
                       for line in (proc / "status").read_text().splitlines() if line.startswith("VmHWM:"))
    finally:
        e2e_latency.stop_process_group(process)
    if answer.status_code >= 300:
        raise RuntimeError(f"the push was answered {answer.status_code}: {answer.text[:200]}; see {log_path}")
    return {"port_open_s": round(listening, 2), "first_push_answered_s": round(answered, 2), "cpu_s": round(cpu_s, 2),
            "peak_rss_mib": peak_kib // 1024}


def main(argv: list[str] | None = None) -> int:
    from infra import deploy

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", type=Path, default=REPO / ".run" / "stack.env")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    env = stack_env(args.env)
    with tempfile.TemporaryDirectory(prefix="scorer-cold-") as build_dir:
        bundle = deploy.build_bundle(next(f for f in deploy.FUNCTIONS if f.source == "scorer"), Path(build_dir))
        runs = [one_start(bundle, env, Path(build_dir) / f"scorer-{i}.log") for i in range(args.runs)]
    best = min(r["first_push_answered_s"] for r in runs)
    result = {"runs": runs, "best_s": best, "target_s": TARGET_S, "load_average": [round(x, 2) for x in os.getloadavg()]}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for r in runs:
            print(f"port open {r['port_open_s']:.2f} s, first push answered {r['first_push_answered_s']:.2f} s "
                  f"(CPU {r['cpu_s']:.2f} s), peak {r['peak_rss_mib']} MiB")
        print(f"best {best:.2f} s (target {TARGET_S:.0f} s); load average {' '.join(map(str, result['load_average']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
