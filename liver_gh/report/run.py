"""What a run did, for the terminal, the Actions job summary, the step outputs and the exit code.

A step counts as done only when every call in it succeeded; a failed step is listed with
the operation, the resource and the service's own error, and counted as failed.
Repeated warnings are collapsed into one line with a count.
"""

from __future__ import annotations

import enum
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from liver_gh.actions import Step, StepKind
from liver_gh.markdown import Markdown, code, link, md, text
from liver_gh.rules.routing import SkipReason


class Status(enum.StrEnum):
    DONE = "done"
    PLANNED = "planned"  # dry run
    FAILED = "failed"
    NOT_DONE = "not done"  # the run stopped before it


@dataclass
class Entry:
    step: Step
    status: Status
    url: str | None = None
    errors: list[str] = field(default_factory=list)
    assignee: str | None = None
    assignee_why: str | None = None

    @property
    def kind(self) -> StepKind:
        return self.step.kind

    @property
    def service(self) -> str:
        return self.step.service


@dataclass
class RunReport:
    dry_run: bool = False
    findings_seen: int = 0
    entries: list[Entry] = field(default_factory=list)
    skipped: Counter[SkipReason] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # failures outside steps (reads, one repository)
    rendered: list[tuple[str, str, str]] = field(default_factory=list)  # repo, title, body (demo, dry run)
    keep_rendered: bool = False
    stopped_early: str | None = None
    status_markdown: Markdown | None = None  # the status report, for the job summary
    notes: list[str] = field(default_factory=list)  # things done outside the plan (the dashboard issue)

    def warn(self, message: str) -> None:
        self.warnings[message] += 1

    def fail(self, message: str) -> None:
        self.failures.append(message)

    @property
    def failed(self) -> int:
        return len(self.failures) + sum(1 for e in self.entries if e.status is Status.FAILED)

    @property
    def counts(self) -> dict[str, int]:
        out = {"opened": 0, "updated": 0, "suppressed": 0, "resolved": 0, "rejected": 0}
        counted = Status.PLANNED if self.dry_run else Status.DONE  # a dry run counts what it would do
        for e in self.entries:
            if e.status is counted and e.step.has_effects:
                out[e.kind.counted_as] += 1
        out["failed"] = self.failed
        return out

    def by_service(self) -> dict[str, list[Entry]]:
        out: dict[str, list[Entry]] = defaultdict(list)
        for e in self.entries:
            out[e.service].append(e)
        return dict(sorted(out.items()))

    def warning_lines(self) -> list[str]:
        return [w if n == 1 else f"{w} (×{n})" for w, n in sorted(self.warnings.items())]

    def failure_lines(self) -> list[str]:
        lines = list(self.failures)
        for e in self.entries:
            if e.status is Status.FAILED:
                lines.append(f"{e.step.summary}: {'; '.join(e.errors)}")
        return lines

    # ------------------------------------------------------------ text

    def text(self) -> str:
        verb = "would be" if self.dry_run else "were"
        lines = [f"liver: {self.findings_seen} finding(s) seen."]
        for service, entries in self.by_service().items():
            lines.append(f"  {service}:")
            lines.extend(f"    - {_entry_line(e)}" for e in entries)
        c = self.counts
        lines.append(
            f"Issues opened: {c['opened']}, updated: {c['updated']}, suppressed: {c['suppressed']}, "
            f"resolved: {c['resolved']}, rejected approvals: {c['rejected']} ({verb} done)."
        )
        if self.skipped:
            lines.append("Skipped: " + ", ".join(f"{k.value}: {v}" for k, v in sorted(self.skipped.items())))
        lines.extend(f"Note: {n}" for n in self.notes)
        lines.extend(f"Warning: {w}" for w in self.warning_lines())
        if self.stopped_early:
            lines.append(f"Stopped early: {self.stopped_early}")
        failures = self.failure_lines()
        if failures:
            lines.append(f"Failures ({len(failures)}):")
            lines.extend(f"  - {f}" for f in failures)
        else:
            lines.append("Failures: none.")
        return "\n".join(lines)

    # ------------------------------------------------------------ Markdown (job summary)

    def markdown(self) -> Markdown:
        c = self.counts
        out = [
            "## liver sync" + (" (dry run)" if self.dry_run else ""),
            "",
            md(
                "{seen} finding(s) seen. Opened **{opened}**, updated {updated}, suppressed {suppressed}, resolved "
                "{resolved}, rejected approvals {rejected}, failures **{failed}**.",
                seen=str(self.findings_seen),
                **{k: str(v) for k, v in c.items()},
            ),
            "",
        ]
        for service, entries in self.by_service().items():
            out += [f"### {text(service)}", ""]
            for e in entries:
                target = link(code(e.step.issue.ref if e.step.issue else "issue"), e.url) if e.url else Markdown("")
                out.append(
                    md("- **{kind}** {summary} {target}", kind=e.kind.value, summary=e.step.summary, target=target)
                )
            out.append("")
        if self.skipped:
            out += ["### Skipped", "", "| reason | findings |", "|---|---|"]
            out += [f"| {text(k.value)} | {v} |" for k, v in sorted(self.skipped.items())]
            out.append("")
        if self.warnings:
            out += ["### Warnings", ""] + [f"- {text(w, 2000)}" for w in self.warning_lines()] + [""]
        failures = self.failure_lines()
        if failures:
            out += ["### Failures", ""] + [f"- {text(f, 2000)}" for f in failures] + [""]
        if self.stopped_early:
            out += [f"> Stopped early: {text(self.stopped_early, 2000)}", ""]
        return Markdown("\n".join(out))

    # ------------------------------------------------------------ JSON (dry run)

    def plan_json(self) -> dict[str, Any]:
        return {
            "steps": [_step_json(e) for e in self.entries],
            "skipped": {k.value: v for k, v in sorted(self.skipped.items())},
            "warnings": self.warning_lines(),
            "failures": self.failure_lines(),
        }


def _entry_line(e: Entry) -> str:
    mark = "" if e.status in (Status.DONE, Status.PLANNED) else f" ({e.status.value})"
    line = f"[{e.kind.value}]{mark} {e.step.summary}" + (f" ({e.url})" if e.url else "")
    d = e.step.details
    facts = []
    if e.step.open is not None:
        facts.append(f"severity {d.severity.name if d.severity else '?'}, account {d.account} ({d.environment})")
        facts.append(
            f"resources {', '.join(d.resources[:3])}"
            + (f" and {len(d.resources) - 3} more" if len(d.resources) > 3 else "")
        )
        who = e.step.open.assignee
        facts.append(
            f"assignee {who.login or 'nobody'}" + (" (fallback)" if who.fallback else " (on call)" if who.login else "")
        )
        facts.append(f"labels {', '.join(d.labels)}" + ("; pages on-call" if d.page else ""))
    if facts:
        line += "\n        " + "\n        ".join(facts)
    return line


def _step_json(e: Entry) -> dict[str, Any]:
    d = e.step.details
    op = e.step.open
    assignee = None
    why = None
    if op is not None:
        assignee = op.assignee.login
        why = "fallback" if op.assignee.fallback else ("on call" if op.assignee.login else "nobody assignable")
    return {
        "kind": e.kind.value,
        "status": e.status.value,
        "service": e.step.service,
        "repo": e.step.repo,
        "issue": e.step.issue.ref if e.step.issue else None,
        "title": d.title,
        "summary": e.step.summary,
        "severity": d.severity.name if d.severity else None,
        "account": d.account,
        "environment": d.environment,
        "resources": list(d.resources),
        "assignee": assignee,
        "assignee_reason": why,
        "labels": list(d.labels),
        "page": d.page,
        "errors": e.errors,
    }
