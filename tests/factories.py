"""Build ASFF findings for tests: real shapes, only the fields that matter set by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from liver_gh.demo_findings import control_catalogue, control_finding

DATA = Path(__file__).parent / "data"
ASFF_DIR = DATA / "asff"

__all__ = ["ASFF_DIR", "DATA", "control_catalogue", "control_finding", "real_samples"]


def real_samples() -> dict[str, dict[str, Any]]:
    """Every real ASFF sample by file name (a GetFindings response contributes its findings)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(ASFF_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for i, finding in enumerate(data.get("Findings", [data])):
            out[path.name if "Findings" not in data else f"{path.name}#{i}"] = finding
    return out
