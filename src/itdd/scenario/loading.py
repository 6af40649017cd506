"""Loading a scenario: YAML (a key written twice is refused), validation with one-line errors
naming the field, and the published JSON Schema.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import InputError
from .model import Scenario, check_pathway_blocks


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    skip_next_tag = False
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            skip_next_tag = loc[i - 1] == "events" if i > 0 else False
            continue
        if skip_next_tag:  # the discriminator tag pydantic inserts after events[i]
            skip_next_tag = False
            continue
        if part.startswith("function-") or part in ("list", "str", "literal"):
            continue
        out += ("." if out else "") + part
    return out


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    msg = str(err.get("msg", ""))
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"unknown event type {ctx.get('tag')!r} (one of {ctx.get('expected_tags')})"
    if kind == "union_tag_not_found":
        return "every event needs a 'type'"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg.replace("\n", " ")


def format_validation_error(exc: ValidationError, root: str = "") -> InputError:
    err = exc.errors()[0]
    field = _loc(tuple(err["loc"]))
    if root:
        field = f"{root}.{field}" if field else root
    message = _message(dict(err))
    value = err.get("input")
    if isinstance(value, str | int | float) and not isinstance(value, bool) and err.get("type") != "missing":
        shown = repr(value)
        if shown not in message and str(value) not in message:
            message = f"{shown}: {message}"  # the value as it was written
    return InputError(field or "scenario", message)


def parse_scenario_data(data: Any) -> Scenario:
    if not isinstance(data, dict):
        raise InputError("scenario", "the file must hold a mapping of keys (name, start, duration, pump...)")
    if data.get("pathway") is not None:
        check_pathway_blocks(data)  # before the blocks' own validation: a pump block is out of place as a whole
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc) from None
    if scn.pathway is None:
        for key in ("duration", "pump"):
            if getattr(scn, key) is None:
                raise InputError(key, "required key is missing")
    return scn


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, but a key written twice in one mapping is refused (plain YAML keeps
    the last one silently)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            continue  # the base constructor refuses it with its own message
        if key in seen:
            raise InputError(
                str(key),
                f"the key {key!r} is written twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1}); "
                "keep one",
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_scenario_text(text: str) -> Scenario:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError("scenario", f"not valid YAML{where}") from None
    return parse_scenario_data(data)


def load_scenario(path: str) -> Scenario:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise InputError("scenario", f"cannot read {path}: {exc.strerror}") from None
    return load_scenario_text(text)


def json_schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://itdd.example/scenario.schema.json"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
