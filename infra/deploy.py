"""``make deploy``: build one source bundle per function and deploy it (gen2).

    python -m infra.deploy --project P --region R [--dry-run]

Each bundle (``.build/<function>/``) is self-contained: the function's
``main.py`` at the root, a copy of the ``shared/`` package, and a
``requirements.txt`` trimmed to what that function imports, pinned to the
versions in the repository's requirements.txt. The functions are HTTP
functions: ingress is public (webhook callers), scorer and log-sink accept
only the Pub/Sub push identity, whose subscriptions Terraform points at the
functions' URLs (infra/terraform/pubsub.tf).

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
# shared.scorer (google.api_core, via the Pub/Sub client), shared.logs
# (google-cloud-logging), shared.pubsub (publisher, dead letters).
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
    # Firestore: router/stats for ROUTER=thompson (shared/bandit.py).
    Function(
        "ingress",
        "ingress",
        COMMON_REQUIREMENTS + ("firebase-admin", "google-cloud-firestore"),
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
