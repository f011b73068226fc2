"""The deploy step offline: the dry run's commands, the bundles they ship,
and gcloud's own acceptance of every command.

How gcloud is checked offline (gcloud 528): ``gcloud ... --help`` ignores the
other flags, so it proves nothing. Instead each printed command runs for real
against tests/infra/fake_gcloud_api.py: a fresh gcloud configuration with a
dummy access token and every API endpoint it calls overridden to a loopback
fake. gcloud then parses the flags (an unknown flag or bad value exits 2
before any request), validates the source directory (a python311 source
needs requirements.txt), zips and uploads it, and sends the create request,
which the fake records and refuses. The test compares that recorded
Function resource (memory, CPU, concurrency, instances, timeout, service
accounts, environment, secrets, entry point, runtime) with the plan, so a
flag gcloud accepted but read differently would also fail.
"""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from infra import deploy
from infra.terraform_model import TerraformModel
from tests.conftest import TEST_PORT_BASE
from tests.infra.fake_gcloud_api import FakeGoogleApis

REPO = Path(__file__).resolve().parents[2]
PROJECT, REGION = "p", "asia-northeast1"
FAKE_API_PORT = TEST_PORT_BASE + 280
# Never in a function bundle: tests, local tooling, the demo corpus.
NOT_SHIPPED = {"pytest", "pytest-timeout", "requests", "chatterbot-corpus", "pyyaml", "python-hcl2", "playwright"}


def run_dry_run(build_dir: Path, terraform_dir: Path) -> list[list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "infra.deploy", f"--project={PROJECT}", f"--region={REGION}", "--dry-run",
         f"--build-dir={build_dir}", f"--terraform-dir={terraform_dir}"],
        cwd=REPO, capture_output=True, text=True, check=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )  # fmt: skip
    return [shlex.split(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    build_dir = tmp_path_factory.mktemp("build")
    no_state = tmp_path_factory.mktemp("terraform-without-state")
    return build_dir, run_dry_run(build_dir, no_state)


def flags(command: list[str]) -> dict[str, str]:
    parsed = {}
    for word in command:
        if word.startswith("--"):
            name, _, value = word[2:].partition("=")
            parsed[name] = value
    return parsed


def deploys(commands) -> dict[str, list[str]]:
    return {c[3]: c for c in commands if c[:3] == ["gcloud", "functions", "deploy"]}


def expected_env() -> dict[str, str]:
    model = TerraformModel.load(overrides={"project": PROJECT, "region": REGION})
    return model.resolve(model.outputs["function_env"])


def test_make_deploy_dry_run_prints_a_command_per_step():
    done = subprocess.run(
        ["make", "-s", "deploy", "DRY_RUN=1", f"PROJECT={PROJECT}", f"REGION={REGION}"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("gcloud ")]
    # functions and their invoker bindings; the batch image; its jobs (no
    # router-stats job with the default weighted router)
    batch = [j for j in deploy.BATCH_JOBS if j.name != "router-stats"]
    assert len(lines) == len(deploy.FUNCTIONS) + sum(not f.public for f in deploy.FUNCTIONS) + 1 + len(batch)
    assert [line.split()[4] for line in lines if line.startswith("gcloud run jobs deploy ")] == [j.name for j in batch]


def test_every_function_is_deployed_once_as_gen2_http(dry_run):
    _, commands = dry_run
    deployed = deploys(commands)
    assert sorted(deployed) == sorted(f.name for f in deploy.FUNCTIONS)
    for function in deploy.FUNCTIONS:
        given = flags(deployed[function.name])
        assert {"gen2", "trigger-http", "quiet"} <= set(given)
        assert given["project"] == PROJECT and given["region"] == REGION
        assert given["runtime"] == "python311"
        assert given["entry-point"] == function.entry_point
        assert given["service-account"] == f"zatsudan-{function.name}@{PROJECT}.iam.gserviceaccount.com"
        assert ("allow-unauthenticated" in given) is function.public
        assert ("no-allow-unauthenticated" in given) is not function.public


def test_private_functions_are_invoked_only_by_the_push_identity(dry_run):
    _, commands = dry_run
    bindings = {c[3]: flags(c) for c in commands if c[:3] == ["gcloud", "functions", "add-invoker-policy-binding"]}
    assert sorted(bindings) == sorted(f.name for f in deploy.FUNCTIONS if not f.public)
    for given in bindings.values():
        assert given["member"] == f"serviceAccount:zatsudan-pusher@{PROJECT}.iam.gserviceaccount.com"
    last_deploy = max(i for i, c in enumerate(commands) if c[2] == "deploy")
    first_binding = min(i for i, c in enumerate(commands) if c[2] == "add-invoker-policy-binding")
    assert last_deploy < first_binding, "bindings need the functions to exist"


# Each function's secrets, mounted from Secret Manager (never in the environment file).
SECRETS = {
    "ingress": {"LINE_CHANNEL_SECRET": "line-channel-secret", "WEBHOOK_SECRET": "webhook-key"},
    "delivery": {"CALLBACK_SECRET": "callback-signing-key", "LINE_CHANNEL_ACCESS_TOKEN": "line-channel-access-token"},
}


def test_environment_is_terraforms_and_the_keys_are_secrets(dry_run):
    _, commands = dry_run
    for name, command in deploys(commands).items():
        given = flags(command)
        assert json.loads(Path(given["env-vars-file"]).read_text()) == expected_env()
        mounted = SECRETS.get(name, {})
        assert given.get("set-secrets") == (",".join(f"{v}={s}:latest" for v, s in sorted(mounted.items())) or None)


def test_the_dry_run_deploys_the_readmes_reply_store_and_the_whole_configuration(dry_run):
    """README, variables.tf and `make deploy` agree on production's reply store,
    and the settings the functions read reach them (rate limit, delivery attempts)."""
    import re

    from shared.messaging import topology

    _, commands = dry_run
    stated = re.search(r"\*\*Production runs `REPLY_STORE=(\w+)`\.\*\*", (REPO / "README.md").read_text()).group(1)
    for command in deploys(commands).values():
        env = json.loads(Path(flags(command)["env-vars-file"]).read_text())
        assert env["REPLY_STORE"] == stated == "rtdb"
        assert int(env["RATE_LIMIT_PER_MINUTE"]) > 0
        assert env["MAX_DELIVERY_ATTEMPTS"] == str(topology.MAX_DELIVERY_ATTEMPTS)
        assert env["MODEL_STORE"] == f"gs://{PROJECT}-zatsudan-models/models"


def batch_deploys(commands) -> dict[str, list[str]]:
    return {c[4]: c for c in commands if c[:4] == ["gcloud", "run", "jobs", "deploy"]}


def test_the_batch_image_is_built_from_its_bundle_and_every_job_runs_it(dry_run):
    build_dir, commands = dry_run
    (build,) = [c for c in commands if c[:3] == ["gcloud", "builds", "submit"]]
    image = f"{REGION}-docker.pkg.dev/{PROJECT}/zatsudan/batch:latest"
    assert Path(build[3]) == build_dir / "batch" and flags(build)["tag"] == image
    bundle = build_dir / "batch"
    assert {p.name for p in bundle.iterdir()} == {"Dockerfile", "requirements.txt", "requirements-data.txt", "shared", "jobs", ".gcloudignore"}
    shipped = {deploy._canonical(line.split("==")[0]) for line in (bundle / "requirements.txt").read_text().split()}
    assert {"tensorflow-cpu", "google-cloud-storage", "google-cloud-pubsub", "sudachipy"} <= shipped
    assert not shipped & {"pytest", "playwright", "functions-framework", "gcp-storage-emulator"}
    accounts = {"corpus-worker": "zatsudan-corpus", "train-worker": "zatsudan-trainer"}
    assert sorted(batch_deploys(commands)) == sorted(accounts)
    for name, command in batch_deploys(commands).items():
        given = flags(command)
        job = next(j for j in deploy.BATCH_JOBS if j.name == name)
        assert given["image"] == image and given["command"] == "python"
        assert given["args"].split(",") == job.command_args
        assert given["service-account"] == f"{accounts[name]}@{PROJECT}.iam.gserviceaccount.com"
        assert json.loads(Path(given["env-vars-file"]).read_text()) == expected_env()


def test_the_thompson_router_adds_the_router_stats_job_its_schedule_and_nothing_else_may_run_it(tmp_path):
    import dataclasses

    infra = dataclasses.replace(
        deploy.Infra.from_outputs(deploy.outputs_from_configuration(PROJECT, REGION)), router="thompson"
    )
    commands = deploy.plan(infra, tmp_path)
    assert "router-stats" in batch_deploys(commands)
    (binding,) = [c for c in commands if c[:4] == ["gcloud", "run", "jobs", "add-iam-policy-binding"]]
    assert binding[4] == "router-stats"
    assert flags(binding)["member"] == f"serviceAccount:zatsudan-scheduler@{PROJECT}.iam.gserviceaccount.com"
    model = TerraformModel.load(overrides={"project": PROJECT, "region": REGION, "router": "thompson"})
    (schedule,) = model.instances("google_cloud_scheduler_job", "router_stats")
    target = schedule.body["http_target"][0]
    assert model.resolve(target["uri"]) == f"https://run.googleapis.com/v2/projects/{PROJECT}/locations/{REGION}/jobs/router-stats:run"
    weighted = TerraformModel.load(overrides={"project": PROJECT, "region": REGION})
    assert weighted.instances("google_cloud_scheduler_job", "router_stats") == []


def test_bundles_are_self_contained_and_trimmed(dry_run):
    _, commands = dry_run
    pins = deploy.pinned_requirements()
    shared_files = {p.relative_to(REPO / "shared") for p in (REPO / "shared").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    for function in deploy.FUNCTIONS:
        bundle = Path(flags(deploys(commands)[function.name])["source"])
        assert (bundle / "main.py").read_text() == (REPO / "functions" / function.source / "main.py").read_text()
        assert {p.relative_to(bundle / "shared") for p in (bundle / "shared").rglob("*") if p.is_file()} == shared_files
        lines = (bundle / "requirements.txt").read_text().split()
        assert all(line in pins.values() for line in lines), "pinned as in requirements.txt"
        assert not {deploy._canonical(line.split("==")[0]) for line in lines} & NOT_SHIPPED


# Which heavy clients each function may carry: the scorer no BigQuery, the
# log sink no Japanese dictionary and no Firebase, ingress neither.
CARRIES = [
    ("ingress", {"firebase-admin", "google-cloud-firestore"}, {"google-cloud-bigquery", "sudachipy", "sudachidict-core"}),
    ("scorer", {"google-cloud-firestore", "firebase-admin", "sudachipy", "sudachidict-core"}, {"google-cloud-bigquery"}),
    ("log-sink", {"google-cloud-bigquery", "google-cloud-firestore"}, {"sudachipy", "sudachidict-core", "firebase-admin"}),
]


@pytest.mark.parametrize("name,must,must_not", CARRIES)
def test_each_function_carries_only_its_clients(name, must, must_not):
    function = next(f for f in deploy.FUNCTIONS if f.name == name)
    carried = {deploy._canonical(line.split("==")[0]) for line in deploy.requirements_for(function)}
    assert must <= carried and not carried & must_not


# -- gcloud's own parsing and request building ------------------------------


@pytest.fixture(scope="module")
def gcloud_runs(dry_run, tmp_path_factory):
    """Every dry-run command, plus one with an unknown flag, run by gcloud
    against the fake APIs (concurrently: gcloud takes seconds to start)."""
    _, commands = dry_run
    bogus = commands[0] + ["--no-such-flag=1"]
    token = tmp_path_factory.mktemp("token") / "token"
    token.write_text("fake-token\n")
    fake = FakeGoogleApis(FAKE_API_PORT).start()

    def run(command):
        env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(token.parent)}
        env.update(fake.gcloud_env(str(tmp_path_factory.mktemp("gcloud-config")), str(token)))
        return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)

    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(run, commands + [bogus]))
        yield fake, dict(zip(map(tuple, commands), results)), results[-1]
    finally:
        fake.stop()


@pytest.mark.slow
def test_gcloud_rejects_an_unknown_flag(gcloud_runs):
    _, _, bogus = gcloud_runs
    assert bogus.returncode == 2 and "unrecognized arguments: --no-such-flag=1" in bogus.stderr


@pytest.mark.slow
def test_gcloud_accepts_every_command(gcloud_runs):
    _, results, _ = gcloud_runs
    for command, result in results.items():
        assert result.returncode != 2, f"{shlex.join(command)}\n{result.stderr}"
        assert "unrecognized arguments" not in result.stderr and "Invalid value" not in result.stderr, result.stderr
        assert "fake API" in result.stderr, f"gcloud stopped before calling the API: {result.stderr}"


@pytest.mark.slow
def test_gcloud_builds_the_planned_function(gcloud_runs):
    fake, _, _ = gcloud_runs
    env = expected_env()
    for function in deploy.FUNCTIONS:
        created = fake.recorded("POST", f"/functions?alt=json&functionId={function.name}")
        assert len(created) == 1, f"no create request for {function.name}"
        body = created[0].json()
        build, service = body["buildConfig"], body["serviceConfig"]
        assert body["name"] == f"projects/{PROJECT}/locations/{REGION}/functions/{function.name}"
        assert build["runtime"] == "python311" and build["entryPoint"] == function.entry_point
        assert build["serviceAccount"] == f"projects/{PROJECT}/serviceAccounts/zatsudan-builder@{PROJECT}.iam.gserviceaccount.com"
        assert service["serviceAccountEmail"] == f"zatsudan-{function.name}@{PROJECT}.iam.gserviceaccount.com"
        assert service["availableMemory"] == function.memory
        assert service["availableCpu"] == function.cpu
        assert service["maxInstanceRequestConcurrency"] == function.concurrency
        assert service.get("minInstanceCount", 0) == function.min_instances
        assert service["maxInstanceCount"] == function.max_instances
        assert service["timeoutSeconds"] == function.timeout_s
        assert service["ingressSettings"] == "ALLOW_ALL"
        assert service["environmentVariables"] == env
        secrets = {s["key"]: s["secret"] for s in service.get("secretEnvironmentVariables", [])}
        assert secrets == SECRETS.get(function.name, {})
    uploads = fake.recorded("PUT", "/upload")
    assert len(uploads) == len(deploy.FUNCTIONS)
    for upload in uploads:  # the source gcloud zipped: the bundle, without caches
        names = zipfile.ZipFile(io.BytesIO(upload.body)).namelist()
        assert {"main.py", "requirements.txt", "shared/app.py", "shared/schemas/selections.json"} <= set(names)
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


@pytest.mark.slow
def test_gcloud_builds_the_planned_batch_jobs(gcloud_runs):
    fake, _, _ = gcloud_runs
    created = {r.json()["metadata"]["name"]: r.json() for r in fake.recorded("POST", "/apis/run.googleapis.com/v1/namespaces/p/jobs")}
    assert sorted(created) == ["corpus-worker", "train-worker"]
    for name, body in created.items():
        job = next(j for j in deploy.BATCH_JOBS if j.name == name)
        execution = body["spec"]["template"]["spec"]
        task = execution["template"]["spec"]
        (container,) = task["containers"]
        assert container["image"] == f"{REGION}-docker.pkg.dev/{PROJECT}/zatsudan/batch:latest"
        assert container["command"] == ["python"] and container["args"] == job.command_args
        assert {e["name"]: e.get("value", "") for e in container["env"]} == expected_env()
        assert execution["parallelism"] == job.max_parallelism and execution["taskCount"] == 1
        assert task["maxRetries"] == job.max_retries and task["timeoutSeconds"] == str(job.task_timeout_s)
