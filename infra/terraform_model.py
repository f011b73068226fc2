"""The Terraform configuration in infra/terraform/, read offline as data.

python-hcl2 parses the files; this module resolves the few expression forms
the configuration uses for names (``var.x`` with its default, references to
another resource's name attribute, ``tostring(...)``), which is all the drift
check (infra/check_terraform.py) and the deploy step's dry run need. It is
not a Terraform evaluator: anything else resolves to None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import hcl2

TERRAFORM_DIR = Path(__file__).resolve().parent / "terraform"

_WHOLE_EXPRESSION = re.compile(r"^\$\{(.*)\}$", re.S)
_INTERPOLATION = re.compile(r"\$\{([^{}]*)\}")
_VAR = re.compile(r"^var\.(\w+)$")
_LOCAL = re.compile(r'^local\.(\w+)(?:\["([^"]+)"\])?$')
_RESOURCE_ATTR = re.compile(r"^(google_\w+)\.(\w+)\.(\w+)$")
_TOSTRING = re.compile(r"^tostring\((.*)\)$")
# Attributes that carry a resource's own name, by the resource's naming field.
_NAME_ATTRIBUTES = ("name", "dataset_id", "table_id", "secret_id", "account_id")


def _unquote(label: str) -> str:
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


def _strip_markers(value: Any) -> Any:
    if isinstance(value, dict):
        return {_unquote(k): _strip_markers(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_strip_markers(v) for v in value]
    return value


@dataclass
class TerraformModel:
    variables: dict[str, Any] = field(default_factory=dict)  # name -> raw default (or None)
    locals: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # type -> name -> body
    outputs: dict[str, Any] = field(default_factory=dict)  # name -> raw value
    overrides: dict[str, Any] = field(default_factory=dict)  # variable values given by the caller

    @classmethod
    def load(cls, directory: Path = TERRAFORM_DIR, overrides: Mapping[str, Any] | None = None) -> "TerraformModel":
        model = cls(overrides=dict(overrides or {}))
        for path in sorted(directory.glob("*.tf")):
            with path.open() as handle:
                document = _strip_markers(hcl2.load(handle))
            for block in document.get("variable", []):
                for name, body in block.items():
                    model.variables[name] = body.get("default")
            for block in document.get("locals", []):
                model.locals.update(block)
            for block in document.get("resource", []):
                for kind, named in block.items():
                    model.resources.setdefault(kind, {}).update(named)
            for block in document.get("output", []):
                for name, body in block.items():
                    model.outputs[name] = body.get("value")
        return model

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.resources.get(kind, {})

    # -- resolution ---------------------------------------------------------

    def resolve(self, raw: Any) -> Any:
        """The value of ``raw`` as far as it can be known offline, else None."""
        if isinstance(raw, dict):
            return {k: self.resolve(v) for k, v in raw.items()}
        if isinstance(raw, list):
            return [self.resolve(v) for v in raw]
        if not isinstance(raw, str):
            return raw
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            return self._interpolate(raw[1:-1])
        whole = _WHOLE_EXPRESSION.match(raw)
        return self._expression(whole.group(1).strip()) if whole else raw

    def _interpolate(self, text: str) -> str | None:
        parts: list[str] = []
        position = 0
        for match in _INTERPOLATION.finditer(text):
            value = self._expression(match.group(1).strip())
            if value is None:
                return None
            parts.append(text[position : match.start()])
            parts.append(str(value))
            position = match.end()
        parts.append(text[position:])
        return "".join(parts)

    def _expression(self, expression: str) -> Any:
        if match := _TOSTRING.match(expression):
            value = self._expression(match.group(1).strip())
            return None if value is None else _terraform_string(value)
        if match := _VAR.match(expression):
            name = match.group(1)
            if name in self.overrides:
                return self.overrides[name]
            return self.resolve(self.variables.get(name))
        if match := _LOCAL.match(expression):
            value = self.locals.get(match.group(1))
            if match.group(2) is not None:
                value = value.get(match.group(2)) if isinstance(value, dict) else None
            return self.resolve(value)
        if match := _RESOURCE_ATTR.match(expression):
            kind, name, attribute = match.groups()
            body = self.of_type(kind).get(name)
            if body is None:
                return None
            if attribute in _NAME_ATTRIBUTES:
                return self.resolve(body[attribute]) if attribute in body else None
            if attribute == "id":
                naming = next((n for n in _NAME_ATTRIBUTES if n in body), None)
                return self.resolve(body[naming]) if naming else None
        return None

    def reference(self, raw: Any) -> tuple[str, str] | None:
        """``(type, name)`` of the resource an attribute refers to, e.g. a
        subscription's ``topic = google_pubsub_topic.utterances.id``."""
        if not isinstance(raw, str):
            return None
        whole = _WHOLE_EXPRESSION.match(raw)
        match = _RESOURCE_ATTR.match(whole.group(1).strip()) if whole else None
        return (match.group(1), match.group(2)) if match else None


def _terraform_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
