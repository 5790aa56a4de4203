"""The explanation library: one Markdown template per control, plus product fallbacks.

A template is Markdown with YAML front matter, rendered by Jinja2 (sandboxed, with
StrictUndefined so a typo in a variable fails loudly in the tests instead of printing
nothing in an issue). Files are indexed by name and parsed only when a finding needs
them, so a run does not pay for 600 templates it does not use. Organisations add or
override templates with ``explanations_dir``; shared parts live in ``_partials/`` and are
pulled in with ``{% include "_partials/NAME.md" %}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import yaml

from liver_gh.errors import ConfigError
from liver_gh.markdown import Markdown

REQUIRED_SECTIONS: dict[str, tuple[str, ...]] = {
    "control": ("Why it matters", "How to fix", "How to verify", "When suppression may be acceptable"),
    "product": ("What happened", "How to fix", "How to verify", "When suppression may be acceptable"),
}
FIX_SUBSECTIONS = ("Console", "AWS CLI", "Terraform", "CloudFormation")
FRONT_MATTER_KEYS = frozenset(
    {"control_id", "product", "title", "severity", "services", "references", "resource_types", "schedule", "aliases"}
)
_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")
_FRONT = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)
_HEADING = re.compile(r"^(#{2,3}) (.+?)\s*$", re.MULTILINE)
PRODUCTS = ("guardduty", "inspector", "access-analyzer", "macie", "generic")


def builtin_dir() -> Path:
    """Where the built-in templates live: the repo checkout, or inside the installed wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "explanations", here / "_explanations"):
        if candidate.is_dir():
            return candidate
    raise ConfigError([f"{here}: the built-in explanations folder is missing; reinstall liver-gh."])


@dataclass(frozen=True)
class Explanation:
    """One template. ``key`` is a control id (``S3.2``) or ``product:<name>`` for fallbacks."""

    key: str
    kind: str  # "control" or "product"
    title: str
    severity: str | None
    services: tuple[str, ...]
    references: tuple[str, ...]
    resource_types: tuple[str, ...]
    schedule: str | None
    body: str
    path: Path

    def sections(self) -> dict[str, str]:
        return split_sections(self.body)


def split_sections(body: str) -> dict[str, str]:
    """Map each ``##``/``###`` heading to the text under it (up to the next heading)."""
    out: dict[str, str] = {}
    matches = list(_HEADING.finditer(body))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        out[m.group(2)] = body[m.end() : end].strip()
    return out


def _str_list(meta: dict[str, Any], key: str, where: str, problems: list[str]) -> tuple[str, ...]:
    value = meta.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: front matter '{key}' must be a list of strings.")
        return ()
    return tuple(value)


def _key_of(meta: dict[str, Any], path: Path, where: str, problems: list[str]) -> tuple[str, str]:
    if "product" in meta:
        return f"product:{path.stem.lower()}", "product"
    key = meta.get("control_id")
    if not isinstance(key, str) or not key:
        problems.append(f"{where}: front matter needs 'control_id' (e.g. S3.2) or 'product'.")
        return path.stem, "control"
    if key.lower() != path.stem.lower():
        problems.append(f"{where}: control_id '{key}' must match the file name '{path.stem}'.")
    return key, "control"


def _sections_problems(body: str, kind: str, where: str) -> list[str]:
    problems = []
    sections = split_sections(body)
    for name in REQUIRED_SECTIONS[kind]:
        if name not in sections and "{% include" not in body:
            problems.append(f"{where}: missing section '## {name}'.")
    for name, content in sections.items():
        if not content and name != "How to fix":
            problems.append(f"{where}: section '{name}' is empty; write it or remove the heading.")
    if kind == "control" and "{% include" not in body:
        for name in FIX_SUBSECTIONS:
            if not sections.get(name):
                problems.append(f"{where}: 'How to fix' needs a non-empty '### {name}' part.")
    return problems


def parse_template(
    path: Path, text: str, env: jinja2.Environment | None = None
) -> tuple[Explanation | None, list[str]]:
    """Parse and validate one template file; return it or the problems found."""
    where = str(path)
    m = _FRONT.match(text.replace("\r\n", "\n"))
    if not m:
        return None, [f"{where}: must start with YAML front matter between '---' lines."]
    try:
        meta = yaml.safe_load(m.group(1))
    except yaml.YAMLError as e:
        return None, [f"{where}: front matter is not valid YAML ({e})."]
    if not isinstance(meta, dict):
        return None, [f"{where}: front matter must be a mapping of keys to values."]
    problems = [f"{where}: unknown front matter key '{k}'." for k in sorted(set(meta) - FRONT_MATTER_KEYS)]
    body = m.group(2).strip() + "\n"
    key, kind = _key_of(meta, path, where, problems)
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(f"{where}: front matter needs a non-empty 'title'.")
        title = ""
    severity = meta.get("severity")
    if kind == "control" and severity not in _SEVERITIES:
        problems.append(f"{where}: 'severity' must be one of {', '.join(_SEVERITIES)}.")
    problems += _sections_problems(body, kind, where)
    try:
        (env or _env([])).parse(body)
    except jinja2.TemplateSyntaxError as e:
        problems.append(f"{where}:{e.lineno}: template syntax error: {e.message}.")
    explanation = Explanation(
        key=key,
        kind=kind,
        title=title,
        severity=severity if isinstance(severity, str) else None,
        services=_str_list(meta, "services", where, problems),
        references=_str_list(meta, "references", where, problems),
        resource_types=_str_list(meta, "resource_types", where, problems),
        schedule=meta.get("schedule") if isinstance(meta.get("schedule"), str) else None,
        body=body,
        path=path,
    )
    return (None if problems else explanation), problems


def _env(dirs: list[Path]) -> jinja2.Environment:
    # Autoescape is off because the output is Markdown, not HTML; every value in the
    # context is escaped for its place before rendering (see render/context.py).
    return jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _index_key(path: Path, root: Path) -> str | None:
    """The lookup key a file will have, from its place alone (no parsing)."""
    rel = path.relative_to(root)
    if rel.parts[0] in ("_partials", "_catalogue") or path.name.upper() == "README.MD":
        return None
    if rel.parts[0] == "_products":
        return f"product:{path.stem.lower()}"
    return path.stem.lower()


class Library:
    """All templates by key; organisation templates override built-in ones with the same key."""

    def __init__(self, paths: dict[str, Path], dirs: list[Path]) -> None:
        self._paths = paths
        self._dirs = dirs
        self._env = _env(dirs)
        self._parsed: dict[str, Explanation | None] = {}
        self._compiled: dict[str, jinja2.Template] = {}
        self.problems: list[str] = []

    @classmethod
    def load(cls, extra_dir: Path | None = None) -> Library:
        dirs = [builtin_dir()]
        if extra_dir is not None:
            if not extra_dir.is_dir():
                raise ConfigError([f"{extra_dir}: explanations_dir is not a folder; create it or fix the path."])
            dirs.append(extra_dir)
        paths: dict[str, Path] = {}
        for directory in dirs:
            for path in sorted(directory.rglob("*.md")):
                key = _index_key(path, directory)
                if key is not None:
                    paths[key] = path
        # The organisation's folder comes first for includes, so its partials win too.
        return cls(paths, list(reversed(dirs)))

    @property
    def root(self) -> Path:
        return self._dirs[-1]

    def get(self, key: str) -> Explanation | None:
        """The template for a control id (any case) or ``product:<name>``; None if absent or invalid."""
        lookup = key.lower()
        if lookup not in self._parsed:
            path = self._paths.get(lookup)
            item: Explanation | None = None
            if path is not None:
                item, problems = parse_template(path, path.read_text(encoding="utf-8"), self._env)
                self.problems.extend(problems)
            self._parsed[lookup] = item
        return self._parsed[lookup]

    def names(self) -> list[str]:
        return sorted(self._paths)

    def validate(self) -> list[str]:
        """Parse every template (check-config and the tests); the problems found."""
        for key in self.names():
            self.get(key)
        return list(self.problems)

    def controls(self) -> list[Explanation]:
        return [e for k in self.names() if not k.startswith("product:") and (e := self.get(k)) is not None]

    def products(self) -> list[Explanation]:
        return [e for k in self.names() if k.startswith("product:") and (e := self.get(k)) is not None]

    def render(self, explanation: Explanation, context: dict[str, Any]) -> Markdown:
        template = self._compiled.get(explanation.key)
        if template is None:
            template = self._compiled[explanation.key] = self._env.from_string(explanation.body)
        return Markdown(template.render(**context))
