"""The Security Hub CSPM controls catalogue shipped with the explanations.

One row per control id with AWS's title, severity, resource type, AWS Config rule,
schedule, documentation page and description; ``status`` is ``retired`` for controls
AWS no longer runs. ``explanations/_catalogue/README.md`` says where it comes from and
how to refresh it. Control ids are matched without regard to case: AWS itself writes
``Opensearch.1`` and ``Autoscaling.5`` beside ``OpenSearch``/``AutoScaling``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from liver_gh.models import Severity


@dataclass(frozen=True)
class Control:
    control_id: str
    severity: Severity
    title: str
    retired: bool
    resource_type: str
    config_rule: str
    schedule: str
    doc_url: str
    description: str
    standards: str


def catalogue_path(explanations: Path) -> Path:
    return explanations / "_catalogue" / "controls.csv"


@cache
def _read(path: Path) -> dict[str, Control]:
    out: dict[str, Control] = {}
    if not path.is_file():
        return out
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            control = Control(
                control_id=row["control_id"],
                severity=Severity.parse(row["severity"]),
                title=row["title"],
                retired=row["status"] == "retired",
                resource_type=row["resource_type"],
                config_rule=row["config_rule"],
                schedule=row["schedule"],
                doc_url=row["doc_url"],
                description=row["description"],
                standards=row["standards"],
            )
            out[control.control_id.lower()] = control
    return out


def load(explanations: Path) -> dict[str, Control]:
    """Every control by lower-cased id."""
    return _read(catalogue_path(explanations))


def doc_url(control_id: str) -> str:
    """The control's section in the AWS controls reference (AWS's own anchor scheme)."""
    service, _, number = control_id.partition(".")
    if not number.isdigit() or not service.isalnum():
        return "https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-controls-reference.html"
    page = service.lower()
    return f"https://docs.aws.amazon.com/securityhub/latest/userguide/{page}-controls.html#{page}-{number}"
