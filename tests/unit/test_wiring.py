"""Wiring in one place: clients are made by ``shared/clients.py`` and handed
out by the composition root (``shared/app.py``; ``jobs.connect`` for jobs);
services hold stores, stores hold the rules of their documents."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

# Where a Google client or the environment's settings may be made, and why.
CLIENT_MAKERS = {
    "shared/clients.py": "makes every client, lazily, once per process",
    "shared/app.py": "the composition root: settings and Clients for each function",
    "shared/model_store.py": "the library's storage client when a job or tool gives none",
}
MAKES_A_CLIENT = re.compile(
    r"\bClients\(|config\.load\(\)|firestore\.Client\(|bigquery\.Client\(|storage\.Client\(|pubsub_v1\.\w+Client\("
    r"|initialize_app\("
)


def _sources(folder: str):
    return sorted((REPO / folder).rglob("*.py"))


def _client_makers(folder: str) -> set[str]:
    return {str(path.relative_to(REPO)) for path in _sources(folder) if MAKES_A_CLIENT.search(path.read_text(encoding="utf-8"))}


def test_only_the_wiring_makes_clients_in_shared():
    makers = _client_makers("shared")
    assert makers <= set(CLIENT_MAKERS), makers - set(CLIENT_MAKERS)


# The same for the jobs: ``jobs.connect`` is their composition root.
JOB_CLIENT_MAKERS = {
    "jobs/__init__.py": "connect(): settings and Clients for a job",
    "jobs/train/evaluate.py": "the settings' defaults of its command line",
}


def test_only_connect_makes_clients_in_jobs():
    makers = _client_makers("jobs")
    assert makers <= set(JOB_CLIENT_MAKERS), makers - set(JOB_CLIENT_MAKERS)


def test_the_dual_encoder_builds_no_settings_or_clients_of_its_own():
    for name in ("dual_encoder", "encoder_model", "model_pointer"):
        source = (REPO / "shared" / "ranking" / f"{name}.py").read_text(encoding="utf-8")
        assert not MAKES_A_CLIENT.search(source) and "from_environment" not in source and "shared.clients" not in source


def test_the_scorer_holds_stores_not_the_database_nor_its_exceptions():
    source = (REPO / "shared" / "scorer.py").read_text(encoding="utf-8")
    assert "google" not in source.split('"""', 2)[2]  # below the module docstring
    assert "self.db" not in source and ".batch()" not in source and ".commit()" not in source


def test_the_bandit_is_the_algorithm_alone():
    code = (REPO / "shared" / "bandit.py").read_text(encoding="utf-8").split('"""', 2)[2]  # below the module docstring
    assert "class RouterStatsStore" not in code and "cachetools" not in code and "collection(" not in code and "shared.stores" not in code


@pytest.mark.parametrize(
    "modules",
    [
        "shared.app",  # every function's composition root, ingress's included
        "shared.ranking.model_pointer",
    ],
)
def test_importing_needs_no_numpy(modules):
    code = f"import sys, {modules}\nprint('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_dual_encoder_outside_the_wiring_can_be_named_and_chosen_but_not_rank():
    from shared.ranking import RANKERS, Context, UnwiredRanker

    ranker = RANKERS["dual_encoder"]()
    assert ranker.name == "dual_encoder"
    with pytest.raises(UnwiredRanker, match="shared/app.py"):
        ranker.rank(Context(("猫",), "ja"), [])


def test_the_scorer_serves_one_model_to_the_ranker_and_the_look_up_by_meaning():
    from shared import app
    from shared.config import Settings

    class NoClients:
        settings = Settings()

        @property
        def firestore(self):
            return object()  # never read while building: the pointer is read on first use

    models = app.published_model(Settings(), NoClients())
    rankers = app.serving_rankers(models)
    assert rankers.get("dual_encoder").models is models
