"""A local stand-in for the Cloud Run Admin API's job executions, on loopback.

No emulator exists for Cloud Run, so this answers the two REST calls the
official client (google-cloud-run's ``JobsClient``, REST transport) makes to
execute a job and watch it, and runs the execution's tasks as processes of
this checkout, as Cloud Run would run containers of the batch image:

- ``POST /v2/projects/P/locations/R/jobs/J:run`` with ``overrides``
  (``taskCount``, ``containerOverrides[0].args``): starts ``python <args>``
  once per task (at most the job's parallelism at a time), each with Cloud
  Run's task variables (``CLOUD_RUN_TASK_INDEX`` ...), retrying a failed task
  up to the job's ``max_retries``; answers the long-running operation;
- ``GET /v2/projects/P/locations/R/operations/ID``: done once every task has
  ended, its response the execution with its succeeded and failed counts.

The jobs it knows are the ones ``make deploy`` creates (infra/deploy.py
``BATCH_JOBS``), with the same default arguments. Every run is recorded.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

from infra.deploy import BATCH_JOBS, BatchJob
from infra.local.json_handler import JsonRequestHandler
from jobs.workers import stop_processes

REPO = Path(__file__).resolve().parents[2]
RUN = re.compile(r"^/v2/projects/([^/]+)/locations/([^/]+)/jobs/([^/:]+):run$")
OPERATION = re.compile(r"^/v2/(projects/[^/]+/locations/[^/]+/operations/[^/]+)$")
EXECUTION_TYPE = "type.googleapis.com/google.cloud.run.v2.Execution"


@dataclass
class Execution:
    name: str
    job: BatchJob
    args: list[str]
    task_count: int
    env: dict[str, str]
    log_dir: Path | None
    succeeded: int = 0
    failed: int = 0
    processes: list[subprocess.Popen] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Every task, ``job.max_parallelism`` at a time."""
        slots = threading.Semaphore(self.job.max_parallelism)
        lock = threading.Lock()

        def task(index: int) -> None:
            with slots:
                for attempt in range(self.job.max_retries + 1):
                    if self.stopping.is_set():
                        break
                    if self._attempt(index, attempt, lock) == 0:
                        with lock:
                            self.succeeded += 1
                        return
            with lock:
                self.failed += 1

        threads = [threading.Thread(target=task, args=(i,), daemon=True) for i in range(self.task_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.finished.set()

    def _attempt(self, index: int, attempt: int, lock: threading.Lock) -> int:
        short = self.name.rsplit("/", 1)[-1]
        output = open(self.log_dir / f"{short}-{index}-{attempt}.log", "ab") if self.log_dir else subprocess.DEVNULL
        task_env = {
            "CLOUD_RUN_JOB": self.job.name,
            "CLOUD_RUN_EXECUTION": short,
            "CLOUD_RUN_TASK_INDEX": str(index),
            "CLOUD_RUN_TASK_ATTEMPT": str(attempt),
            "CLOUD_RUN_TASK_COUNT": str(self.task_count),
        }
        process = subprocess.Popen(
            [sys.executable, *self.args],
            cwd=REPO,
            env={**self.env, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **task_env},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        with lock:
            self.processes.append(process)
        return process.wait()

    def stop(self) -> None:
        self.stopping.set()
        stop_processes(self.processes)

    def resource(self) -> dict:
        return {
            "@type": EXECUTION_TYPE,
            "name": self.name,
            "job": self.job.name,
            "taskCount": self.task_count,
            "parallelism": self.job.max_parallelism,
            "succeededCount": self.succeeded,
            "failedCount": self.failed,
        }


class RunJobsServer:
    def __init__(self, port: int, env: dict[str, str] | None = None, log_dir: Path | None = None,
                 jobs: tuple[BatchJob, ...] = BATCH_JOBS) -> None:
        self.port = port
        self.env = dict(os.environ if env is None else env)
        self.log_dir = log_dir
        self.jobs = {job.name: job for job in jobs}
        self.runs: list[dict] = []  # the request bodies, in order
        self.operations: dict[str, Execution] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "RunJobsServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        for execution in self.operations.values():
            execution.stop()
        self._server.shutdown()
        self._server.server_close()

    def run_job(self, project: str, region: str, job_name: str, body: dict) -> tuple[int, dict]:
        job = self.jobs.get(job_name)
        if job is None:
            return 404, {"error": {"code": 404, "message": f"job {job_name} not found", "status": "NOT_FOUND"}}
        overrides = body.get("overrides", {})
        task_count = int(overrides.get("taskCount", 1))
        containers = overrides.get("containerOverrides") or [{}]
        args = containers[0].get("args") or list(job.command_args)
        suffix = uuid.uuid4().hex[:5]
        execution = Execution(
            f"projects/{project}/locations/{region}/jobs/{job_name}/executions/{job_name}-{suffix}",
            job, args, task_count, self.env, self.log_dir,
        )
        operation = f"projects/{project}/locations/{region}/operations/{uuid.uuid4()}"
        with self._lock:
            self.runs.append({"job": job_name, **body})
            self.operations[operation] = execution
        threading.Thread(target=execution.run, daemon=True).start()
        return 200, self._operation(operation, execution)

    def operation(self, name: str) -> tuple[int, dict]:
        execution = self.operations.get(name)
        if execution is None:
            return 404, {"error": {"code": 404, "message": f"{name} not found", "status": "NOT_FOUND"}}
        return 200, self._operation(name, execution)

    @staticmethod
    def _operation(name: str, execution: Execution) -> dict:
        answer = {"name": name, "metadata": execution.resource(), "done": execution.finished.is_set()}
        if answer["done"]:
            answer["response"] = execution.resource()
        return answer

    def _handler(self):
        server = self

        class Handler(JsonRequestHandler):
            def do_POST(self) -> None:
                path = self.path.split("?", 1)[0]
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if match := RUN.match(path):
                    self._answer(*server.run_job(*match.groups(), body))
                else:
                    self._answer(404, {"error": {"code": 404, "message": f"no route {path}", "status": "NOT_FOUND"}})

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if match := OPERATION.match(path):
                    self._answer(*server.operation(match.group(1)))
                else:
                    self._answer(404, {"error": {"code": 404, "message": f"no route {path}", "status": "NOT_FOUND"}})

        return Handler
