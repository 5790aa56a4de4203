"""Build ASFF findings for tests: real shapes, only the fields that matter set by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from liver_fakes.findings import control_catalogue, control_finding

DATA = Path(__file__).parent / "data"
ASFF_DIR = Path(__file__).parent.parent / "liver_fakes" / "data" / "asff"

__all__ = [
    "ASFF_DIR",
    "DATA",
    "control_catalogue",
    "control_finding",
    "finding_key",
    "finding_marker",
    "keys_in",
    "plain",
    "real_samples",
]


def finding_key(finding_id: str) -> str:
    """The identity key of one finding's issue."""
    from liver_gh.rules.identity import Identity, KeyKind

    return Identity(KeyKind.FINDING, finding_id=finding_id).key


def finding_marker(finding_id: str) -> str:
    """The hidden identity marker of one finding's issue."""
    from liver_gh.rules.identity import Identity, KeyKind

    return Identity(KeyKind.FINDING, finding_id=finding_id).marker()


def plain(markdown: str) -> str:
    """Markdown as a reader sees it: escapes undone, code spans unwrapped (for assertions)."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown).replace("`", "").replace("\uff20", "@").replace("\uff03", "#")


def keys_in(body: str) -> list[str]:
    """The identity keys in an issue body (one, or none when the marker is broken)."""
    from liver_gh.rules.identity import read_marker

    key = read_marker(body or "").key
    return [key] if key else []


def real_samples() -> dict[str, dict[str, Any]]:
    """Every real ASFF sample by file name (a GetFindings response contributes its findings)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(ASFF_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for i, finding in enumerate(data.get("Findings", [data])):
            out[path.name if "Findings" not in data else f"{path.name}#{i}"] = finding
    return out
