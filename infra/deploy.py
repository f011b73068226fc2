"""``make deploy``: build one source bundle per function and deploy it (gen2).

    python -m infra.deploy --project P --region R [--dry-run]

Each bundle (``.build/<function>/``) is self-contained: the function's
``main.py`` at the root, a copy of the ``shared/`` package, and a
``requirements.txt`` trimmed to what that function imports, pinned to the
versions in the repository's requirements.txt. The functions are HTTP
functions: ingress is public (webhook callers), scorer and log-sink accept
only the Pub/Sub push identity, whose subscriptions Terraform points at the
functions' URLs (infra/terraform/pubsub.tf).

The batch half: one container image (``.build/batch/``: ``shared/``,
``jobs/``, a Dockerfile and the pinned requirements) built by Cloud Build into
the Artifact Registry repository Terraform creates, and one Cloud Run job per
worker (``BATCH_JOBS``: the corpus pipeline's shard worker, the dual
encoder's trial worker, and the router-stats refresh that Cloud Scheduler
runs when ``router = "thompson"``), each as its own service account.

Names, service accounts and environment come from ``terraform output`` after
``terraform apply``; with ``--dry-run`` and no Terraform state, from the
Terraform configuration's defaults (the same values, read offline).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

REPO = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO / ".build"
RUNTIME = "python311"

# Imported by every function: main.py (functions_framework), shared.app ->
# shared.text (stopwordsiso), shared.stores (cachetools), shared.ids (ulid),
# shared.stores (google.api_core, via the Pub/Sub client), shared.logs
# (google-cloud-logging), shared.messaging (publisher, dead letters).
COMMON_REQUIREMENTS = (
    "functions-framework",
    "google-cloud-logging",
    "google-cloud-pubsub",
    "stopwordsiso",
    "cachetools",
    "python-ulid",
)


@dataclass(frozen=True)
class Function:
    name: str  # deployed name: a Cloud Run service name, so no underscore
    source: str  # functions/<source>/main.py
    requirements: tuple[str, ...]  # distribution names; pins come from requirements.txt
    memory: str
    concurrency: int
    max_instances: int
    timeout_s: int
    public: bool  # answers anyone (webhook callers) or only the push identity
    min_instances: int = 0  # zero cost at idle; raise to avoid cold starts
    cpu: str = "1"  # concurrency above 1 needs a whole CPU

    @property
    def entry_point(self) -> str:
        return self.source


FUNCTIONS = (
    # firebase-admin: Firebase ID tokens of app users (shared/auth.py);
    # Firestore: router/stats for ROUTER=thompson (shared/bandit.py);
    # line-bot-sdk: the LINE webhook's signature and events (shared/line_channel.py).
    Function(
        "ingress",
        "ingress",
        COMMON_REQUIREMENTS + ("firebase-admin", "google-cloud-firestore", "line-bot-sdk"),
        memory="512Mi",
        concurrency=80,
        max_instances=20,
        timeout_s=30,
        public=True,
    ),
    # Sudachi's dictionary is ~200 MB in memory; each event is CPU-bound
    # tokenising and ranking, so a few at a time per instance. firebase-admin:
    # replies in the Realtime Database (REPLY_STORE=rtdb).
    Function(
        "scorer",
        "scorer",
        COMMON_REQUIREMENTS + ("google-cloud-firestore", "firebase-admin", "SudachiPy", "sudachidict-core")
        # The dual encoder's TFLite export and its vectors (never TensorFlow).
        + ("ai-edge-litert", "numpy"),
        memory="1Gi",
        concurrency=8,
        max_instances=20,
        timeout_s=60,
        public=False,
    ),
    # Replies to callback URLs (signed with standardwebhooks; urllib3 connects
    # to the checked address) and to LINE (line-bot-sdk).
    Function(
        "delivery",
        "delivery",
        COMMON_REQUIREMENTS + ("google-cloud-firestore", "standardwebhooks", "urllib3", "line-bot-sdk"),
        memory="512Mi",
        concurrency=40,
        max_instances=10,
        timeout_s=60,
        public=False,
    ),
    Function(
        "log-sink",
        "log_sink",
        COMMON_REQUIREMENTS + ("google-cloud-firestore", "google-cloud-bigquery"),
        memory="512Mi",
        concurrency=40,
        max_instances=10,
        timeout_s=60,
        public=False,
    ),
)

@dataclass(frozen=True)
class BatchJob:
    """A Cloud Run job running ``python -m <module> <args>`` from the batch image."""

    name: str  # the Cloud Run job's name
    module: str
    args: tuple[str, ...]
    identity: str  # key of Terraform's batch_service_accounts output
    memory: str
    cpu: str
    task_timeout_s: int
    max_retries: int
    # Tasks of one execution: a worker per task. The job is created with
    # one; each run sets --tasks to the backlog (shards or trials waiting),
    # capped at max_parallelism (see docs/operations.md, "The batch half").
    max_parallelism: int

    @property
    def command_args(self) -> list[str]:
        return ["-m", self.module, *self.args]


BATCH_JOBS = (
    # A worker leases shard tasks and exits once the queue has been empty a minute.
    BatchJob("corpus-worker", "jobs.corpus", ("worker", "--idle-exit-s", "60"), "corpus",
             memory="1Gi", cpu="1", task_timeout_s=3600, max_retries=3, max_parallelism=8),
    # A worker leases one trial at a time; TensorFlow wants the memory.
    BatchJob("train-worker", "jobs.train.worker", ("--idle-exit-s", "60"), "trainer",
             memory="4Gi", cpu="2", task_timeout_s=6 * 3600, max_retries=3, max_parallelism=4),
    # BigQuery rewards -> Firestore router/stats; Cloud Scheduler runs it (router = "thompson").
    BatchJob("router-stats", "jobs.refresh_router_stats", (), "router-stats",
             memory="512Mi", cpu="1", task_timeout_s=600, max_retries=1, max_parallelism=1),
)  # fmt: skip
# The batch image carries every pinned runtime package but these (tests and
# local tooling; functions-framework serves only the functions).
BATCH_EXCLUDED = frozenset(
    _name for _name in (
        "functions-framework", "pytest", "pytest-timeout", "playwright", "hypothesis", "jsonschema",
        "gcp-storage-emulator", "python-hcl2", "matplotlib",
    )
)  # fmt: skip
BATCH_DOCKERFILE = """\
# The batch workers (infra/deploy.py BATCH_JOBS): python -m <module> ...
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY requirements.txt requirements-data.txt ./
RUN pip install --no-cache-dir -r requirements.txt \\
 && pip install --no-cache-dir --no-deps -r requirements-data.txt
COPY shared/ shared/
COPY jobs/ jobs/
ENTRYPOINT ["python"]
"""


# Never shipped: build and test leftovers.
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements(requirements_txt: Path = REPO / "requirements.txt") -> dict[str, str]:
    """Canonical distribution name -> its ``name==version`` line."""
    pins = {}
    for line in requirements_txt.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name = re.split(r"[=<>!~\[ ]", line, maxsplit=1)[0]
            pins[_canonical(name)] = line
    return pins


def requirements_for(function: Function, pins: Mapping[str, str] | None = None) -> list[str]:
    pins = pinned_requirements() if pins is None else pins
    missing = [name for name in function.requirements if _canonical(name) not in pins]
    if missing:
        raise ValueError(f"{function.name}: not pinned in requirements.txt: {missing}")
    return [pins[_canonical(name)] for name in function.requirements]


def build_bundle(function: Function, build_dir: Path = BUILD_DIR) -> Path:
    """``build_dir/<name>/``: main.py, shared/, requirements.txt. Rebuilt from scratch."""
    bundle = build_dir / function.name
    if bundle.exists():
        shutil.rmtree(bundle)
    bundle.mkdir(parents=True)
    shutil.copy2(REPO / "functions" / function.source / "main.py", bundle / "main.py")
    shutil.copytree(REPO / "shared", bundle / "shared", ignore=_IGNORED)
    (bundle / "requirements.txt").write_text("\n".join(requirements_for(function)) + "\n")
    (bundle / ".gcloudignore").write_text("__pycache__/\n*.pyc\n")
    return bundle


def batch_requirements(pins: Mapping[str, str] | None = None) -> list[str]:
    pins = pinned_requirements() if pins is None else pins
    excluded = {_canonical(name) for name in BATCH_EXCLUDED}
    return [line for name, line in pins.items() if name not in excluded]


def build_batch_bundle(build_dir: Path = BUILD_DIR) -> Path:
    """``build_dir/batch/``: what Cloud Build turns into the workers' image."""
    bundle = build_dir / "batch"
    if bundle.exists():
        shutil.rmtree(bundle)
    bundle.mkdir(parents=True)
    shutil.copytree(REPO / "shared", bundle / "shared", ignore=_IGNORED)
    shutil.copytree(REPO / "jobs", bundle / "jobs", ignore=_IGNORED)
    (bundle / "requirements.txt").write_text("\n".join(batch_requirements()) + "\n")
    shutil.copy2(REPO / "requirements-data.txt", bundle / "requirements-data.txt")
    (bundle / "Dockerfile").write_text(BATCH_DOCKERFILE)
    (bundle / ".gcloudignore").write_text("__pycache__/\n*.pyc\n")
    return bundle


# -- configuration from Terraform ------------------------------------------


@dataclass(frozen=True)
class Infra:
    """What the deploy step reads from Terraform's outputs."""

    project: str
    region: str
    function_service_accounts: Mapping[str, str]
    builder_service_account: str
    pusher_service_account: str
    function_env: Mapping[str, str]
    function_secrets: Mapping[str, Mapping[str, str]]
    batch_service_accounts: Mapping[str, str]
    batch_image: str
    router: str
    scheduler_service_account: str

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, object]) -> "Infra":
        return cls(**{name: outputs[name] for name in cls.__dataclass_fields__})


def terraform_outputs(terraform_dir: Path) -> dict[str, object]:
    """``terraform output -json`` as plain values; empty without state."""
    try:
        done = subprocess.run(
            ["terraform", f"-chdir={terraform_dir}", "output", "-json"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return {}
    if done.returncode != 0 or not done.stdout.strip():
        return {}
    return {name: output["value"] for name, output in json.loads(done.stdout).items()}


def outputs_from_configuration(project: str, region: str) -> dict[str, object]:
    """The outputs ``terraform apply`` would produce with default variables,
    read from the configuration itself (for dry runs before any apply)."""
    from infra.terraform_model import TerraformModel

    model = TerraformModel.load(overrides={"project": project, "region": region})
    account_ids = {name: f"zatsudan-{name}" for name in model.resolve(model.locals["functions"])}

    def email(account_id: str) -> str:
        return f"{account_id}@{project}.iam.gserviceaccount.com"

    return {
        "project": project,
        "region": region,
        "function_service_accounts": {name: email(account) for name, account in account_ids.items()},
        "builder_service_account": f"projects/{project}/serviceAccounts/{email('zatsudan-builder')}",
        "pusher_service_account": email("zatsudan-pusher"),
        "function_env": model.resolve(model.outputs["function_env"]),
        "function_secrets": model.resolve(model.outputs["function_secrets"]),
        "batch_service_accounts": {
            name: email(account) for name, account in model.resolve(model.locals["batch_accounts"]).items()
        },
        "batch_image": model.resolve(model.outputs["batch_image"]),
        "router": model.resolve(model.outputs["router"]),
        "scheduler_service_account": email("zatsudan-scheduler"),
    }


# -- gcloud commands ---------------------------------------------------------


def env_file(function: Function, infra: Infra, build_dir: Path = BUILD_DIR) -> Path:
    """The function's environment as a YAML file (JSON is YAML): values such
    as ALGORITHM_WEIGHTS contain commas, which --set-env-vars would split."""
    path = build_dir / f"{function.name}.env.yaml"
    path.write_text(json.dumps(dict(infra.function_env), indent=2, sort_keys=True) + "\n")
    return path


def deploy_command(function: Function, infra: Infra, source: Path, env_path: Path) -> list[str]:
    command = [
        "gcloud", "functions", "deploy", function.name,
        "--gen2",
        f"--project={infra.project}",
        f"--region={infra.region}",
        f"--runtime={RUNTIME}",
        f"--source={source}",
        f"--entry-point={function.entry_point}",
        "--trigger-http",
        "--allow-unauthenticated" if function.public else "--no-allow-unauthenticated",
        "--ingress-settings=all",
        f"--service-account={infra.function_service_accounts[function.name]}",
        f"--build-service-account={infra.builder_service_account}",
        f"--memory={function.memory}",
        f"--cpu={function.cpu}",
        f"--concurrency={function.concurrency}",
        f"--min-instances={function.min_instances}",
        f"--max-instances={function.max_instances}",
        f"--timeout={function.timeout_s}s",
        f"--env-vars-file={env_path}",
    ]  # fmt: skip
    secrets = infra.function_secrets.get(function.name, {})
    if secrets:
        command.append("--set-secrets=" + ",".join(f"{var}={secret}:latest" for var, secret in sorted(secrets.items())))
    command.append("--quiet")
    return command


def invoker_command(function: Function, infra: Infra) -> list[str]:
    """Lets Pub/Sub's push identity (and nothing else) call a private function."""
    return [
        "gcloud", "functions", "add-invoker-policy-binding", function.name,
        f"--project={infra.project}",
        f"--region={infra.region}",
        f"--member=serviceAccount:{infra.pusher_service_account}",
    ]  # fmt: skip


def batch_build_command(infra: Infra, source: Path) -> list[str]:
    """Cloud Build turns the batch bundle (its Dockerfile) into the workers' image."""
    return [
        "gcloud", "builds", "submit", str(source),
        f"--project={infra.project}",
        f"--region={infra.region}",
        f"--tag={infra.batch_image}",
        f"--service-account={infra.builder_service_account}",
        "--default-buckets-behavior=regional-user-owned-bucket",
        "--quiet",
    ]  # fmt: skip


def batch_job_command(job: BatchJob, infra: Infra, env_path: Path) -> list[str]:
    """Creates or updates the Cloud Run job (one task; each run sets --tasks)."""
    return [
        "gcloud", "run", "jobs", "deploy", job.name,
        f"--project={infra.project}",
        f"--region={infra.region}",
        f"--image={infra.batch_image}",
        "--command=python",
        "--args=" + ",".join(job.command_args),
        f"--service-account={infra.batch_service_accounts[job.identity]}",
        f"--memory={job.memory}",
        f"--cpu={job.cpu}",
        "--tasks=1",
        f"--parallelism={job.max_parallelism}",
        f"--max-retries={job.max_retries}",
        f"--task-timeout={job.task_timeout_s}s",
        f"--env-vars-file={env_path}",
        "--quiet",
    ]  # fmt: skip


def scheduler_command(infra: Infra) -> list[str]:
    """Lets Cloud Scheduler's identity (and nothing else) run the router-stats job."""
    return [
        "gcloud", "run", "jobs", "add-iam-policy-binding", "router-stats",
        f"--project={infra.project}",
        f"--region={infra.region}",
        f"--member=serviceAccount:{infra.scheduler_service_account}",
        "--role=roles/run.invoker",
        "--quiet",
    ]  # fmt: skip


def batch_jobs(infra: Infra) -> tuple[BatchJob, ...]:
    """The router-stats job exists only for the bandit router."""
    return tuple(job for job in BATCH_JOBS if job.name != "router-stats" or infra.router == "thompson")


def _shown(path: Path) -> Path:
    """Relative to the working directory when inside it: shorter commands."""
    relative = os.path.relpath(path)
    return Path(relative) if not relative.startswith("..") else path


def plan(infra: Infra, build_dir: Path = BUILD_DIR) -> list[list[str]]:
    """Builds every bundle and returns the gcloud commands, in order."""
    commands = []
    for function in FUNCTIONS:
        source = _shown(build_bundle(function, build_dir))
        env_path = _shown(env_file(function, infra, build_dir))
        commands.append(deploy_command(function, infra, source, env_path))
    commands.extend(invoker_command(function, infra) for function in FUNCTIONS if not function.public)
    # The batch half: the workers' image, then their jobs (Terraform gives
    # them identities, and Cloud Scheduler the router-stats runs).
    commands.append(batch_build_command(infra, _shown(build_batch_bundle(build_dir))))
    batch_env = build_dir / "batch.env.yaml"
    batch_env.write_text(json.dumps(dict(infra.function_env), indent=2, sort_keys=True) + "\n")
    jobs = batch_jobs(infra)
    commands.extend(batch_job_command(job, infra, _shown(batch_env)) for job in jobs)
    if any(job.name == "router-stats" for job in jobs):
        commands.append(scheduler_command(infra))
    return commands


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--dry-run", action="store_true", help="print the gcloud commands instead of running them")
    parser.add_argument("--terraform-dir", type=Path, default=REPO / "infra" / "terraform")
    parser.add_argument("--build-dir", type=Path, default=BUILD_DIR)
    args = parser.parse_args(argv)

    outputs = terraform_outputs(args.terraform_dir)
    if not outputs:
        if not args.dry_run:
            print(f"no Terraform outputs in {args.terraform_dir}: run `terraform apply` there first", file=sys.stderr)
            return 1
        print("# no Terraform state: values from the configuration's defaults", file=sys.stderr)
        outputs = outputs_from_configuration(args.project, args.region)
    infra = Infra.from_outputs(outputs)
    if (infra.project, infra.region) != (args.project, args.region):
        print(
            f"Terraform state is for project={infra.project} region={infra.region}, "
            f"not {args.project} {args.region}",
            file=sys.stderr,
        )
        return 1

    for command in plan(infra, args.build_dir):
        print(shlex.join(command), flush=True)
        if not args.dry_run:
            subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
