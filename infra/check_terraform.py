"""Drift check: what infra/terraform declares against what the code uses.

    python -m infra.check_terraform [terraform_dir]     (exit 1 on drift)

The code's side, and nothing else, is the source of truth:
- ``infra/local/topology.py``: topics (each with ``<topic>-dead`` and
  ``<topic>-dead-sub``, as the local stack makes them), push subscriptions
  (function, ordering, retry and dead-letter policy), pull subscriptions
  (lease, dead-letter policy), BigQuery tables with partitioning and
  clustering, views;
- ``shared/schemas/*.json``: one table per schema file, Terraform reading the
  same file; ``shared/sql/<view>.sql`` for the views in topology's
  BIGQUERY_VIEWS;
- ``shared/config.py``: the environment variables ``load()`` reads;
- ``infra/deploy.py``: the functions that are deployed;
- ``infra/firestore.rules``, ``infra/database.rules.json``: the security
  rules the tests check, deployed as they are.

Resources are read per instance (``for_each`` expanded, see
infra/terraform_model.py), so a name is checked wherever it is written: in a
resource or in a ``locals`` map the resource iterates. ``moved`` blocks must
lead from an address no longer declared to one that is.

Every check runs both ways: used but not declared, and declared but unused.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Iterable

from infra import deploy
from infra.local import topology
from infra.terraform_model import TERRAFORM_DIR, TerraformModel
from shared import config

REPO = Path(__file__).resolve().parents[1]
SCHEMAS_DIR = REPO / "shared" / "schemas"
SQL_DIR = REPO / "shared" / "sql"

# Variables config.load() reads that production does not set, and why.
LOCAL_ONLY_VARIABLES = {
    "GCP_PROJECT": "legacy alias of GOOGLE_CLOUD_PROJECT",
    "ROUTER_SEED": "reproducible routing in tests and benchmarks",
    "BIGQUERY_EMULATOR_HOST": "the local BigQuery stand-in",
    "FAULT_RATE": "fault injection, tests and make up only (shared/faults.py)",
    "FAULT_POINTS": "fault injection, tests and make up only",
    "FAULT_MATCH": "fault injection, tests and make up only",
    "FAULT_LIMIT": "fault injection, tests and make up only",
    "RATE_LIMIT_PER_MINUTE": "per-user limit at ingress; production runs the default (off) until one is chosen",
    "MAX_DELIVERY_ATTEMPTS": "equals the subscriptions' policy by default (topology); not set apart",
}
# Variables whose production value is a secret (mounted from Secret Manager)
# -> the one function that reads it.
SECRET_VARIABLES = {"WEBHOOK_SECRET": "ingress"}
# Settings production sets to other values than the code's defaults.
PRODUCTION_VALUES = {
    "project": "the project's id",
    "firebase_database_url": "the instance's URL (the default assumes us-central1)",
    "webhook_secret": "a secret",
    "model_store": "gs:// in the models bucket (locally a folder)",
}
# Rules files the code's tests check, which Terraform must deploy as they are.
RULES_FILES = {"google_firebaserules_ruleset.firestore": "firestore.rules", "terraform_data.rtdb_rules": "database.rules.json"}
# Firestore collections whose documents carry expire_at (shared/stores.py).
TTL_COLLECTIONS = {"decisions", "log_sink_ledger", "feedback_sink_ledger", "idempotency_keys", "webhook_signatures"}
# Dry-run stand-ins for the values only a real project has.
EXAMPLE = {"project": "example-project", "region": "asia-northeast1"}
# Variable values that change which resource instances exist (moved blocks may
# lead to an instance only one of them declares).
VARIANTS = [{"router": "thompson"}]


def config_variables(source: Path = REPO / "shared" / "config.py") -> set[str]:
    """Names ``load()`` reads: every ``env.get("NAME")`` in it."""
    tree = ast.parse(source.read_text())
    load = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "load")
    return {
        node.args[0].value
        for node in ast.walk(load)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "env"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def deployed_name(stack_service: str) -> str:
    """The stack's service name (``log_sink``) as deployed (``log-sink``)."""
    return stack_service.replace("_", "-")


def _compare(kind: str, used: Iterable[str], declared: Iterable[str]) -> list[str]:
    used, declared = set(used), set(declared)
    return [f"{kind} {name!r} is used by the code but not declared in Terraform" for name in sorted(used - declared)] + [
        f"{kind} {name!r} is declared in Terraform but the code does not use it" for name in sorted(declared - used)
    ]


def _single(blocks) -> dict:
    return blocks[0] if isinstance(blocks, list) and blocks else {}


class Checker:
    def __init__(self, model: TerraformModel, variants: Iterable[TerraformModel] = ()) -> None:
        self.model = model
        self.variants = list(variants)
        self.problems: list[str] = []

    def names(self, kind: str) -> dict[str, str]:
        """Resolved name -> resource address, for every instance of ``kind``."""
        names = {}
        for label, body in self.model.of_type(kind).items():
            naming = next((k for k in ("name", "table_id", "secret_id") if k in body), None)
            value = self.model.resolve(body[naming]) if naming else None
            if value is None:
                self.problems.append(f"{kind}.{label}: its name cannot be read offline")
            else:
                names[value] = label
        return names

    def referenced_name(self, raw) -> str | None:
        """The name of the resource ``raw`` refers to (None if it names one
        in plain text instead of referring to it)."""
        return self.model.resolve(raw) if self.model.reference(raw) else None

    def check(self) -> list[str]:
        self.check_topics_and_subscriptions()
        self.check_dead_letter_plumbing()
        self.check_tables()
        self.check_functions()
        self.check_environment()
        self.check_firestore_ttl()
        self.check_rules_files()
        self.check_moved()
        return self.problems

    # -- Pub/Sub --------------------------------------------------------------

    def check_topics_and_subscriptions(self) -> None:
        dead_topics = {topology.dead_letter_topic(t) for t in topology.TOPICS}
        topics = self.names("google_pubsub_topic")
        self.problems += _compare("topic", set(topology.TOPICS) | dead_topics, topics)

        subscriptions = self.names("google_pubsub_subscription")
        dead_subscriptions = {topology.dead_letter_subscription(t): t for t in topology.TOPICS}
        self.problems += _compare(
            "subscription",
            {s.name for s in topology.PUSH_SUBSCRIPTIONS}
            | {s.name for s in topology.PULL_SUBSCRIPTIONS}
            | set(dead_subscriptions),
            subscriptions,
        )
        resources = self.model.of_type("google_pubsub_subscription")
        urls = self.model.resolve(self.model.locals.get("function_url")) or {}
        project = self.model.resolve("${var.project}")

        for push in topology.PUSH_SUBSCRIPTIONS:
            if push.name not in subscriptions:
                continue
            body = resources[subscriptions[push.name]]
            where = f"subscription {push.name!r}"
            expect = {
                "topic": (self.referenced_name(body.get("topic")), push.topic),
                "dead-letter topic": (
                    self.referenced_name(_single(body.get("dead_letter_policy")).get("dead_letter_topic")),
                    topology.dead_letter_topic(push.topic),
                ),
                "max delivery attempts": (
                    self.model.resolve(_single(body.get("dead_letter_policy")).get("max_delivery_attempts")),
                    topology.MAX_DELIVERY_ATTEMPTS,
                ),
                "minimum backoff": (
                    self.model.resolve(_single(body.get("retry_policy")).get("minimum_backoff")),
                    f"{topology.MIN_BACKOFF_S}s",
                ),
                "maximum backoff": (
                    self.model.resolve(_single(body.get("retry_policy")).get("maximum_backoff")),
                    f"{topology.MAX_BACKOFF_S}s",
                ),
                "ack deadline": (self.model.resolve(body.get("ack_deadline_seconds")), topology.ACK_DEADLINE_S),
                "message ordering": (bool(self.model.resolve(body.get("enable_message_ordering"))), push.ordered),
            }
            push_config = _single(body.get("push_config"))
            function_url = urls.get(deployed_name(push.function))
            expect["push endpoint"] = (
                self.model.resolve(push_config.get("push_endpoint")),
                f"{function_url}/projects/{project}/topics/{push.topic}",
            )
            oidc = _single(push_config.get("oidc_token"))
            expect["OIDC identity"] = (self.model.reference(oidc.get("service_account_email")), ("google_service_account", "pusher"))
            expect["OIDC audience"] = (self.model.resolve(oidc.get("audience")), function_url)
            for what, (declared, wanted) in expect.items():
                if declared != wanted:
                    self.problems.append(f"{where}: {what} is {declared!r}, the code expects {wanted!r}")

        for pull in topology.PULL_SUBSCRIPTIONS:
            if pull.name not in subscriptions:
                continue
            body = resources[subscriptions[pull.name]]
            policy = _single(body.get("dead_letter_policy"))
            expect = {
                "topic": (self.referenced_name(body.get("topic")), pull.topic),
                "ack deadline (the lease)": (self.model.resolve(body.get("ack_deadline_seconds")), pull.ack_deadline_s),
                "dead-letter topic": (self.referenced_name(policy.get("dead_letter_topic")), topology.dead_letter_topic(pull.topic)),
                "max delivery attempts": (self.model.resolve(policy.get("max_delivery_attempts")), topology.MAX_DELIVERY_ATTEMPTS),
                "push config": ("push_config" in body, False),
            }
            for what, (declared, wanted) in expect.items():
                if declared != wanted:
                    self.problems.append(f"subscription {pull.name!r}: {what} is {declared!r}, the code expects {wanted!r}")

        for name, topic in dead_subscriptions.items():
            if name in subscriptions:
                body = resources[subscriptions[name]]
                if self.referenced_name(body.get("topic")) != topology.dead_letter_topic(topic):
                    self.problems.append(f"subscription {name!r} must read {topology.dead_letter_topic(topic)!r}")
                if "push_config" in body:
                    self.problems.append(f"subscription {name!r} must be a pull subscription (it keeps dead letters)")

    def check_dead_letter_plumbing(self) -> None:
        """The Pub/Sub service agent may publish to every dead-letter topic
        and acknowledge on every push subscription; every dead-letter
        subscription has an alert."""

        def granted(kind: str, label: str, target: str) -> set[str]:
            """What the Pub/Sub service agent is granted on, by ``kind.label``
            (its member is the project number's agent, unknown offline: the
            binding must name it as local.pubsub_service_agent)."""
            return {
                self.model.resolve(instance.body.get(target))
                for instance in self.model.instances(kind, label)
                if instance.body.get("member") == "${local.pubsub_service_agent}"
            }

        policies = list(topology.PUSH_SUBSCRIPTIONS) + list(topology.PULL_SUBSCRIPTIONS)
        dead_topics = {topology.dead_letter_topic(s.topic) for s in policies}
        publishes = granted("google_pubsub_topic_iam_member", "service_agent_publishes_dead_letters", "topic")
        self.problems += [f"the Pub/Sub service agent cannot publish to dead-letter topic {t!r}" for t in sorted(dead_topics - publishes)]
        sources = {s.name for s in policies}
        forwards = granted("google_pubsub_subscription_iam_member", "service_agent_forwards_dead_letters", "subscription")
        self.problems += [f"the Pub/Sub service agent cannot forward dead letters from {s!r}" for s in sorted(sources - forwards)]

        alerted = set()
        for instance in self.model.instances("google_monitoring_alert_policy", "dead_letters"):
            for condition in instance.body.get("conditions", []):
                alert_filter = self.model.resolve(_single(condition.get("condition_threshold")).get("filter")) or ""
                alerted.update(re.findall(r'resource\.labels\.subscription_id = "([^"]+)"', alert_filter))
        for topic in topology.TOPICS:
            name = topology.dead_letter_subscription(topic)
            if name not in alerted:
                self.problems.append(f"no alert on dead-letter subscription {name!r}")
        if "dead_letters" not in self.model.resources.get("google_monitoring_alert_policy", {}):
            self.problems.append("no dead-letter alert policy (google_monitoring_alert_policy.dead_letters)")

    # -- BigQuery -------------------------------------------------------------

    def check_tables(self) -> None:
        every = self.names("google_bigquery_table")
        resources = self.model.of_type("google_bigquery_table")
        dataset = self.model.resolve("${google_bigquery_dataset.zatsudan.dataset_id}")
        views = {name: label for name, label in every.items() if "view" in resources[label]}
        tables = {name: label for name, label in every.items() if name not in views}
        self.check_views(views, resources, dataset)
        schema_files = {path.stem for path in SCHEMAS_DIR.glob("*.json")}
        self.problems += _compare("table", set(topology.BIGQUERY_TABLES), tables)
        self.problems += _compare("table (from shared/schemas)", schema_files, tables)
        for table, (partition, clustering) in topology.BIGQUERY_TABLES.items():
            if table not in tables:
                continue
            body = resources[tables[table]]
            where = f"table {table!r}"
            # Read from the very file the code uses: file() of it, nothing inlined.
            schema = body.get("schema", "")
            if "file(" not in schema or self.model.resolve(schema) != (SCHEMAS_DIR / f"{table}.json").read_text():
                self.problems.append(f"{where}: schema must be file(\".../shared/schemas/{table}.json\"), not {schema!r}")
            declared_dataset = self.referenced_name(body.get("dataset_id"))
            if declared_dataset != config.Settings.bigquery_dataset:
                self.problems.append(f"{where}: dataset is {declared_dataset!r}, the code expects {config.Settings.bigquery_dataset!r}")
            declared_partition = self.model.resolve(_single(body.get("time_partitioning")).get("field"))
            if declared_partition != partition:
                self.problems.append(f"{where}: partitioned on {declared_partition!r}, the code expects {partition!r}")
            declared_clustering = self.model.resolve(body.get("clustering"))
            if declared_clustering != clustering:
                self.problems.append(f"{where}: clustered on {declared_clustering!r}, the code expects {clustering!r}")

    def check_views(self, views: dict[str, str], resources: dict[str, dict], dataset: str | None) -> None:
        self.problems += _compare("view", set(topology.BIGQUERY_VIEWS), views)
        project = self.model.resolve("${var.project}")
        for view, address in views.items():
            sql = SQL_DIR / f"{view}.sql"
            query = self.model.resolve(_single(resources[address]["view"]).get("query"))
            if not sql.is_file() or query != sql.read_text().replace("{dataset}", f"{project}.{dataset}"):
                self.problems.append(f"view {view!r}: query must be shared/sql/{view}.sql with {{dataset}} filled in")
            elif "{rewards}" in sql.read_text():
                self.problems.append(f"view {view!r}: shared/sql/{view}.sql uses {{rewards}}, which Terraform does not inline")

    # -- functions, environment, secrets ---------------------------------------

    def check_functions(self) -> None:
        declared = self.model.resolve(self.model.locals.get("functions")) or {}
        wanted = {f.name: f.entry_point for f in deploy.FUNCTIONS}
        self.problems += _compare("function", wanted, declared)
        for name, entry_point in wanted.items():
            if name in declared and declared[name] != entry_point:
                self.problems.append(f"function {name!r}: entry point {declared[name]!r}, deploy uses {entry_point!r}")
        urls = self.model.resolve(self.model.locals.get("function_url")) or {}
        self.problems += _compare("function URL", wanted, urls)
        pushed = {deployed_name(s.function) for s in topology.PUSH_SUBSCRIPTIONS}
        private = {f.name for f in deploy.FUNCTIONS if not f.public}
        if pushed != private:
            self.problems.append(f"push targets {sorted(pushed)} must be exactly the private functions {sorted(private)}")

    def check_environment(self) -> None:
        env = self.model.resolve(self.model.outputs.get("function_env")) or {}
        secrets = self.model.resolve(self.model.outputs.get("function_secrets")) or {}
        secret_variables = {variable for mounted in secrets.values() for variable in mounted}
        read = config_variables()
        self.problems += _compare(
            "environment variable", read - set(LOCAL_ONLY_VARIABLES), set(env) | secret_variables
        )
        for variable in sorted(set(SECRET_VARIABLES) & set(env)):
            self.problems.append(f"environment variable {variable!r} is a secret: mount it, do not set it in plain text")
        for variable in sorted(secret_variables - set(SECRET_VARIABLES)):
            self.problems.append(f"environment variable {variable!r} is mounted from a secret but is not secret")
        for variable, reader in SECRET_VARIABLES.items():
            holders = sorted(function for function, variables in secrets.items() if variable in variables)
            if holders and holders != [reader]:
                self.problems.append(f"secret {variable!r} must be mounted into {reader!r} only, not {holders}")

        declared_secrets = self.names("google_secret_manager_secret")
        mounted = set()
        for function, variables in secrets.items():
            for variable, secret in variables.items():
                if secret is None:
                    self.problems.append(
                        f"secret mounted as {variable!r} in {function!r} is used by the code but not declared in Terraform"
                    )
                else:
                    mounted.add(secret)
        self.problems += _compare("secret", mounted, declared_secrets)

        # Terraform's defaults must mean what the code's defaults mean.
        if None not in env.values():
            deployed = config.load(env)
            defaults = config.Settings(project=deployed.project)
            for name in config.Settings.__dataclass_fields__:
                if name not in PRODUCTION_VALUES and getattr(deployed, name) != getattr(defaults, name):
                    self.problems.append(
                        f"setting {name}: Terraform's default gives {getattr(deployed, name)!r}, "
                        f"the code's default is {getattr(defaults, name)!r}"
                    )
        else:
            self.problems.append(f"function_env has values that cannot be read offline: {env}")

    def check_firestore_ttl(self) -> None:
        ttl = {
            self.model.resolve(body.get("collection"))
            for body in self.model.of_type("google_firestore_field").values()
            if "ttl_config" in body and self.model.resolve(body.get("field")) == "expire_at"
        }
        self.problems += _compare("Firestore TTL policy on expire_at for collection", TTL_COLLECTIONS, ttl)

    def check_rules_files(self) -> None:
        for address, name in RULES_FILES.items():
            kind, label = address.split(".")
            body = self.model.of_type(kind).get(label)
            if body is None:
                self.problems.append(f"{address} (deploys infra/{name}) is missing")
            elif f'path.module}}/../{name}"' not in repr(body).replace("\\", ""):
                self.problems.append(f"{address} must deploy infra/{name}, the rules the tests check")
            elif not (REPO / "infra" / name).is_file():
                self.problems.append(f"infra/{name} does not exist")


    # -- state moves ------------------------------------------------------------

    def check_moved(self) -> None:
        """Every ``moved`` block leads from an address that is gone to one
        that is declared: a typo would otherwise destroy and re-create."""
        declared = self.model.addresses().union(*(variant.addresses() for variant in self.variants))
        declared |= {address.split("[", 1)[0] for address in declared}  # a whole resource moves all its instances
        for raw_from, raw_to in self.model.moved:
            old, new = self.model.address(raw_from), self.model.address(raw_to)
            if old is None or new is None:
                self.problems.append(f"moved block {raw_from!r} -> {raw_to!r}: cannot read its addresses")
                continue
            if new not in declared:
                self.problems.append(f"moved block {old} -> {new}: {new} is not declared")
            if old in declared:
                self.problems.append(f"moved block {old} -> {new}: {old} is still declared")


def problems(terraform_dir: Path = TERRAFORM_DIR) -> list[str]:
    variants = [TerraformModel.load(terraform_dir, overrides={**EXAMPLE, **variant}) for variant in VARIANTS]
    return Checker(TerraformModel.load(terraform_dir, overrides=EXAMPLE), variants).check()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    found = problems(Path(args[0]) if args else TERRAFORM_DIR)
    for problem in found:
        print(problem)
    print(f"{len(found)} problem(s)" if found else "Terraform matches the code")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
