"""`liver explain`: coverage of the library and one rendered explanation."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from liver_gh.asff import parse_finding
from liver_gh.context import explanation_context
from liver_gh.errors import FindingError, LiverError
from liver_gh.explanations import Library
from liver_gh.models import Severity

_SAMPLE = {
    "SchemaVersion": "2018-10-08",
    "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub",
    "ProductName": "Security Hub",
    "AwsAccountId": "123456789012",
    "Region": "us-east-1",
    "UpdatedAt": "2026-01-01T00:00:00Z",
    "Severity": {"Label": "HIGH"},
    "Title": "example",
    "Workflow": {"Status": "NEW"},
    "RecordState": "ACTIVE",
}


def catalogue() -> dict[str, str]:
    """Control id -> severity, from the FSBP catalogue shipped with the explanations."""
    from liver_gh.explanations import builtin_dir

    path = builtin_dir() / "_catalogue" / "fsbp-controls.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as f:
        return {row["control_id"]: row["severity"] for row in csv.DictReader(f)}


def coverage_table(library: Library) -> str:
    cat = catalogue()
    written = {e.key for e in library.controls()}
    total = Counter(cat.values())
    have = Counter(sev for cid, sev in cat.items() if cid in written)
    lines = ["severity       written / controls", "-------------  ------------------"]
    for sev in reversed(Severity):
        if total[sev.name]:
            lines.append(f"{sev.name:<13}  {have[sev.name]:>7} / {total[sev.name]}")
    lines.append(f"{'total':<13}  {sum(have.values()):>7} / {sum(total.values())}")
    extra = sorted(written - set(cat))
    if extra:
        lines.append(f"also: {', '.join(extra)}")
    return "\n".join(lines)


def render_one(library: Library, control_id: str, finding_file: Path | None) -> str:
    explanation = library.get(control_id)
    if explanation is None:
        raise LiverError(f"no explanation for {control_id!r}; 'liver explain --list' shows what exists.")
    if finding_file is not None:
        try:
            raw = json.loads(finding_file.read_text(encoding="utf-8"))
            finding = parse_finding(raw.get("Findings", [raw])[0] if isinstance(raw, dict) else raw)
        except (OSError, ValueError, FindingError) as e:
            raise LiverError(f"{finding_file}: not a readable ASFF finding ({e}).") from None
    else:
        rtype = explanation.resource_types[0] if explanation.resource_types else "Other"
        finding = parse_finding(
            {
                **_SAMPLE,
                "Id": f"example/{control_id}",
                "GeneratorId": f"security-control/{control_id}",
                "Compliance": {"Status": "FAILED", "SecurityControlId": control_id},
                "Resources": [
                    {
                        "Type": rtype,
                        "Id": f"arn:aws:example:us-east-1:123456789012:resource/EXAMPLE_{rtype.upper()}",
                        "Region": "us-east-1",
                    }
                ],
            }
        )
    return library.render(explanation, explanation_context(finding))
