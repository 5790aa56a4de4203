"""Read liver.yml (and a repository's override) into validated objects.

Files are read defensively: a size limit, UTF-8 with a clear error, no YAML anchors or
aliases (a 475-byte alias bomb otherwise expands into gigabytes), no duplicate keys.
Every problem is reported at once, each naming the file, the line and the key path.
"""

from __future__ import annotations

import difflib
import os
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydantic
import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from liver_gh.config import schema
from liver_gh.config.model import Config
from liver_gh.errors import ConfigError

MAX_CONFIG_BYTES = 1024 * 1024
MAX_OVERRIDE_BYTES = 64 * 1024


class _Loader(Reader, Scanner, Parser, Composer, SafeConstructor, Resolver):
    """PyYAML's safe loader without anchors and aliases."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def compose_node(self, parent: Node | None, index: int) -> Node:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise yaml.MarkedYAMLError(
                problem="YAML anchors and aliases are not supported; write the value out", problem_mark=mark
            )
        return typing.cast(Node, super().compose_node(parent, index))


def decode(raw: bytes, source: str, limit: int) -> str:
    """The file's text, or a ConfigError saying how to fix the encoding or size."""
    if len(raw) > limit:
        raise ConfigError([f"{source}: the file is {len(raw)} bytes; the limit is {limit} bytes."])
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError([f"{source}: the file is UTF-16; save it as UTF-8."])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(
            [f"{source}: byte {e.start} is not UTF-8 ({raw[e.start : e.start + 1]!r}); save the file as UTF-8."]
        ) from None


def parse_yaml(text: str, source: str) -> tuple[object, Node | None]:
    """The data and the node tree (for line numbers), without aliases or duplicate keys."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _no_duplicate_keys(node, source)
        return loader.construct_document(node), node
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        problem = e.problem or e.context or "invalid YAML"
        raise ConfigError([f"{source}: {where}: {problem}. Fix the YAML and run 'liver check-config'."]) from None
    except yaml.YAMLError as e:
        raise ConfigError([f"{source}: not valid YAML ({e}); fix it and run 'liver check-config'."]) from None
    finally:
        loader.dispose()


def _no_duplicate_keys(node: Node, source: str) -> None:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                if isinstance(key, ScalarNode):
                    if key.value in seen:
                        raise ConfigError(
                            [f"{source}: line {key.start_mark.line + 1}: key '{key.value}' appears twice; keep one."]
                        )
                    seen.add(key.value)
                stack.append(value)
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)


def _line(node: Node | None, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the value at ``loc`` (or of the nearest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, MappingNode):
            found = next(((k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == str(part)), None)
            if found is None:
                return line
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _model_at(root: type[pydantic.BaseModel], loc: Sequence[int | str]) -> type[pydantic.BaseModel] | None:
    """The schema model that holds the last key of ``loc``, to list its allowed keys."""
    current: Any = root
    for part in loc:
        current = _unwrap(current, part)
        if current is None:
            return None
    return current if isinstance(current, type) and issubclass(current, pydantic.BaseModel) else None


def _unwrap(current: Any, part: int | str) -> Any:
    if isinstance(current, type) and issubclass(current, pydantic.BaseModel):
        field = current.model_fields.get(str(part))
        if field is None:
            field = next((f for f in current.model_fields.values() if f.alias == part), None)
        return _strip(field.annotation) if field else None
    origin = typing.get_origin(current)
    if origin in (list, dict):
        return _strip(typing.get_args(current)[-1])
    return None


def _strip(annotation: Any) -> Any:
    """Optional[X], Annotated[X, ...] and unions of one model: X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, pydantic.BaseModel)]
            annotation = models[0] if len(models) == 1 else (args[0] if len(args) == 1 else None)
            if annotation is None:
                return None
        else:
            return annotation


def _clean_loc(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    """pydantic adds union members and validators to locations; they mean nothing to a user."""
    return tuple(
        p for p in loc if not (isinstance(p, str) and (p.endswith("Schema") or "[" in p or p.startswith("function-")))
    )


def _message(error: Any, root: type[pydantic.BaseModel]) -> str:
    kind, msg, loc = error["type"], error["msg"], _clean_loc(error["loc"])
    if kind == "extra_forbidden":
        holder = _model_at(root, loc[:-1])
        allowed = sorted(f.alias or n for n, f in holder.model_fields.items()) if holder else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]}?" if close else f"allowed keys here: {', '.join(allowed)}"
        return f"unknown key; {hint}."
    if kind == "missing":
        return "is required."
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
    text = str(msg)
    return text[0].lower() + text[1:] + ("" if text.endswith(".") else ".")


def validation_problems(
    exc: pydantic.ValidationError, root: type[pydantic.BaseModel], source: str, node: Node | None
) -> list[str]:
    out = []
    seen: set[str] = set()
    for error in exc.errors():
        loc = _clean_loc(error["loc"])
        # A value that fits none of a union's shapes shows each; one line per key path is enough.
        text = f"{_path(loc)}: {_message(error, root)}"
        key = _path(loc) if error["type"] not in ("extra_forbidden", "missing") else text
        if key in seen:
            continue
        seen.add(key)
        out.append(_located(source, node, loc, text))
    return out


def _located(source: str, node: Node | None, loc: Sequence[int | str], text: str) -> str:
    line = _line(node, loc)
    return f"{source}:{line}: {text}" if line else f"{source}: {text}"


def parse_config(text: str, source: str, base_dir: Path | None = None) -> Config:
    data, node = parse_yaml(text, source)
    if data is None:
        raise ConfigError([f"{source}: the file is empty; start it with 'version: 1' and a 'services' list."])
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: the top level must be a mapping of keys (version, services, ...)."])
    try:
        validated = schema.ConfigSchema.model_validate(data)
    except pydantic.ValidationError as e:
        raise ConfigError(validation_problems(e, schema.ConfigSchema, source, node)) from None
    cross = validated.cross_problems()
    if cross:
        raise ConfigError([_located(source, node, loc, f"{_path(loc)}: {msg}.") for loc, msg in cross])
    explanations = None
    if validated.explanations_dir:
        explanations = Path(validated.explanations_dir)
        if not explanations.is_absolute() and base_dir is not None:
            explanations = base_dir / explanations
    return schema.build(validated, Path(source), explanations)


def default_path() -> Path:
    return Path(os.environ.get("LIVER_CONFIG") or "liver.yml")


def load_config(path: Path | None = None) -> Config:
    path = path or default_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: file not found; create it (see the README's configuration reference) or pass --config."]
        ) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a folder; pass the path of liver.yml itself."]) from None
    except OSError as e:
        raise ConfigError([f"{path}: cannot be read ({e.strerror}); check the path and permissions."]) from None
    return parse_config(decode(raw, str(path), MAX_CONFIG_BYTES), str(path), path.parent)
