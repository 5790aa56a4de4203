"""The explanation library: one Markdown template per control, plus product fallbacks.

A template is Markdown with YAML front matter, rendered by Jinja2 with StrictUndefined so
a typo in a variable fails loudly in the tests instead of printing nothing in an issue.
Organisations can add or override templates with ``explanations_dir`` in the config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from liver_gh.errors import ConfigError

REQUIRED_SECTIONS: dict[str, tuple[str, ...]] = {
    "control": (
        "Why it matters",
        "How to fix",
        "How to verify",
        "When suppression may be acceptable",
    ),
    "product": (
        "What happened",
        "How to fix",
        "How to verify",
        "When suppression may be acceptable",
    ),
}
FIX_SUBSECTIONS = ("Console", "AWS CLI", "Terraform", "CloudFormation")
_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")
_FRONT = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)
_HEADING = re.compile(r"^(#{2,3}) (.+?)\s*$", re.MULTILINE)


def builtin_dir() -> Path:
    """Where the built-in templates live: the repo checkout, or inside the installed wheel."""
    here = Path(__file__).resolve().parent
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


def parse_template(path: Path, text: str) -> tuple[Explanation | None, list[str]]:
    """Parse and validate one template file; return it or the problems found."""
    where = str(path)
    problems: list[str] = []
    m = _FRONT.match(text.replace("\r\n", "\n"))
    if not m:
        return None, [f"{where}: must start with YAML front matter between '---' lines."]
    try:
        meta = yaml.safe_load(m.group(1))
    except yaml.YAMLError as e:
        return None, [f"{where}: front matter is not valid YAML ({e})."]
    if not isinstance(meta, dict):
        return None, [f"{where}: front matter must be a mapping of keys to values."]
    body = m.group(2).strip() + "\n"
    kind = "product" if "product" in meta else "control"
    allowed = {
        "control_id",
        "product",
        "title",
        "severity",
        "services",
        "references",
        "resource_types",
        "schedule",
    }
    for key in sorted(set(meta) - allowed):
        problems.append(f"{where}: unknown front matter key '{key}'; allowed: {sorted(allowed)}.")
    if kind == "control":
        key = meta.get("control_id")
        if not isinstance(key, str) or not key:
            problems.append(f"{where}: front matter needs 'control_id' (e.g. S3.2) or 'product'.")
            key = path.stem
        elif key != path.stem:
            problems.append(f"{where}: control_id '{key}' must match the file name '{path.stem}'.")
    else:
        key = f"product:{str(meta['product']).lower()}"
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(f"{where}: front matter needs a non-empty 'title'.")
        title = ""
    severity = meta.get("severity")
    if kind == "control" and severity not in _SEVERITIES:
        problems.append(f"{where}: 'severity' must be one of {', '.join(_SEVERITIES)}.")
    sections = split_sections(body)
    for name in REQUIRED_SECTIONS[kind]:
        if name not in sections:
            problems.append(f"{where}: missing section '## {name}'.")
    for name, content in sections.items():
        if not content and name != "How to fix":
            problems.append(f"{where}: section '{name}' is empty; write it or remove the heading.")
    if kind == "control":
        for name in FIX_SUBSECTIONS:
            if not sections.get(name):
                problems.append(f"{where}: 'How to fix' needs a non-empty '### {name}' part.")
    try:
        _env().parse(body)
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
        body=body,
        path=path,
    )
    return (None if problems else explanation), problems


def _env() -> jinja2.Environment:
    # Autoescape is off because the output is Markdown, not HTML; every value in the
    # context is escaped for its place before rendering (see liver_gh.render).
    return jinja2.Environment(  # noqa: S701
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Library:
    """All templates by key; organisation templates override built-in ones with the same key."""

    def __init__(self, explanations: dict[str, Explanation]) -> None:
        self._by_key = explanations
        self._env = _env()
        self._compiled: dict[str, jinja2.Template] = {}  # compiling costs more than rendering

    @classmethod
    def load(cls, extra_dir: Path | None = None) -> Library:
        found: dict[str, Explanation] = {}
        problems: list[str] = []
        dirs = [builtin_dir()] + ([extra_dir] if extra_dir else [])
        for directory in dirs:
            if not directory.is_dir():
                problems.append(f"{directory}: explanations_dir is not a folder; create it or fix the path.")
                continue
            for path in sorted(directory.rglob("*.md")):
                if path.name.upper() == "README.MD":
                    continue
                item, errs = parse_template(path, path.read_text(encoding="utf-8"))
                problems.extend(errs)
                if item is not None:
                    found[item.key] = item
        if problems:
            raise ConfigError(problems)
        return cls(found)

    def get(self, key: str) -> Explanation | None:
        return self._by_key.get(key)

    def keys(self) -> list[str]:
        return sorted(self._by_key)

    def controls(self) -> list[Explanation]:
        return [e for k, e in sorted(self._by_key.items()) if e.kind == "control"]

    def render(self, explanation: Explanation, context: dict[str, Any]) -> str:
        template = self._compiled.get(explanation.key)
        if template is None:
            template = self._compiled[explanation.key] = self._env.from_string(explanation.body)
        return template.render(**context)
