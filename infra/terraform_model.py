"""The Terraform configuration in infra/terraform/, read offline as data.

python-hcl2 parses the files and, for each expression, hands back its text;
this module evaluates those texts on python-hcl2's own parse tree, as far as
the configuration can be known before any apply: variables (their defaults,
or the caller's values), locals, ``for_each`` (each resource instance gets its
own ``each.key`` and ``each.value``), ``dynamic`` blocks, references to other
resources' names, conditionals, ``for`` expressions and the few functions the
configuration calls. It is not Terraform: a value only an apply knows (an
email, a project number) is unknown, and a public method gives None for it.
That is all the drift check (infra/check_terraform.py) and the deploy step's
dry run need.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import hcl2
from lark import Token, Tree

TERRAFORM_DIR = Path(__file__).resolve().parent / "terraform"

# Attributes that carry a resource's own name; ``id`` stands for the first.
_NAME_ATTRIBUTES = ("name", "dataset_id", "table_id", "secret_id", "account_id")
_REFERENCE = re.compile(r"^\$\{((?:google|terraform)_\w+)\.(\w+)(?:\[[^\]]+\])?\.\w+\}$")
_ADDRESS = re.compile(r'^\$\{(\w+)\.(\w+)(?:\[(?:\\?"([^"\\]+)\\?"|(\d+))\])?\}$')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


@dataclass(frozen=True)
class Unknown:
    """A value only a real apply knows; ``what`` names it (for messages)."""

    what: str


class Expr(str):
    """An attribute's expression text, bound to the scope it is evaluated in
    (``each``, a dynamic block's iterator). A ``str``, so text checks work."""

    scope: Mapping[str, Any]

    def __new__(cls, text: str, scope: Mapping[str, Any]) -> "Expr":
        bound = super().__new__(cls, text)
        bound.scope = scope
        return bound


@dataclass(frozen=True)
class Instance:
    """One resource instance: ``address`` as Terraform writes it."""

    kind: str
    address: str
    body: dict


def _unquote(label: str) -> str:
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


def _strip_markers(value: Any) -> Any:
    if isinstance(value, dict):
        return {_unquote(k): _strip_markers(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_strip_markers(v) for v in value]
    return value


@functools.lru_cache(maxsize=None)
def _parse(text: str) -> Tree:
    """The parse tree of one expression (python-hcl2's grammar)."""
    attribute = hcl2.parses_to_tree(f"x = {text}\n").children[0].children[0]
    return attribute.children[-1]


def _trees(node: Tree) -> list[Tree]:
    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _terraform_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _known(value: Any) -> Any:
    """Unknown values, anywhere inside, as None."""
    if isinstance(value, Unknown):
        return None
    if isinstance(value, dict):
        return {k: _known(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_known(v) for v in value]
    return value


def _is_unknown(*values: Any) -> Unknown | None:
    return next((v for v in values if isinstance(v, Unknown)), None)


@dataclass
class TerraformModel:
    directory: Path = TERRAFORM_DIR
    variables: dict[str, Any] = field(default_factory=dict)  # name -> raw default (or None)
    locals: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # type -> label -> raw body
    outputs: dict[str, Any] = field(default_factory=dict)  # name -> raw value
    moved: list[tuple[str, str]] = field(default_factory=list)  # (from, to) raw addresses
    overrides: dict[str, Any] = field(default_factory=dict)  # variable values given by the caller
    _instances: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, directory: Path = TERRAFORM_DIR, overrides: Mapping[str, Any] | None = None) -> "TerraformModel":
        model = cls(directory=Path(directory).resolve(), overrides=dict(overrides or {}))
        for path in sorted(Path(directory).glob("*.tf")):
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
            for block in document.get("moved", []):
                model.moved.append((block.get("from"), block.get("to")))
        return model

    # -- resource instances -----------------------------------------------

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        """Address (``label`` or ``label["key"]``) -> body, every instance of ``kind``."""
        return {i.address: i.body for label in self.resources.get(kind, {}) for i in self.instances(kind, label)}

    def instances(self, kind: str, label: str) -> list[Instance]:
        expanded = self._expanded(kind, label)
        if expanded is None:
            return []
        if isinstance(expanded, dict):
            return list(expanded.values())
        return [expanded]

    def addresses(self) -> set[str]:
        """``kind.label`` or ``kind.label["key"]`` of every instance."""
        return {
            f"{kind}.{instance.address}"
            for kind, labels in self.resources.items()
            for label in labels
            for instance in self.instances(kind, label)
        }

    def _expanded(self, kind: str, label: str) -> Instance | dict[str, Instance] | None:
        """The one instance, or key -> instance for ``for_each`` (None when
        the resource does not exist or its ``for_each`` cannot be known)."""
        if (kind, label) not in self._instances:
            body = self.resources.get(kind, {}).get(label)
            if body is None:
                expanded = None
            elif "for_each" not in body:
                expanded = Instance(kind, label, self._bind(body, {}))
            else:
                collection = self._value(body["for_each"], {})
                if isinstance(collection, dict):
                    pairs = list(collection.items())
                elif isinstance(collection, list):
                    pairs = [(item, item) for item in collection]
                else:
                    pairs = None
                expanded = None if pairs is None else {
                    str(key): Instance(kind, f'{label}["{key}"]', self._bind(body, {"each": {"key": key, "value": value}}))
                    for key, value in pairs
                }  # fmt: skip
            self._instances[(kind, label)] = expanded
        return self._instances[(kind, label)]

    def _bind(self, body: Any, scope: Mapping[str, Any]) -> Any:
        """``body`` with every expression bound to ``scope`` and its
        ``dynamic`` blocks expanded into ordinary blocks."""
        if isinstance(body, str):
            return Expr(body, scope)
        if isinstance(body, list):
            return [self._bind(item, scope) for item in body]
        if not isinstance(body, dict):
            return body
        bound = {k: self._bind(v, scope) for k, v in body.items() if k not in ("dynamic", "for_each")}
        for dynamic in body.get("dynamic", []):
            for name, spec in dynamic.items():
                iterator = re.sub(r"^\$\{(.*)\}$", r"\1", spec.get("iterator") or name)
                collection = self._value(spec.get("for_each"), scope)
                for key, value in _items(collection):
                    inner = {**scope, iterator: {"key": key, "value": value}}
                    bound.setdefault(name, []).extend(self._bind(spec.get("content", [{}]), inner))
        return bound

    # -- evaluation -------------------------------------------------------

    def resolve(self, raw: Any) -> Any:
        """The value of ``raw`` as far as it can be known offline, else None."""
        return _known(self._value(raw, {}))

    def reference(self, raw: Any) -> tuple[str, str] | None:
        """``(type, label)`` of the resource an attribute refers to, e.g. a
        subscription's ``topic = google_pubsub_topic.topic[each.key].id``."""
        match = _REFERENCE.match(raw) if isinstance(raw, str) else None
        return (match.group(1), match.group(2)) if match else None

    def address(self, raw: Any) -> str | None:
        """A ``moved`` block's address as Terraform writes it: ``kind.label``,
        ``kind.label["key"]`` or ``kind.label[0]``."""
        match = _ADDRESS.match(raw) if isinstance(raw, str) else None
        if not match:
            return None
        kind, label, key, index = match.groups()
        return f"{kind}.{label}" + (f'["{key}"]' if key is not None else f"[{index}]" if index is not None else "")

    def _value(self, raw: Any, scope: Mapping[str, Any]) -> Any:
        if isinstance(raw, Expr):
            scope = raw.scope
        if isinstance(raw, dict):
            return {k: self._value(v, scope) for k, v in raw.items()}
        if isinstance(raw, list):
            return [self._value(v, scope) for v in raw]
        if not isinstance(raw, str):
            return raw
        if raw.startswith("${") and raw.endswith("}"):
            return self._evaluate(_parse(raw[2:-1]), scope)
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            return self._evaluate(_parse(raw), scope)
        return raw

    def _evaluate(self, node: Any, scope: Mapping[str, Any]) -> Any:
        rule = getattr(self, f"_rule_{node.data}", None)
        if rule is None:
            return Unknown(f"<{node.data}>")
        return rule(node, scope)

    def _rule_expr_term(self, node: Tree, scope):
        return self._evaluate(_trees(node)[0], scope)

    def _rule_int_lit(self, node: Tree, scope):
        return int(node.children[0])

    def _rule_float_lit(self, node: Tree, scope):
        return float(node.children[0])

    def _rule_literal_value(self, node: Tree, scope):
        return {"true": True, "false": False, "null": None}[str(node.children[0])]

    def _rule_string(self, node: Tree, scope):
        parts: list[str] = []
        unknown = None
        for part in _trees(node):
            piece = part.children[0]
            if isinstance(piece, Tree) and piece.data == "interpolation":
                value = self._evaluate(_trees(piece)[0], scope)
                unknown = unknown or _is_unknown(value)
                parts.append(f"<{value.what}>" if isinstance(value, Unknown) else _terraform_string(value))
            elif isinstance(piece, Token) and piece.type == "ESCAPED_INTERPOLATION":
                parts.append(str(piece)[1:])
            elif isinstance(piece, Token) and piece.type == "STRING_CHARS":
                parts.append(re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), str(piece)))
            else:
                return Unknown("<template directive>")
        text = "".join(parts)
        return Unknown(text) if unknown else text

    def _rule_tuple(self, node: Tree, scope):
        return [self._evaluate(item, scope) for item in _trees(node)]

    def _rule_object(self, node: Tree, scope):
        result = {}
        for element in _trees(node):
            key_node, value_node = _trees(element)
            key_expr = _trees(key_node)[0] if _trees(key_node) else key_node
            bare = _trees(key_expr)[0] if key_expr.data == "expr_term" and _trees(key_expr) else None
            if key_expr.data == "keyword":
                key = str(key_expr.children[0])
            elif bare is not None and bare.data == "identifier":
                key = str(bare.children[0])  # a bare key is a name, not a reference
            else:
                key = self._evaluate(key_expr, scope)
            result[_terraform_string(key)] = self._evaluate(value_node, scope)
        return result

    def _rule_identifier(self, node: Tree, scope):
        name = str(node.children[0])
        if name in scope:
            return scope[name]
        return _Root(self, name)

    def _rule_get_attr_expr_term(self, node: Tree, scope):
        target, get_attr = _trees(node)
        name = str(_trees(get_attr)[0].children[0])
        return _attribute(self._evaluate(target, scope), name)

    def _rule_index_expr_term(self, node: Tree, scope):
        target, index = _trees(node)
        key = int(index.children[-1]) if index.data == "short_index" else self._evaluate(_trees(index)[0], scope)
        return _index(self._evaluate(target, scope), key)

    def _rule_function_call(self, node: Tree, scope):
        name_node, *rest = _trees(node)
        name = str(name_node.children[0])
        arguments = [self._evaluate(a, scope) for a in _trees(rest[0])] if rest else []
        function = self._functions().get(name)
        if function is None:
            return Unknown(f"{name}(...)")
        if unknown := _is_unknown(*arguments):
            return Unknown(f"{name}({unknown.what})")
        return function(*arguments)

    def _rule_conditional(self, node: Tree, scope):
        condition, if_true, if_false = _trees(node)
        test = self._evaluate(condition, scope)
        if isinstance(test, Unknown):
            return test
        return self._evaluate(if_true if test else if_false, scope)

    def _rule_binary_op(self, node: Tree, scope):
        left_node, term = _trees(node)
        operator_node, right_node = _trees(term)
        operator = str(operator_node.children[0])
        left, right = self._evaluate(left_node, scope), self._evaluate(right_node, scope)
        if operator in ("==", "!="):
            if unknown := _is_unknown(left, right):
                return unknown
            return (left == right) is (operator == "==")
        if unknown := _is_unknown(left, right):
            return unknown
        return _BINARY[operator](left, right)

    def _rule_unary_op(self, node: Tree, scope):
        operator, operand = str(node.children[0]), self._evaluate(_trees(node)[0], scope)
        if isinstance(operand, Unknown):
            return operand
        return (not operand) if operator == "!" else -operand

    def _rule_for_tuple_expr(self, node: Tree, scope):
        intro, *expressions = _trees(node)
        condition = expressions.pop() if expressions[-1].data == "for_cond" else None
        return [self._evaluate(expressions[0], inner) for inner in self._iterations(intro, condition, scope)]

    def _rule_for_object_expr(self, node: Tree, scope):
        intro, *expressions = _trees(node)
        condition = expressions.pop() if expressions[-1].data == "for_cond" else None
        if any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in node.children):
            return Unknown("<grouping for expression>")
        key_node, value_node = expressions
        return {
            _terraform_string(self._evaluate(key_node, inner)): self._evaluate(value_node, inner)
            for inner in self._iterations(intro, condition, scope)
        }

    def _iterations(self, intro: Tree, condition: Tree | None, scope):
        *names, collection_node = _trees(intro)
        collection = self._evaluate(collection_node, scope)
        names = [str(n.children[0]) for n in names]
        for key, value in _items(collection):
            inner = {**scope, **({names[0]: key, names[1]: value} if len(names) == 2 else {names[0]: value})}
            if condition is None or self._evaluate(_trees(condition)[0], inner) is True:
                yield inner

    # -- names Terraform resolves --------------------------------------------

    def _named(self, namespace: str, name: str) -> Any:
        if namespace == "var":
            if name in self.overrides:
                return self.overrides[name]
            return self._value(self.variables.get(name), {})
        if namespace == "local":
            return self._value(self.locals[name], {}) if name in self.locals else Unknown(f"local.{name}")
        if namespace == "path" and name in ("module", "root"):
            return str(self.directory)
        if namespace in self.resources:
            expanded = self._expanded(namespace, name)
            if isinstance(expanded, dict):
                return {key: _ResourceValue(self, instance) for key, instance in expanded.items()}
            return _ResourceValue(self, expanded) if expanded else Unknown(f"{namespace}.{name}")
        return Unknown(f"{namespace}.{name}")

    def _functions(self) -> dict[str, Callable[..., Any]]:
        return {
            "tostring": _terraform_string,
            "file": self._file,
            "fileset": self._fileset,
            "replace": lambda text, old, new: text.replace(old, new),
            "strcontains": lambda text, part: part in text,
            "toset": lambda items: sorted(set(items)),
            "tolist": list,
            "merge": lambda *maps: {k: v for m in maps for k, v in m.items()},
            "concat": lambda *lists: [item for items in lists for item in items],
            "flatten": _flatten,
            "keys": lambda mapping: sorted(mapping),
            "values": lambda mapping: [mapping[k] for k in sorted(mapping)],
        }

    def _file(self, path: str) -> Any:
        target = Path(path)
        return target.read_text() if target.is_file() else Unknown(f"file({path}): no such file")

    def _fileset(self, directory: str, pattern: str) -> list[str]:
        base = Path(directory)
        relative = (str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
        return sorted(path for path in relative if fnmatch.fnmatch(path, pattern))


def _items(collection: Any):
    """(key, value) of a map, (index, value) of a list; nothing of an unknown."""
    if isinstance(collection, dict):
        return collection.items()
    return enumerate(collection) if isinstance(collection, list) else []


def _flatten(items: Any) -> list:
    return [leaf for item in items for leaf in (_flatten(item) if isinstance(item, list) else [item])]


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "&&": lambda a, b: a and b,
    "||": lambda a, b: a or b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class _Root:
    """The first name of a reference (``var``, ``local``, a resource type...)."""

    model: TerraformModel
    namespace: str


@dataclass(frozen=True)
class _ResourceValue:
    model: TerraformModel
    instance: Instance

    def attribute(self, name: str) -> Any:
        body = self.instance.body
        if name == "id":
            name = next((n for n in _NAME_ATTRIBUTES if n in body), name)
        value = body.get(name)
        is_block = isinstance(value, list) and any(isinstance(item, dict) for item in value)
        if name in body and not is_block:
            return self.model._value(value, {})
        return Unknown(f"{self.instance.kind}.{self.instance.address}.{name}")


def _attribute(target: Any, name: str) -> Any:
    if isinstance(target, _Root):
        return target.model._named(target.namespace, name)
    if isinstance(target, _ResourceValue):
        return target.attribute(name)
    if isinstance(target, dict):
        return target.get(name, Unknown(f"<no attribute {name}>"))
    if isinstance(target, Unknown):
        return Unknown(f"{target.what}.{name}")
    return Unknown(f"<{name} of {type(target).__name__}>")


def _index(target: Any, key: Any) -> Any:
    if isinstance(target, Unknown) or isinstance(key, Unknown):
        return _is_unknown(target, key)
    if isinstance(target, dict):
        return target.get(_terraform_string(key), Unknown(f"<no key {key}>"))
    if isinstance(target, list) and isinstance(key, int) and 0 <= key < len(target):
        return target[key]
    return Unknown(f"<index {key}>")
