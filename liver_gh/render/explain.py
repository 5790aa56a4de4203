"""`liver explain`: one rendered explanation with a header, or the whole catalogue's coverage."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from liver_gh.adapters.asff import parse_finding
from liver_gh.errors import ConfigError, FindingError
from liver_gh.markdown import Markdown
from liver_gh.models import Severity
from liver_gh.render import catalogue
from liver_gh.render.context import explanation_context
from liver_gh.render.explanations import PRODUCTS, Library

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


def listing(library: Library) -> str:
    """Every control of the catalogue: id, severity, explained or not, title; then counts."""
    controls = catalogue.load(library.root)
    written = {e.key.lower() for e in library.controls()}
    active = sorted((c for c in controls.values() if not c.retired), key=lambda c: (-c.severity, c.control_id.lower()))
    lines = [f"{'control':<28} {'severity':<13} {'explained':<9} title"]
    for c in active:
        mark = "yes" if c.control_id.lower() in written else "no"
        lines.append(f"{c.control_id:<28} {c.severity.name:<13} {mark:<9} {c.title}")
    total = Counter(c.severity for c in active)
    have = Counter(c.severity for c in active if c.control_id.lower() in written)
    lines += ["", "severity       explained / controls"]
    for sev in sorted(total, reverse=True):
        lines.append(f"{sev.name:<13}  {have[sev]:>9} / {total[sev]}")
    lines.append(f"{'total':<13}  {sum(have.values()):>9} / {sum(total.values())}")
    extra = sorted(k for k in written if k not in controls)
    if extra:
        lines.append(f"also explained (not in the catalogue): {', '.join(extra)}")
    products = [p for p in PRODUCTS if library.get(f"product:{p}")]
    lines.append(f"products: {', '.join(products)} (liver explain {products[0] if products else 'guardduty'})")
    return "\n".join(lines)


def _sample(control_id: str, resource_type: str) -> dict[str, object]:
    return {
        **_SAMPLE,
        "Id": f"example/{control_id}",
        "GeneratorId": f"security-control/{control_id}",
        "Compliance": {"Status": "FAILED", "SecurityControlId": control_id},
        "Resources": [
            {
                "Type": resource_type,
                "Id": f"arn:aws:example:us-east-1:123456789012:resource/EXAMPLE_{resource_type.upper()}",
                "Region": "us-east-1",
            }
        ],
    }


def render_one(library: Library, name: str, finding_file: Path | None) -> Markdown:
    key = name.strip()
    explanation = library.get(key) or library.get(f"product:{key.lower()}")
    if explanation is None:
        raise ConfigError([f"no explanation for {name!r}; 'liver explain --list' shows what exists."])
    if finding_file is not None:
        try:
            raw = json.loads(finding_file.read_text(encoding="utf-8"))
            finding = parse_finding(raw.get("Findings", [raw])[0] if isinstance(raw, dict) else raw)
        except (OSError, ValueError, FindingError, IndexError, AttributeError) as e:
            raise ConfigError([f"{finding_file}: not a readable ASFF finding ({e})."]) from None
    else:
        control = explanation.key if explanation.kind == "control" else "Sample.1"
        rtype = explanation.resource_types[0] if explanation.resource_types else "Other"
        finding = parse_finding(_sample(control, rtype))
    severity = explanation.severity or finding.severity.name
    Severity.parse(severity)
    header = f"# {explanation.key.removeprefix('product:')}: {explanation.title} ({severity})\n\n"
    return Markdown(header + library.render(explanation, explanation_context(finding, library.root)))
