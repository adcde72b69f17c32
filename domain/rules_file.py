"""Reading a rules file: YAML text → validated `Rules`, or every problem with its line number.

Pure: the caller reads the file and passes its text and a display name. The version is a hash of
the parsed content, so reformatting or re-commenting a file does not make a new version.
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from domain.errors import RuleProblem, RulesError
from domain.rules import Rules, lifecycle_problems


def parse_rules(text: str, source: str = "<rules>") -> Rules:
    """Validate a rules file's text. Raises `RulesError` listing every problem found."""
    data = _load_yaml(text, source)
    if "version" in data:
        line = data.lc.key("version")[0] + 1
        raise RulesError([RuleProblem(source, line, "version", "is set from the file's content; remove it")])
    try:
        rules = Rules.model_validate(data)
    except ValidationError as exc:
        raise RulesError([_problem(err, data, source) for err in _without_union_noise(exc.errors(), data)]) from None
    problems = [
        RuleProblem(source, _line_of(data, tuple(path.split("."))), path, message)
        for path, message in lifecycle_problems(rules.lifecycle, rules.reasons)
    ]
    if problems:
        raise RulesError(problems)
    return rules.model_copy(update={"version": rules_version(data)})


def rules_version(data: Any) -> str:
    """A stable id for a rules document's content: `r-` and 12 hex digits."""
    canonical = json.dumps(_plain(data), sort_keys=True, separators=(",", ":"), default=str)
    return "r-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _load_yaml(text: str, source: str) -> Any:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise RulesError([RuleProblem(source, line, "", f"not valid YAML: {exc.problem or exc}")]) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. duplicate keys)
        raise RulesError([RuleProblem(source, None, "", f"not valid YAML: {exc}")]) from None
    if not isinstance(data, CommentedMap):
        raise RulesError([RuleProblem(source, 1, "", "the file must be a mapping of sections")])
    return data


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


_SCALAR_TAGS = frozenset({"str", "int", "float", "bool", "none"})


def _without_union_noise(errors: list[Any], data: Any) -> list[Any]:
    """A value that fits no member of a union (`source: stage | [stage]`) gets one pydantic error per
    member, each under a tag (`source.list[str-enum[Stage]].1`). Keep what says what is wrong, under
    the field's own path: the errors from inside a member the value had the shape of; else the
    errors that are not a mere type mismatch; else one line naming the types that would do."""
    out: list[Any] = []
    unions: dict[tuple[Any, ...], list[Any]] = {}
    for err in errors:
        loc = tuple(err["loc"])
        tag = _first_union_tag(loc, data)
        if tag is None:
            out.append(err)
            continue
        field = loc[:tag]
        if field not in unions:
            unions[field] = []
            out.append(field)  # the union's problems go where its first error was
        unions[field].append({**err, "loc": field + loc[tag + 1 :]})
    result: list[Any] = []
    for item in out:
        if not isinstance(item, tuple):
            result.append(item)
            continue
        group = unions[item]
        deeper = [e for e in group if len(e["loc"]) > len(item)]
        specific = [e for e in group if not str(e["type"]).endswith("_type")]
        if deeper:
            result += _without_union_noise(deeper, data)
        elif specific:
            result += specific
        else:
            wanted = " or ".join(dict.fromkeys(str(e["msg"]).removeprefix("Input should be ") for e in group))
            result.append({**group[0], "msg": f"Input should be {wanted}"})
    return result


def _first_union_tag(loc: tuple[Any, ...], data: Any) -> int | None:
    """Where in `loc` pydantic put the first union-member tag (`str`, `list[...]`), if anywhere."""
    node = data
    for index, part in enumerate(loc):
        key = next((k for k in node if str(k) == str(part)), None) if isinstance(node, dict) else None
        if key is None and isinstance(part, str) and part != "[key]" and ("[" in part or part in _SCALAR_TAGS):
            return index
        if key is not None:
            node = node[key]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return None


def _problem(err: Any, data: Any, source: str) -> RuleProblem:
    loc = tuple(str(p) for p in err["loc"])
    path = ".".join(p for p in loc if p != "[key]")
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        hint = f"; expected one of: {', '.join(known)}" if known else ""
        message = f"unknown key {loc[-1]!r} (a typo?){hint}"
    elif err["type"] == "missing":
        message = "is required but missing"
    elif "input" in err and err["type"] in ("enum", "literal_error") and not isinstance(err["input"], dict):
        message = f"{err['input']!r} is not allowed: {message}"
    return RuleProblem(source, _line_of(data, loc), path, message)


def _line_of(data: Any, loc: tuple[str, ...]) -> int | None:
    """The 1-based line of the deepest node along `loc` that exists in the YAML."""
    node, line = data, 1
    for part in loc:
        if isinstance(node, CommentedMap):
            key = next((k for k in node if str(k) == part), None)
            if key is None:
                break
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and part.isdigit() and int(part) < len(node):
            line = node.lc.item(int(part))[0] + 1
            node = node[int(part)]
        else:
            break
    return line


def _known_keys(loc: tuple[str, ...]) -> list[str]:
    """The field names the schema accepts at `loc`, when it is a model there."""
    annotation: Any = Rules
    for part in loc:
        annotation = _unwrap(annotation, part)
        if annotation is None:
            return []
    model = _model_in(annotation)
    return list(model.model_fields) if model else []


def _unwrap(annotation: Any, part: str) -> Any:
    model = _model_in(annotation)
    if model is not None:
        field = model.model_fields.get(part)
        return field.annotation if field else None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, tuple) and part.isdigit():
        return args[0] if args else None
    if origin is dict:
        return args[1] if len(args) == 2 else None
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) or origin is typing.Annotated:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
