"""Where batch workers run, and how many: one per task waiting, up to a cap.

A coordinator (``jobs.corpus run``, ``jobs.train.run``) publishes tasks, then
starts workers for them in one of two places behind one interface,
``start(count, args) -> Workers``:

- ``LocalProcesses``: ``python <args>`` processes on this machine (``make
  corpus``, ``make train``, the tests);
- ``CloudRunJob``: one execution of the Cloud Run job that ``make deploy``
  creates (infra/deploy.py ``BATCH_JOBS``), its task count and arguments
  overridden for the run, through the official client (google-cloud-run).

Either way a worker leases tasks from the queue until it is empty, so the
number started is the backlog capped by the job's parallelism
(``workers_for``). A worker that crashes is replaced: by Cloud Run's task
retries (the job's ``--max-retries``), or locally by the coordinator.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

REPO = Path(__file__).resolve().parents[1]


def workers_for(tasks_waiting: int, cap: int) -> int:
    """A worker per task waiting, at most ``cap`` (the job's parallelism)."""
    return max(0, min(tasks_waiting, cap))


class Workers(Protocol):
    def running(self) -> bool:
        """True while any of them may still take a task."""

    def stop(self) -> None:
        """Ends them, or lets them end on their own (idle exit)."""


class Launcher(Protocol):
    def start(self, count: int, args: Sequence[str]) -> Workers:
        """``count`` workers running ``python <args>``."""


# ----- on this machine ------------------------------------------------------
def stop_processes(processes: Sequence[subprocess.Popen], timeout_s: float = 20.0) -> None:
    """SIGTERM (a worker gives its lease back), then SIGKILL after ``timeout_s``."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout_s
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class LocalProcesses:
    processes: list[subprocess.Popen]

    def running(self) -> bool:
        return any(process.poll() is None for process in self.processes)

    def stop(self) -> None:
        stop_processes(self.processes)


@dataclass
class LocalLauncher:
    """Worker processes of this checkout, output in ``log_dir/<name_prefix>-<i>.log``."""

    log_dir: Path | None = None
    name_prefix: str = "worker"
    started: int = 0

    def start(self, count: int, args: Sequence[str]) -> LocalProcesses:
        processes = []
        for _ in range(count):
            name = f"{self.name_prefix}-{self.started}"
            self.started += 1
            output = open(self.log_dir / f"{name}.log", "ab") if self.log_dir else subprocess.DEVNULL
            processes.append(
                subprocess.Popen(
                    [sys.executable, *args, "--name", name],
                    cwd=REPO,
                    env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"},
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            )
        return LocalProcesses(processes)


# ----- a Cloud Run job ------------------------------------------------------
@dataclass
class CloudRunExecution:
    operation: object  # google.api_core.operation.Operation: done when every task has ended

    def running(self) -> bool:
        return not self.operation.done()

    def stop(self) -> None:
        """Nothing to do: each task exits once the queue has been empty a while
        (the job's ``--idle-exit-s``), and a new run's tasks wait in the queue."""


@dataclass
class CloudRunJob:
    """Executes ``projects/<project>/locations/<region>/jobs/<job>`` with a task per worker."""

    client: object  # google.cloud.run_v2.JobsClient
    project: str
    region: str
    job: str
    # Appended to every run's arguments: a task exits once the queue stays empty.
    idle_exit_s: float = 60.0

    @classmethod
    def connect(cls, project: str, region: str, job: str, api_endpoint: str | None = None) -> "CloudRunJob":
        """``api_endpoint`` (e.g. ``http://127.0.0.1:PORT``) points the client at
        a local stand-in (infra/local/run_jobs_server.py); None is Google's."""
        from google.cloud import run_v2

        if api_endpoint is None:
            return cls(run_v2.JobsClient(), project, region, job)
        from google.auth.credentials import AnonymousCredentials

        client = run_v2.JobsClient(
            transport="rest", client_options={"api_endpoint": api_endpoint}, credentials=AnonymousCredentials()
        )
        return cls(client, project, region, job)

    @property
    def name(self) -> str:
        return f"projects/{self.project}/locations/{self.region}/jobs/{self.job}"

    def start(self, count: int, args: Sequence[str]) -> CloudRunExecution:
        from google.cloud import run_v2

        overrides = run_v2.RunJobRequest.Overrides(
            task_count=count,
            # Replaces the job's arguments for this run only (the entrypoint is python).
            container_overrides=[
                run_v2.RunJobRequest.Overrides.ContainerOverride(args=[*args, "--idle-exit-s", f"{self.idle_exit_s:g}"])
            ],
        )
        return CloudRunExecution(self.client.run_job(request=run_v2.RunJobRequest(name=self.name, overrides=overrides)))


# ----- choosing one on the command line -------------------------------------
def add_launcher_arguments(parser: argparse.ArgumentParser, job: str) -> None:
    group = parser.add_argument_group("workers on Cloud Run (default: processes on this machine)")
    group.add_argument("--cloud-run-job", nargs="?", const=job, metavar="JOB",
                       help=f"start the workers as one execution of this Cloud Run job (default {job})")
    group.add_argument("--region", default=os.environ.get("GOOGLE_CLOUD_REGION"), help="the job's region")
    # A local stand-in for the Cloud Run Admin API (infra/local/run_jobs_server.py).
    group.add_argument("--run-api-endpoint", help=argparse.SUPPRESS)


def launcher_from_args(args: argparse.Namespace, project: str) -> CloudRunJob | None:
    """The Cloud Run job the arguments name, or None for local processes."""
    if not args.cloud_run_job:
        return None
    if not args.region:
        raise SystemExit("--cloud-run-job needs --region (or GOOGLE_CLOUD_REGION)")
    return CloudRunJob.connect(project, args.region, args.cloud_run_job, args.run_api_endpoint)
