"""`make up` passes the settings marked local_knob (shared/config.py) from the
caller's environment to the stack, and no other setting."""

from __future__ import annotations

from infra.local import stack


def test_the_stack_passes_through_local_knobs_only(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ROUTER_SEED", "7")
    monkeypatch.setenv("FAULT_POINTS", "scorer.before_write")
    monkeypatch.setenv("MODEL_STORE", "elsewhere")  # a setting, but not a knob
    monkeypatch.delenv("REPLY_STORE", raising=False)

    assert stack.main(["env", "--run-dir", str(tmp_path), "--port-base", "9200"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert "ROUTER_SEED=7" in lines and "FAULT_POINTS=scorer.before_write" in lines
    assert not any(line.startswith("MODEL_STORE=") for line in lines)
