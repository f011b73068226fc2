"""Drift check: what infra/terraform declares against what the code uses.

    python -m infra.check_terraform [terraform_dir]     (exit 1 on drift)

The code's side, and nothing else, is the source of truth:
- ``shared/messaging/topology.py``: topics (each with its dead-letter topic
  and the subscription keeping its dead letters, as the local stack makes
  them), push subscriptions (function, ordering, retry and dead-letter
  policy), pull subscriptions (lease, dead-letter policy);
- ``shared/tables.py``: BigQuery tables with partitioning and clustering,
  views;
- ``shared/schemas/*.json``: one table per schema file, Terraform reading the
  same file; ``shared/sql/<view>.sql`` for the views in
  BIGQUERY_VIEWS;
- ``shared/config.py``: the settings table (SETTINGS), every environment
  variable ``load()`` reads, who reads it and how production sets it;
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

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from infra import deploy, settings_doc
from infra.terraform_model import TERRAFORM_DIR, TerraformModel
from shared import config
from shared.messaging import topology
from shared.tables import BIGQUERY_TABLES, BIGQUERY_VIEWS

REPO = Path(__file__).resolve().parents[1]
SCHEMAS_DIR = REPO / "shared" / "schemas"
SQL_DIR = REPO / "shared" / "sql"

# -- the settings table --------------------------------------------------------
#
# shared/config.py's SETTINGS says, for every environment variable load()
# reads, who reads it (deployed functions by their infra/deploy.py names;
# ``job:<name>`` for a batch job) and how production sets it. What the value
# lets its readers use is Terraform's business, so it is said here (GRANTS).
# The checks below hold Terraform's function_env / function_secrets, the IAM
# grants, the local stack's environment and docs/configuration.md to them.

TERRAFORM = config.TERRAFORM  # in the function_env output
SECRET = config.SECRET  # mounted from Secret Manager (function_secrets)

# (identity, kind, target): what a variable's value names that an identity (a
# deployed function, or a batch job's identity in Terraform's
# batch_service_accounts) uses: ("publish", topic), ("read_objects", bucket),
# ("write_objects", bucket), ("write_dataset", dataset), ("project_role", role).
# "{value}" is the variable's value in function_env, "{bucket}" the bucket of a
# gs:// value, "{dead_letter}" the dead-letter topic of a topic value.
GRANTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "FIREBASE_DATABASE_URL": (("scorer", "project_role", "roles/firebasedatabase.admin"),),
    "UTTERANCES_TOPIC": (("ingress", "publish", "{value}"), ("scorer", "publish", "{dead_letter}")),
    "SELECTION_LOGS_TOPIC": (("scorer", "publish", "{value}"), ("log-sink", "publish", "{dead_letter}")),
    "FEEDBACK_TOPIC": (("ingress", "publish", "{value}"), ("log-sink", "publish", "{dead_letter}")),
    "BIGQUERY_DATASET": (("log-sink", "write_dataset", "{value}"),),
    "MODEL_STORE": (("scorer", "read_objects", "{bucket}"), ("trainer", "write_objects", "{bucket}")),
    "REPLIES_TOPIC": (("scorer", "publish", "{value}"), ("delivery", "publish", "{dead_letter}")),
}


@dataclass(frozen=True)
class Variable:
    """One environment variable as the checks see it."""

    readers: tuple[str, ...]
    production: str  # TERRAFORM, SECRET, or "local: <why production never sets it>"
    uses: tuple[tuple[str, str, str], ...] = ()

    @property
    def local_only(self) -> bool:
        return self.production.startswith("local:")


SETTINGS: dict[str, Variable] = {
    name: Variable(row.readers, row.production_of(name), GRANTS.get(name, ())) for name, row in config.variables().items()
}
# What the local stack's environment (stack.env) sets besides settings: for
# clients (chat, tests) and for the official clients and firebase_admin.
STACK_CLIENT_VARIABLES = {
    "INGRESS_URL", "WEB_URL", "RTDB_REST_URL",
    "PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "FIREBASE_DATABASE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST",
}  # fmt: skip
# The roles that let a reader read objects of a bucket.
OBJECT_READ_ROLES = {"roles/storage.objectViewer", "roles/storage.objectAdmin", "roles/storage.admin"}
# ... and write them, overwrite included (LATEST is rewritten on every publish).
OBJECT_WRITE_ROLES = {"roles/storage.objectAdmin", "roles/storage.admin"}
LOCAL_ONLY_VARIABLES = {name: setting.production for name, setting in SETTINGS.items() if setting.local_only}
SECRET_VARIABLES = {name: setting.readers[0] for name, setting in SETTINGS.items() if setting.production == SECRET}
# Settings production sets to other values than the code's defaults.
PRODUCTION_VALUES = {
    "project": "the project's id",
    "firebase_database_url": "the instance's URL (the default assumes us-central1)",
    "webhook_secret": "a secret",
    "callback_secret": "a secret",
    "line_channel_secret": "a secret",
    "line_channel_access_token": "a secret",
    "model_store": "gs:// in the models bucket (locally a folder)",
    "reply_store": "rtdb (locally firestore, whose official emulator runs here): see docs/configuration.md",
    "rate_limit_per_minute": "a per-user limit (locally off: tests and benchmarks flood ingress)",
}
# The configuration docs: a table names every setting (infra/settings_doc.py
# renders it), and the prose states the production reply store, which
# variables.tf's default, and so `make deploy`, must agree with.
CONFIGURATION_DOC = settings_doc.CONFIGURATION_DOC  # a name of its own here: tests point the check at a copy
REPLY_STORE_STATEMENT = re.compile(r"\*\*Production runs `REPLY_STORE=(\w+)`\.\*\*")
# Rules files the code's tests check, which Terraform must deploy as they are.
RULES_FILES = {"google_firebaserules_ruleset.firestore": "firestore.rules", "terraform_data.rtdb_rules": "database.rules.json"}
# Firestore collections whose documents carry expire_at (shared/stores.py).
TTL_COLLECTIONS = {
    "decisions", "delivery_attempts", "idempotency_keys", "webhook_signatures", "delivery_ledger", "line_events",
}  # fmt: skip
# Dry-run stand-ins for the values only a real project has.
EXAMPLE = {"project": "example-project", "region": "asia-northeast1"}
# Variable values that change which resource instances exist (moved blocks may
# lead to an instance only one of them declares).
VARIANTS = [{"router": "thompson"}]


def config_variables() -> set[str]:
    """Names ``load()`` reads: every variable of shared/config.py's SETTINGS."""
    return set(config.variables())


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
        self.check_settings_table()
        self.check_environment()
        self.check_grants()
        self.check_configuration_doc()
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
        self.problems += _compare("table", set(BIGQUERY_TABLES), tables)
        self.problems += _compare("table (from shared/schemas)", schema_files, tables)
        for table, (partition, clustering) in BIGQUERY_TABLES.items():
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
        self.problems += _compare("view", set(BIGQUERY_VIEWS), views)
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
        # Production sets every setting a deployed function (or job) reads,
        # except the local-only ones; and nothing else.
        wanted = {name: s.readers for name, s in SETTINGS.items() if not s.local_only}
        for name in sorted(set(wanted) - set(env) - secret_variables):
            self.problems.append(
                f"environment variable {name!r} is used by the code but not declared in Terraform "
                f"(read by {', '.join(wanted[name])}; production never sets it)"
            )
        for name in sorted(set(env) - set(wanted)):
            self.problems.append(f"environment variable {name!r} is declared in Terraform but the code does not use it")
        attempts = env.get("MAX_DELIVERY_ATTEMPTS")
        if attempts is not None and attempts != str(topology.MAX_DELIVERY_ATTEMPTS):
            self.problems.append(
                f"MAX_DELIVERY_ATTEMPTS is {attempts!r} in function_env, the subscriptions' max_delivery_attempts "
                f"is {topology.MAX_DELIVERY_ATTEMPTS}: the handlers must give up when Pub/Sub does"
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

    def check_settings_table(self) -> None:
        """SETTINGS covers exactly what config.load() reads, names real readers,
        grants only to settings, and covers what the local stack sets."""
        read = config_variables()
        self.problems += [
            f"setting {name!r} is read by shared/config.py but missing from the settings table"
            for name in sorted(read - set(SETTINGS))
        ] + [f"setting {name!r} is in the settings table but shared/config.py does not read it" for name in sorted(set(SETTINGS) - read)]
        self.problems += [f"GRANTS names {name!r}, which is not a setting" for name in sorted(set(GRANTS) - read)]
        deployed = {f.name for f in deploy.FUNCTIONS}
        for name, setting in SETTINGS.items():
            strangers = [r for r in setting.readers if r not in deployed and not r.startswith("job:")]
            if strangers:
                self.problems.append(f"setting {name!r}: readers {strangers} are neither deployed functions nor jobs")
        from infra.local.stack import Stack

        local = set(Stack(with_rtdb=True).env())
        for name in sorted(local - set(SETTINGS) - STACK_CLIENT_VARIABLES):
            self.problems.append(f"the local stack sets {name!r}, which is neither a setting nor a client address")

    def check_grants(self) -> None:
        """A function configured to use a resource holds a role on it."""
        env = self.model.resolve(self.model.outputs.get("function_env")) or {}
        for name, setting in SETTINGS.items():
            value = env.get(name)
            if not isinstance(value, str):
                continue
            for reader, kind, target in setting.uses:
                bucket = value[len("gs://"):].split("/", 1)[0] if value.startswith("gs://") else ""
                if kind == "read_objects" and not bucket:
                    continue  # a folder: nothing to grant
                wanted = target.format(value=value, bucket=bucket, dead_letter=topology.dead_letter_topic(value))
                if wanted not in self.granted(kind, reader):
                    self.problems.append(
                        f"{reader} is configured with {name}={value} but has no role to {kind.replace('_', ' ')} {wanted!r}"
                    )

    def granted(self, kind: str, who: str) -> set[str]:
        """What ``who`` may do, by kind: topics it publishes to, buckets whose
        objects it reads, datasets it writes, its project roles."""
        resource, target, roles = {
            "publish": ("google_pubsub_topic_iam_member", "topic", {"roles/pubsub.publisher", "roles/pubsub.editor"}),
            "read_objects": ("google_storage_bucket_iam_member", "bucket", OBJECT_READ_ROLES),
            "write_objects": ("google_storage_bucket_iam_member", "bucket", OBJECT_WRITE_ROLES),
            "write_dataset": ("google_bigquery_dataset_iam_member", "dataset_id", {"roles/bigquery.dataEditor", "roles/bigquery.dataOwner"}),
            "project_role": ("google_project_iam_member", "role", None),
        }[kind]  # fmt: skip
        found = set()
        for label in self.model.resources.get(resource, {}):
            for instance in self.model.instances(resource, label):
                role = self.model.resolve(instance.body.get("role"))
                if self.grantee(instance.body.get("member")) != who or (roles is not None and role not in roles):
                    continue
                found.add(self.model.resolve(instance.body.get(target)))
        return found

    @staticmethod
    def grantee(member) -> str | None:
        """Whose service account a binding's ``member`` is (its email is
        unknown offline): ``google_service_account.function["scorer"].member``,
        ``google_service_account.corpus.member`` or ``local.members[...]``."""
        text = str(member or "")
        named = re.search(r'google_service_account\.(\w+)(?:\[\\?"([^"\\]+)\\?"\])?\.member', text)
        if named:
            return named.group(2) if named.group(1) == "function" else named.group(1)
        each = getattr(member, "scope", {}).get("each", {})
        if "local.members[each.value.who]" in text:
            return each.get("value", {}).get("who")
        if "local.members[each.key]" in text:
            return each.get("key")
        return None

    def check_configuration_doc(self) -> None:
        """docs/configuration.md names every setting in a table, and states
        the production reply store Terraform's default deploys."""
        text = CONFIGURATION_DOC.read_text()
        doc = "docs/configuration.md"
        if settings_doc.rendered_in(text) != settings_doc.markdown_table():
            self.problems.append(f"{doc}'s settings table is not what shared/config.py says: run python -m infra.settings_doc --write")
        rows = "\n".join(line for line in text.splitlines() if line.startswith("|"))
        for name in sorted(SETTINGS):
            if f"`{name}`" not in rows:
                self.problems.append(f"setting {name!r} is in no table of {doc}")
        stated = REPLY_STORE_STATEMENT.search(text)
        deployed = (self.model.resolve(self.model.outputs.get("function_env")) or {}).get("REPLY_STORE")
        if stated is None:
            self.problems.append(f"{doc} does not state the production reply store (**Production runs `REPLY_STORE=...`.**)")
        elif stated.group(1) != deployed:
            self.problems.append(f"{doc} says production runs REPLY_STORE={stated.group(1)}, Terraform deploys {deployed!r}")

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
