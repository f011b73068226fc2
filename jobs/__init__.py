"""Jobs: programs run beside the functions, by hand or on a schedule
(seeding, the chat, reports, router statistics, the corpus pipeline, training)."""

from __future__ import annotations

ENV_HELP = "stack.env of a local stack (omit to use the environment)"


def load_env(env_file: str | None) -> None:
    """Loads a local stack's ``stack.env`` into the environment, when given."""
    if env_file:
        from shared.env_file import load_env_file

        load_env_file(env_file)


def connect(env_file: str | None = None):
    """(settings, clients) of a job, after ``load_env(env_file)``. Clients are lazy."""
    from shared import config
    from shared.clients import Clients

    load_env(env_file)
    settings = config.load()
    return settings, Clients(settings)
