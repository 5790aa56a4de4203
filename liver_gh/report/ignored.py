"""`liver report ignored`: what the ignore tag hides, and the tags that no longer hide.

The security team reads this during the ramp-up to see what teams chose to ignore and
why; the Markdown form is fit for an Actions job summary.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from liver_gh.config.model import Config
from liver_gh.markdown import code as code_span
from liver_gh.markdown import text as md_inline
from liver_gh.models import Finding
from liver_gh.ports import FindingSource, NewFindings
from liver_gh.rules.ignore import ignore_verdict


@dataclass(frozen=True)
class IgnoredRow:
    service: str
    environment: str
    account: str
    resource: str
    control: str
    severity: str
    reason: str
    until: str | None
    days_left: int | None
    problem: str | None  # None: honoured


@dataclass
class IgnoredReport:
    tag: str
    honoured: list[IgnoredRow]
    not_honoured: list[IgnoredRow]


def rows_for(config: Config, findings: list[Finding], now: datetime) -> IgnoredReport:
    honoured: list[IgnoredRow] = []
    not_honoured: list[IgnoredRow] = []
    for f in sorted(findings, key=lambda f: (f.account, f.id)):
        owner = config.owner_of(f.account)
        if owner is None or f.account in config.prototype_accounts or not f.failing:
            continue
        service, env = owner
        verdict = ignore_verdict(f, service, config, now.date())
        if verdict is None:
            continue
        row = IgnoredRow(
            service=service.name,
            environment=env,
            account=f.account,
            resource=f.resources[0].id,
            control=f.control_id or f.product_name,
            severity=f.severity.name,
            reason=verdict.reason,
            until=verdict.until.isoformat() if verdict.until else None,
            days_left=(verdict.until - now.date()).days if verdict.until else None,
            problem=str(verdict.problem) if verdict.problem else None,
        )
        (honoured if verdict.honoured else not_honoured).append(row)
    return IgnoredReport(config.ignore_tag.key, honoured, not_honoured)


def build_ignored_report(config: Config, hub: FindingSource, now: datetime) -> IgnoredReport:
    return rows_for(config, hub.findings(NewFindings(config.lowest_threshold)), now)


def to_json(report: IgnoredReport) -> dict[str, Any]:
    return {
        "tag": report.tag,
        "totals": {"ignored": len(report.honoured), "not_honoured": len(report.not_honoured)},
        "ignored": [asdict(r) for r in report.honoured],
        "not_honoured": [asdict(r) for r in report.not_honoured],
    }


def _by_service(rows: list[IgnoredRow]) -> dict[str, list[IgnoredRow]]:
    out: dict[str, list[IgnoredRow]] = defaultdict(list)
    for r in rows:
        out[r.service].append(r)
    return dict(sorted(out.items()))


def to_markdown(report: IgnoredReport) -> str:
    lines = [
        f"## Findings ignored by the `{report.tag}` tag",
        "",
        f"**{len(report.honoured)}** ignored, **{len(report.not_honoured)}** tag(s) not honoured.",
        "",
    ]
    lines += _tables(
        report.honoured, "ignored", "days left", lambda r: str(r.days_left if r.days_left is not None else "-")
    )
    if report.not_honoured:
        lines += ["## Tags that are not honoured", ""]
        lines += _tables(report.not_honoured, "not honoured", "why not", lambda r: md_inline(r.problem or ""))
    return "\n".join(lines)


def _tables(rows: list[IgnoredRow], what: str, last: str, cell: Callable[[IgnoredRow], str]) -> list[str]:
    """One Markdown table per service; the last column differs between the two lists."""
    lines: list[str] = []
    for service, group in _by_service(rows).items():
        lines += [
            f"### {md_inline(service)} ({len(group)} {what})",
            "",
            f"| environment | account | resource | control | severity | reason | {last} |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {md_inline(r.environment)} | {code_span(r.account)} | {code_span(r.resource)} | {code_span(r.control)} | "
            f"{r.severity} | {md_inline(r.reason or '(empty)', 200)} | {cell(r)} |"
            for r in group
        ]
        lines.append("")
    return lines
