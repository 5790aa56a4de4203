"""Check HTTP exchanges against GitHub's published OpenAPI description.

The fake GitHub runs every request it receives and every response it produces
through :class:`OpenAPISpec`. A request GitHub would reject, or a response that
does not match what GitHub documents, raises :class:`OpenAPIValidationError`
(an ``AssertionError``), so it fails the test instead of becoming a quiet 4xx.

The description (``github-openapi.json``, a trimmed copy of GitHub's spec, MIT
licensed, see ``OPENAPI-LICENSE``) is OpenAPI 3.0, so schemas are checked with
``openapi_schema_validator.OAS30Validator`` (it understands ``nullable``).

Deliberate deviations from the raw description, all in :data:`OVERLAYS`:

* request bodies are closed (``additionalProperties: false``): GitHub ignores
  unknown fields, so a misspelt field would otherwise be lost silently;
* unknown query parameters are rejected for the same reason;
* ``per_page`` is capped at 100, which the parameter's description states but
  its schema does not;
* add/set labels also accept a bare JSON array, which their descriptions
  document (and PyGithub sends) but their schemas omit.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote

from jsonschema import FormatChecker
from jsonschema.exceptions import best_match
from jsonschema.validators import extend
from openapi_schema_validator import OAS30Validator, oas30_format_checker

__all__ = [
    "DEFAULT_SPEC_PATH",
    "NO_BODY",
    "OVERLAYS",
    "OpenAPISpec",
    "OpenAPIValidationError",
    "Operation",
    "load_spec",
]

DEFAULT_SPEC_PATH: Final = Path(__file__).with_name("github-openapi.json")

OVERLAYS: Final = (
    "request bodies: additionalProperties=false",
    "query: unknown parameters rejected",
    "query: per_page maximum 100",
    "issues/add-labels, issues/set-labels: bare JSON array body accepted",
    "nullable: true admits null even when an enum omits it (what GitHub sends)",
    "issue-search-result-item.body is nullable, as issue.body is (issues without a body)",
    "a discriminator whose mapping names an array schema is ignored (plain oneOf): "
    "an array has no property to discriminate on, so GET contents of a directory "
    "could never validate",
)

# Bounded so a long benchmark cannot grow memory without limit.
_MAX_CACHED_VALID = 200_000
_MAX_PER_PAGE = 100
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class OpenAPIValidationError(AssertionError):
    """A request or response does not conform to GitHub's OpenAPI description."""


class _NoBody:
    """Marker for "the request carried no body" (distinct from a JSON ``null``)."""

    _instance: _NoBody | None = None

    def __new__(cls) -> _NoBody:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Final = _NoBody()


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return True


_URI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+")


def _is_uri(value: object) -> bool:
    # An absolute URI: scheme, colon, something (RFC 3986 section 4.3, loosely).
    return not isinstance(value, str) or _URI.fullmatch(value) is not None


def _format_checker() -> FormatChecker:
    # OAS30's own checker knows only numeric/binary formats; GitHub's schemas
    # lean on date-time and uri, which are worth checking in a fake.
    checker = FormatChecker(formats=())
    checker.checkers = dict(oas30_format_checker.checkers)
    checker.checks("date-time")(_is_datetime)
    checker.checks("uri")(_is_uri)
    return checker


_FORMAT_CHECKER: Final = _format_checker()

_ENUM = OAS30Validator.VALIDATORS["enum"]


def _nullable_enum(validator: Any, enums: Any, instance: Any, schema: Any) -> Any:
    # GitHub marks e.g. issue.state_reason `nullable` with an enum lacking
    # null and sends null; OAS 3.0.3 is ambiguous, real traffic is not.
    if instance is None and schema.get("nullable") is True:
        return
    yield from _ENUM(validator, enums, instance, schema)


_Validator: Final[Any] = extend(OAS30Validator, {"enum": _nullable_enum})


@dataclass(frozen=True)
class _Param:
    name: str
    location: str
    required: bool
    schema: Mapping[str, Any]
    multi_segment: bool


@dataclass(frozen=True)
class Operation:
    """One (method, path template) of the description."""

    operation_id: str
    method: str
    template: str
    path_params: Mapping[str, _Param]
    query_params: Mapping[str, _Param]
    body_schema: Mapping[str, Any] | None
    body_required: bool
    responses: Mapping[str, Mapping[str, Any]]
    regex: re.Pattern[str]
    literal_segments: int

    def describe(self) -> str:
        return f"{self.operation_id} ({self.method} {self.template})"


def _coerce(value: str, schema: Mapping[str, Any]) -> Any:
    """Turn a query/path string into the JSON type its schema declares."""
    kind = schema.get("type")
    if kind == "integer":
        if re.fullmatch(r"[+-]?\d+", value):
            return int(value)
        raise ValueError(f"{value!r} is not an integer")
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if kind == "boolean":
        if value in ("true", "false"):
            return value == "true"
        raise ValueError(f"{value!r} is not a boolean (true|false)")
    if kind == "array":
        items = schema.get("items", {})
        return [_coerce(part, items) for part in value.split(",")]
    return value


def _close_objects(schema: Any) -> Any:
    """Copy ``schema`` with every inline object closed to unknown properties.

    ``$ref`` targets are shared components (also used by responses), so they
    are left alone; request bodies here are all inline.
    """
    if isinstance(schema, list):
        return [_close_objects(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            # A name -> schema mapping, not a schema: recurse into the values.
            out[key] = {name: _close_objects(sub) for name, sub in value.items()}
        elif key in ("enum", "required", "default"):
            out[key] = value
        else:
            out[key] = _close_objects(value)
    if "properties" in schema and "additionalProperties" not in schema:
        out["additionalProperties"] = False
    return out


_BARE_LABEL_ARRAYS: Final[Mapping[str, Mapping[str, Any]]] = {
    # Documented in the operation descriptions: "You can also pass an array
    # of labels directly". PyGithub's add_to_labels/set_labels do exactly that.
    "issues/add-labels": {
        "type": "array",
        "minItems": 1,
        "items": {
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {"name": {"type": "string"}},
                    "required": ["name"],
                    "additionalProperties": False,
                },
            ]
        },
    },
    "issues/set-labels": {
        "type": "array",
        "items": {
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {"name": {"type": "string"}},
                    "required": ["name"],
                    "additionalProperties": False,
                },
            ]
        },
    },
}


Check = Callable[[Any], bool]

# Keywords that never affect validity (OAS 3.0 annotations).
_ANNOTATIONS: Final = frozenset(
    {
        "title",
        "description",
        "default",
        "example",
        "examples",
        "deprecated",
        "externalDocs",
        "xml",
        "nullable",
        "discriminator",
        "readOnly",
        "writeOnly",
        "components",
    }
)
_TYPES: Final[Mapping[str, Check]] = {
    "string": lambda x: isinstance(x, str),
    "integer": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "number": lambda x: isinstance(x, int | float) and not isinstance(x, bool),
    "boolean": lambda x: isinstance(x, bool),
    "array": lambda x: isinstance(x, list),
    "object": lambda x: isinstance(x, dict),
}


def _nullable(inner: Check) -> Check:
    def check(x: Any) -> bool:
        return x is None or inner(x)

    return check


def _every(checks: tuple[Check, ...]) -> Check:
    def check(x: Any) -> bool:
        return all(c(x) for c in checks)

    return check


def _exactly_one(checks: tuple[Check, ...]) -> Check:
    def check(x: Any) -> bool:
        return sum(1 for c in checks if c(x)) == 1

    return check


def _some(checks: tuple[Check, ...]) -> Check:
    def check(x: Any) -> bool:
        return any(c(x) for c in checks)

    return check


def _enum(values: Sequence[Any], nullable: bool) -> Check:
    # jsonschema's equality keeps True apart from 1.
    allowed = [(type(v) is bool, v) for v in values]

    def check(x: Any) -> bool:
        if x is None and nullable:
            return True
        return any((type(x) is bool) == is_bool and x == v for is_bool, v in allowed)

    return check


def _format(fmt: str) -> Check:
    direct = {"uri": _is_uri, "date-time": _is_datetime}.get(fmt)

    def check(x: Any) -> bool:
        if x is None:
            return True
        return direct(x) if direct is not None else bool(_FORMAT_CHECKER.conforms(x, fmt))

    return check


def _properties(compiled: tuple[tuple[str, Check], ...]) -> Check:
    def check(x: Any) -> bool:
        return not isinstance(x, dict) or all(c(x[n]) for n, c in compiled if n in x)

    return check


def _required(names: tuple[str, ...]) -> Check:
    def check(x: Any) -> bool:
        return not isinstance(x, dict) or all(n in x for n in names)

    return check


def _closed(known: frozenset[str]) -> Check:
    def check(x: Any) -> bool:
        return not isinstance(x, dict) or all(key in known for key in x)

    return check


def _extra(known: frozenset[str], sub: Check) -> Check:
    def check(x: Any) -> bool:
        return not isinstance(x, dict) or all(sub(v) for key, v in x.items() if key not in known)

    return check


def _items(sub: Check) -> Check:
    def check(x: Any) -> bool:
        return not isinstance(x, list) or all(sub(v) for v in x)

    return check


def _bound(keyword: str, limit: Any) -> Check:
    def check(x: Any) -> bool:
        if keyword in ("minItems", "maxItems"):
            if not isinstance(x, list):
                return True
            return bool(len(x) >= limit if keyword == "minItems" else len(x) <= limit)
        if keyword in ("minLength", "maxLength"):
            if not isinstance(x, str):
                return True
            return bool(len(x) >= limit if keyword == "minLength" else len(x) <= limit)
        if not _TYPES["number"](x):
            return True
        return bool(x >= limit) if keyword == "minimum" else bool(x <= limit)

    return check


_KNOWN: Final = frozenset(
    {
        "$ref",
        "type",
        "enum",
        "format",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "oneOf",
        "anyOf",
        "allOf",
    }
)


class _Compiler:
    """Turn an OAS 3.0 schema into a plain-Python predicate.

    jsonschema interprets schemas node by node and dominates the cost of
    validating every response; a closure tree is an order of magnitude
    faster. It mirrors ``OAS30Validator`` keyword by keyword (nullable, the
    readOnly/writeOnly escape in ``required``, discriminators) and hands any
    node using a keyword it does not know to jsonschema. Callers re-check a
    failure with jsonschema, which stays the reference and writes the message.
    """

    def __init__(self, spec: OpenAPISpec) -> None:
        self._spec = spec
        self._refs: dict[str, Check] = {}
        self._pending: dict[str, Check] = {}

    def ref(self, ref: str) -> Check:
        check = self._refs.get(ref)
        if check is None:
            with self._spec._lock:
                return self._ref_locked(ref)
        return check

    def _ref_locked(self, ref: str) -> Check:
        check = self._refs.get(ref) or self._pending.get(ref)
        if check is None:
            slot: list[Check] = []

            def pending(x: Any) -> bool:
                return slot[0](x)

            # A placeholder lets recursive schemas terminate; it stays private
            # to the compiling thread until the real check is published.
            self._pending[ref] = pending
            slot.append(self.compile(self._spec._resolve({"$ref": ref})))
            check = self._refs[ref] = slot[0]
            del self._pending[ref]
        return check

    def compile(self, schema: Any) -> Check:
        if not isinstance(schema, Mapping):
            return self._fallback(schema)
        unknown = [k for k in schema if k not in _ANNOTATIONS and k not in _KNOWN and not k.startswith("x-")]
        if (
            unknown
            or isinstance(schema.get("type"), list)
            or isinstance(schema.get("items"), list)
            or schema.get("exclusiveMinimum")
            or schema.get("exclusiveMaximum")
            or ("type" in schema and schema["type"] not in _TYPES)
            or not all(isinstance(v, str | int | float | bool | None) for v in schema.get("enum", ()))
        ):
            return self._fallback(schema)
        nullable = schema.get("nullable") is True
        checks: list[Check] = []
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"]))
        if "type" in schema:
            kind = _TYPES[schema["type"]]
            checks.append(_nullable(kind) if nullable else kind)
        if "enum" in schema:
            checks.append(_enum(schema["enum"], nullable))
        if "format" in schema:
            checks.append(_format(schema["format"]))
        checks.extend(self._object(schema))
        if "items" in schema:
            checks.append(_items(self.compile(schema["items"])))
        for keyword in ("minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum"):
            if keyword in schema:
                checks.append(_bound(keyword, schema[keyword]))
        checks.extend(self._combinators(schema))
        return checks[0] if len(checks) == 1 else _every(tuple(checks))

    def _object(self, schema: Mapping[str, Any]) -> list[Check]:
        out: list[Check] = []
        props: Mapping[str, Any] = schema.get("properties", {})
        if props:
            out.append(_properties(tuple((name, self.compile(sub)) for name, sub in props.items())))
        if schema.get("required"):
            # OAS30Validator lets a readOnly/writeOnly property be absent.
            out.append(
                _required(
                    tuple(
                        name
                        for name in schema["required"]
                        if not (
                            isinstance(props.get(name), Mapping)
                            and (props[name].get("readOnly") or props[name].get("writeOnly"))
                        )
                    )
                )
            )
        extra = schema.get("additionalProperties", True)
        if extra is False:
            out.append(_closed(frozenset(props)))
        elif isinstance(extra, Mapping):
            out.append(_extra(frozenset(props), self.compile(extra)))
        elif extra is not True:
            out.append(self._fallback(schema))
        return out

    def _combinators(self, schema: Mapping[str, Any]) -> list[Check]:
        keys = [k for k in ("oneOf", "anyOf", "allOf") if k in schema]
        if keys and "discriminator" in schema:
            return [self._discriminated(schema["discriminator"])]
        combine = {"oneOf": _exactly_one, "anyOf": _some, "allOf": _every}
        return [combine[key](tuple(self.compile(b) for b in schema[key])) for key in keys]

    def _discriminated(self, discriminator: Mapping[str, Any]) -> Check:
        prop = discriminator["propertyName"]
        mapping: Mapping[str, Any] = discriminator.get("mapping", {})

        def check(x: Any) -> bool:
            if not isinstance(x, dict) or not x.get(prop):
                return False
            ref = mapping.get(x[prop]) or f"#/components/schemas/{x[prop]}"
            try:
                return isinstance(ref, str) and self.ref(ref)(x)
            except (KeyError, ValueError):
                return False

        return check

    def _fallback(self, schema: Any) -> Check:
        root = {**schema, "components": self._spec._components} if isinstance(schema, Mapping) else schema
        validator = _Validator(root, format_checker=_FORMAT_CHECKER)

        def check(x: Any) -> bool:
            return bool(validator.is_valid(x))

        return check


@dataclass(frozen=True)
class _SchemaCheck:
    fast: Check
    slow: Any  # the jsonschema validator: the reference, and the error messages


def _drop_array_discriminators(node: Any, schemas: Mapping[str, Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _drop_array_discriminators(item, schemas)
        return
    if not isinstance(node, dict):
        return
    mapping = node.get("discriminator", {}).get("mapping", {})
    targets = [schemas.get(ref.rsplit("/", 1)[-1], {}) for ref in mapping.values() if isinstance(ref, str)]
    if any(target.get("type") == "array" for target in targets):
        del node["discriminator"]
    for value in node.values():
        _drop_array_discriminators(value, schemas)


def _apply_overlays(document: dict[str, Any]) -> dict[str, Any]:
    """Apply the response-side entries of :data:`OVERLAYS` to a private copy."""
    schemas = document.get("components", {}).get("schemas", {})
    search_item = schemas.get("issue-search-result-item", {}).get("properties", {})
    if "body" in search_item:
        search_item["body"] = {**search_item["body"], "nullable": True}
    _drop_array_discriminators(document.get("paths", {}), schemas)
    return document


class OpenAPISpec:
    """A loaded description with compiled, cached validators.

    Build with :func:`load_spec` so every fake in a process shares one instance
    (and one set of compiled validators).
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        document = _apply_overlays(copy.deepcopy(dict(document)))
        self.document = document
        self._components: Mapping[str, Any] = document.get("components", {})
        self._operations: dict[str, list[Operation]] = {}
        self._by_id: dict[str, Operation] = {}
        self._validators: dict[tuple[str, ...], _SchemaCheck] = {}
        self._compiler = _Compiler(self)
        # One spec is shared by every fake in the process, some serving from
        # threads: compiling (which fills caches) happens under this lock.
        self._lock = threading.RLock()
        self._known_valid: set[tuple[str, int]] = set()
        for template, item in document.get("paths", {}).items():
            shared = item.get("parameters", [])
            for method in _HTTP_METHODS:
                if method in item:
                    op = self._compile(template, method, item[method], shared)
                    self._operations.setdefault(op.method, []).append(op)
                    self._by_id[op.operation_id] = op
        for ops in self._operations.values():
            # Literal segments beat parameters: /issues/events vs /issues/{n}.
            ops.sort(key=lambda o: (-o.literal_segments, o.template))

    # -- loading -----------------------------------------------------------

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise ValueError(f"unsupported $ref {ref!r}")
            target: Any = self.document
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
            seen += 1
            if seen > 32:
                raise ValueError(f"$ref loop at {ref}")
        return node

    def _compile(
        self,
        template: str,
        method: str,
        raw: Mapping[str, Any],
        shared: Sequence[Mapping[str, Any]],
    ) -> Operation:
        params: dict[tuple[str, str], _Param] = {}
        for ref_or_param in [*shared, *raw.get("parameters", [])]:
            p = self._resolve(ref_or_param)
            params[(p["in"], p["name"])] = _Param(
                name=p["name"],
                location=p["in"],
                required=bool(p.get("required", False)),
                schema=p.get("schema", {}),
                multi_segment=bool(p.get("x-multi-segment", False)),
            )
        path_params = {n: p for (loc, n), p in params.items() if loc == "path"}
        query_params = {n: p for (loc, n), p in params.items() if loc == "query"}

        pattern = ""
        literal = 0
        for segment in template.strip("/").split("/"):
            m = re.fullmatch(r"\{([^}]+)\}", segment)
            if m:
                name = m.group(1)
                group = re.sub(r"\W", "_", name)
                multi = name in path_params and path_params[name].multi_segment
                pattern += f"/(?P<{group}>{'.+' if multi else '[^/]+'})"
            else:
                literal += 1
                pattern += "/" + re.escape(segment)

        body_schema: Mapping[str, Any] | None = None
        body_required = False
        operation_id = str(raw.get("operationId", f"{method} {template}"))
        if "requestBody" in raw:
            rb = self._resolve(raw["requestBody"])
            body_required = bool(rb.get("required", False))
            content = rb.get("content", {})
            media: Mapping[str, Any] = content.get("application/json") or next(iter(content.values()), {})
            if "schema" in media:
                closed = _close_objects(copy.deepcopy(dict(self._resolve(media["schema"]))))
                extra = _BARE_LABEL_ARRAYS.get(operation_id)
                if extra is not None:
                    closed = {"oneOf": [*closed.get("oneOf", [closed]), dict(extra)]}
                body_schema = closed

        responses = {str(code): self._resolve(resp) for code, resp in raw.get("responses", {}).items()}
        return Operation(
            operation_id=operation_id,
            method=method.upper(),
            template=template,
            path_params=path_params,
            query_params=query_params,
            body_schema=body_schema,
            body_required=body_required,
            responses=responses,
            regex=re.compile(f"^{pattern or '/'}$"),
            literal_segments=literal,
        )

    def _validator(self, key: tuple[str, ...], schema: Mapping[str, Any]) -> _SchemaCheck:
        check = self._validators.get(key)
        if check is not None:
            return check
        with self._lock:
            return self._validator_locked(key, schema)

    def _validator_locked(self, key: tuple[str, ...], schema: Mapping[str, Any]) -> _SchemaCheck:
        check = self._validators.get(key)
        if check is None:
            # Hang the components off the root so "#/components/..." refs
            # resolve without copying or rewriting the description.
            root = {**schema, "components": self._components}
            slow = _Validator(root, format_checker=_FORMAT_CHECKER)
            check = _SchemaCheck(fast=self._compiler.compile(schema), slow=slow)
            self._validators[key] = check
        return check

    # -- lookup --------------------------------------------------------------

    @property
    def operations(self) -> list[Operation]:
        return [op for ops in self._operations.values() for op in ops]

    def operation(self, operation_id: str) -> Operation:
        return self._by_id[operation_id]

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """Find the operation for ``method`` and a raw (percent-encoded) path."""
        for op in self._operations.get(method.upper(), ()):
            m = op.regex.match(path)
            if m:
                values = {}
                for name in op.path_params:
                    raw_value = m.group(re.sub(r"\W", "_", name))
                    values[name] = unquote(raw_value)
                return op, values
        return None

    # -- requests ------------------------------------------------------------

    def validate_request(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]] = (),
        body: Any = NO_BODY,
    ) -> Operation | None:
        """Validate one request; return its operation, or None if undocumented."""
        found = self.match(method, path)
        if found is None:
            return None
        op, path_values = found
        where = f"GitHub would reject {op.describe()}"

        for name, value in path_values.items():
            self._check_param(op, op.path_params[name], value, where)

        seen: dict[str, str] = {}
        for name, value in query:
            param = op.query_params.get(name)
            if param is None:
                raise OpenAPIValidationError(
                    f"{where}: unknown query parameter {name!r} (documented: {sorted(op.query_params) or 'none'})"
                )
            if name in seen:
                raise OpenAPIValidationError(f"{where}: query parameter {name!r} given twice")
            seen[name] = value
            self._check_param(op, param, value, where)
        for name, param in op.query_params.items():
            if param.required and name not in seen:
                raise OpenAPIValidationError(f"{where}: missing required query parameter {name!r}")

        if body is NO_BODY:
            if op.body_required:
                raise OpenAPIValidationError(f"{where}: a JSON request body is required")
        elif op.body_schema is None:
            if body not in ({}, None):
                raise OpenAPIValidationError(f"{where}: this operation takes no request body")
        else:
            validator = self._validator(("request", op.operation_id), op.body_schema)
            self._check(validator, body, f"{where}: request body")
        return op

    def _check_param(self, op: Operation, param: _Param, value: str, where: str) -> None:
        label = f"{where}: {param.location} parameter {param.name!r}"
        try:
            coerced = _coerce(value, param.schema)
        except ValueError as exc:
            raise OpenAPIValidationError(f"{label}: {exc}") from None
        if param.name == "per_page" and isinstance(coerced, int) and coerced > _MAX_PER_PAGE:
            raise OpenAPIValidationError(f"{label}: {coerced} exceeds the maximum of 100")
        key = ("param", op.operation_id, param.location, param.name)
        self._check(self._validator(key, param.schema), coerced, label)

    # -- responses -----------------------------------------------------------

    def response_spec(self, op: Operation, status: int) -> Mapping[str, Any] | None:
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in op.responses:
                return op.responses[key]
        return None

    def validate_response(self, op: Operation, status: int, body: Any = NO_BODY) -> None:
        """Validate a response body (parsed JSON, or NO_BODY) for ``status``.

        Error statuses an operation does not list (GitHub answers 401, 403
        rate limits, 5xx from any endpoint) are checked against
        ``basic-error``; an undocumented success status is an error.
        """
        where = f"GitHub does not answer {op.describe()} with this {status} response"
        spec = self.response_spec(op, status)
        schema: Mapping[str, Any] | None
        if spec is None:
            if status < 400 and status != 304:
                raise OpenAPIValidationError(
                    f"{where}: status {status} is not documented (documented: {sorted(op.responses)})"
                )
            schema = {"$ref": "#/components/schemas/basic-error"} if status >= 400 else None
        else:
            content = spec.get("content") or {}
            found: Mapping[str, Any] | None = content.get("application/json") or next(iter(content.values()), None)
            schema = found.get("schema") if found else None
        if status in (204, 304):
            if body is not NO_BODY:
                raise OpenAPIValidationError(f"{where}: a {status} response must have no body")
            return
        if body is NO_BODY:
            if schema is not None:
                raise OpenAPIValidationError(f"{where}: a JSON body is documented, got none")
            return
        if schema is None:
            return
        self._check_cached(("response", op.operation_id, str(status)), schema, body, where)

    def validate_component(self, name: str, instance: Any) -> None:
        """Validate ``instance`` against ``#/components/schemas/<name>``."""
        schema = {"$ref": f"#/components/schemas/{name}"}
        self._check_cached(("component", name), schema, instance, f"schema {name!r}")

    def _check_cached(self, key: tuple[str, ...], schema: Mapping[str, Any], instance: Any, where: str) -> None:
        resolved = self._resolve(schema)
        items = resolved.get("items") if resolved.get("type") == "array" else None
        if isinstance(instance, list) and isinstance(items, Mapping):
            # Lists are mostly objects already seen (issues re-listed page
            # after page), so validate per item and remember what passed.
            outer = self._validator((*key, "outer"), {**resolved, "items": {}})
            self._check(outer, instance, where)
            item_validator = self._validator((*key, "items"), items)
            for index, item in enumerate(instance):
                self._check_once(item_validator, (*key, "items"), item, f"{where}: item {index}")
        else:
            self._check_once(self._validator(key, schema), key, instance, where)

    def _check_once(self, check: _SchemaCheck, key: tuple[str, ...], instance: Any, where: str) -> None:
        fingerprint = ("\0".join(key), hash(json.dumps(instance, separators=(",", ":"))))
        if fingerprint in self._known_valid:
            return
        self._check(check, instance, where)
        if len(self._known_valid) >= _MAX_CACHED_VALID:
            self._known_valid.clear()
        self._known_valid.add(fingerprint)

    @staticmethod
    def _check(check: _SchemaCheck, instance: Any, where: str) -> None:
        if check.fast(instance) or check.slow.is_valid(instance):
            # The compiled check may only ever be stricter than jsonschema,
            # never laxer; when it is, jsonschema (the reference) wins.
            return
        error = best_match(check.slow.iter_errors(instance))
        location = "".join(f"[{part!r}]" for part in error.absolute_path) or "(top level)"
        schema_path = "/".join(str(part) for part in error.absolute_schema_path)
        raise OpenAPIValidationError(f"{where}: {error.message} at {location} (schema: {schema_path})")

    def agrees_with_jsonschema(self, schema: Mapping[str, Any], instance: Any) -> bool:
        """Whether the compiled check and jsonschema agree on ``instance`` (for tests)."""
        check = self._validator(("adhoc", json.dumps(schema, sort_keys=True)), schema)
        return bool(check.fast(instance)) == bool(check.slow.is_valid(instance))


@lru_cache(maxsize=4)
def _load(path: str) -> OpenAPISpec:
    with open(path, encoding="utf-8") as handle:
        return OpenAPISpec(json.load(handle))


def load_spec(path: Path | None = None) -> OpenAPISpec:
    """Load (once per process) and return the description at ``path``."""
    return _load(str((path or DEFAULT_SPEC_PATH).resolve()))
