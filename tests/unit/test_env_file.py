"""A local stack's stack.env, read into the environment (jobs' and benches' --env)."""

from __future__ import annotations

import os

from shared.env_file import load_env_file


def test_key_value_lines_are_loaded_and_comments_and_blank_lines_skipped(tmp_path, monkeypatch):
    env_file = tmp_path / "stack.env"
    env_file.write_text("# a comment\nZATSUDAN_TEST_A=1\n\n ZATSUDAN_TEST_B = x=y \nnot a pair\n")
    monkeypatch.setenv("ZATSUDAN_TEST_A", "before")  # restored (unset) after the test
    monkeypatch.setenv("ZATSUDAN_TEST_B", "before")  # restored (unset) after the test
    assert load_env_file(env_file) == {"ZATSUDAN_TEST_A": "1", "ZATSUDAN_TEST_B": "x=y"}
    assert os.environ["ZATSUDAN_TEST_A"] == "1" and os.environ["ZATSUDAN_TEST_B"] == "x=y"


def test_a_job_loads_the_env_file_it_is_given(tmp_path, monkeypatch):
    import jobs

    env_file = tmp_path / "stack.env"
    env_file.write_text("ZATSUDAN_TEST_JOB=yes\n")
    monkeypatch.setenv("ZATSUDAN_TEST_JOB", "before")  # restored (unset) after the test
    jobs.load_env(str(env_file))
    assert os.environ["ZATSUDAN_TEST_JOB"] == "yes"
