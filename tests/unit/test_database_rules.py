"""infra/database.rules.json: parses, and allows/denies a table of reads and writes.

No RTDB emulator runs here, so a small evaluator of the rules language checks
the file: rules cascade (a ``true`` at any level of the path grants access
below it), ``$variables`` match one path segment, and expressions use only the
subset below (``auth``, ``root``/``data``/``newData`` snapshots with
``child()``/``val()``/``exists()``, ``===``/``!==``/``==``/``!=``, ``&&``/``||``/``!``,
literals). An expression outside that subset fails the test instead of being
guessed at.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

RULES_FILE = Path(__file__).resolve().parents[2] / "infra" / "database.rules.json"
TOKEN = re.compile(r"\s*(===|!==|==|!=|&&|\|\||!|\(|\)|\.|,|'[^']*'|\"[^\"]*\"|\$?[A-Za-z_][A-Za-z_0-9]*)")
ALLOWED_NAMES = {"auth", "root", "data", "newData", "null", "true", "false", "child", "val", "exists", "uid"}


class Snapshot:
    def __init__(self, value) -> None:
        self._value = value

    def child(self, path: str) -> "Snapshot":
        value = self._value
        for segment in [s for s in str(path).split("/") if s]:
            value = value.get(segment) if isinstance(value, dict) else None
        return Snapshot(value)

    def val(self):
        return self._value

    def exists(self) -> bool:
        return self._value is not None


def to_python(expression: str, variables: dict[str, str]) -> str:
    """Translate a rule expression of the supported subset into Python."""
    out, position = [], 0
    while position < len(expression.rstrip()):
        match = TOKEN.match(expression, position)
        if not match:
            raise ValueError(f"unsupported syntax at {expression[position:]!r}")
        token = match.group(1)
        position = match.end()
        if token.startswith("$"):
            if token not in variables:
                raise ValueError(f"unknown variable {token}")
            out.append(repr(variables[token]))
        elif token[0] in "'\"":
            out.append(repr(token[1:-1]))
        elif token[0].isalpha() or token[0] == "_":
            if token not in ALLOWED_NAMES:
                raise ValueError(f"unsupported name {token!r}")
            out.append({"null": "None", "true": "True", "false": "False"}.get(token, token))
        else:
            out.append({"===": "==", "!==": "!=", "&&": " and ", "||": " or ", "!": " not "}.get(token, token))
    return "".join(out)


def evaluate(rule, variables: dict[str, str], auth, root: dict, path: list[str], new_data=None) -> bool:
    if isinstance(rule, bool):
        return rule
    snapshot = Snapshot(root).child("/".join(path))
    scope = {"auth": auth, "root": Snapshot(root), "data": snapshot, "newData": Snapshot(new_data), "__builtins__": {}}
    return bool(eval(to_python(rule, variables), scope))  # noqa: S307 - our own file, a checked subset


def allowed(rules: dict, kind: str, path: str, uid: str | None, root: dict, new_data=None) -> bool:
    """Does any rule along ``path`` grant ``kind`` (".read" / ".write")? Rules cascade."""
    auth = SimpleNamespace(uid=uid) if uid else None
    node, variables, walked = rules["rules"], {}, []
    segments = [s for s in path.split("/") if s]
    for depth in range(len(segments) + 1):
        if kind in node and evaluate(node[kind], variables, auth, root, walked, new_data):
            return True
        if depth == len(segments):
            return False
        segment = segments[depth]
        walked = walked + [segment]
        if segment in node:
            node = node[segment]
        else:
            wildcard = next((k for k in node if k.startswith("$")), None)
            if wildcard is None:
                return False
            variables = {**variables, wildcard: segment}
            node = node[wildcard]
    return False


DATA = {
    "conversations": {"c1": {"owner": "alice"}, "c2": {"owner": "bob"}},
    "replies": {"c1": {"m1": {"text": "hi"}}, "c2": {"m2": {"text": "yo"}}, "orphan": {"m3": {"text": "?"}}},
}


@pytest.fixture(scope="module")
def rules():
    return json.loads(RULES_FILE.read_text())  # valid JSON, or this fails


READS = [
    ("alice", "/replies/c1/m1", True),  # her own reply
    ("alice", "/replies/c1", True),  # her conversation's replies
    ("bob", "/replies/c1/m1", False),  # a stranger's read is denied
    (None, "/replies/c1/m1", False),  # signed out
    ("alice", "/replies/c2/m2", False),
    ("alice", "/replies", False),  # no listing everyone's replies
    ("alice", "/", False),
    ("alice", "/replies/orphan/m3", False),  # no owner recorded: nobody
    ("alice", "/conversations/c1", True),
    ("bob", "/conversations/c1", False),
    ("alice", "/candidates", False),
]


@pytest.mark.parametrize("uid, path, expected", READS)
def test_reads(rules, uid, path, expected):
    assert allowed(rules, ".read", path, uid, DATA) is expected


@pytest.mark.parametrize("uid", ["alice", "bob", None])
@pytest.mark.parametrize("path", ["/", "/replies/c1/m1", "/replies/c1/new", "/conversations/c1/owner", "/conversations/c9"])
def test_no_client_may_write(rules, uid, path):
    assert allowed(rules, ".write", path, uid, DATA, new_data={"text": "forged"}) is False


def test_every_expression_is_in_the_checked_subset(rules):
    def walk(node, variables):
        for key, value in node.items():
            if key in (".read", ".write", ".validate") and isinstance(value, str):
                to_python(value, {v: "x" for v in variables})
            elif isinstance(value, dict):
                walk(value, variables | ({key} if key.startswith("$") else set()))

    walk(rules["rules"], set())


@pytest.mark.parametrize("expression", ["auth.token.admin === true", "now > 0", "data.val().matches(/x/)"])
def test_the_evaluator_refuses_what_it_does_not_understand(expression):
    with pytest.raises(ValueError):
        to_python(expression, {})
