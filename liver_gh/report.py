"""What a run did, for the terminal, the Actions job summary and the exit code."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field


@dataclass
class Entry:
    service: str
    kind: str
    text: str
    url: str | None = None


@dataclass
class RunReport:
    dry_run: bool = False
    findings_seen: int = 0
    entries: list[Entry] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    rendered: list[tuple[str, str, str]] = field(default_factory=list)  # repo, title, body (demo, dry run)
    keep_rendered: bool = False  # bodies of opened issues are kept only for the demo
    stopped_early: str | None = None

    def count(self, kind: str) -> int:
        return sum(1 for e in self.entries if e.kind == kind)

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(e.kind for e in self.entries)
        return {
            "opened": c["opened"],
            "updated": sum(
                v for k, v in c.items() if k not in ("opened", "suppressed", "resolved", "rejected", "unchanged")
            ),
            "suppressed": c["suppressed"],
            "resolved": c["resolved"],
            "rejected": c["rejected"],
            "failed": len(self.failures),
        }

    def by_service(self) -> dict[str, list[Entry]]:
        out: dict[str, list[Entry]] = defaultdict(list)
        for e in self.entries:
            out[e.service].append(e)
        return dict(sorted(out.items()))

    def text(self) -> str:
        verb = "would be" if self.dry_run else "were"
        lines = [f"liver: {self.findings_seen} finding(s) seen."]
        for service, entries in self.by_service().items():
            lines.append(f"  {service}:")
            for e in entries:
                lines.append(f"    - [{e.kind}] {e.text}" + (f" ({e.url})" if e.url else ""))
        c = self.counts
        lines.append(
            f"Issues opened: {c['opened']}, updated: {c['updated']}, suppressed: {c['suppressed']}, "
            f"resolved: {c['resolved']}, rejected approvals: {c['rejected']} ({verb} done)."
        )
        if self.skipped:
            lines.append("Skipped: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items())))
        for w in self.warnings:
            lines.append(f"Warning: {w}")
        if self.stopped_early:
            lines.append(f"Stopped early: {self.stopped_early}")
        if self.failures:
            lines.append(f"Failures ({len(self.failures)}):")
            lines.extend(f"  - {f}" for f in self.failures)
        else:
            lines.append("Failures: none.")
        return "\n".join(lines)

    def markdown(self) -> str:
        """The Actions job summary."""
        c = self.counts
        out = [
            "## liver sync" + (" (dry run)" if self.dry_run else ""),
            "",
            f"{self.findings_seen} finding(s) seen. Opened **{c['opened']}**, updated {c['updated']}, "
            f"suppressed {c['suppressed']}, resolved {c['resolved']}, rejected approvals {c['rejected']}, failures **{c['failed']}**.",
            "",
        ]
        for service, entries in self.by_service().items():
            out += [f"### {service}", ""]
            for e in entries:
                link = f" — [{e.url.rsplit('/', 3)[-3]}#{e.url.rsplit('/', 1)[-1]}]({e.url})" if e.url else ""
                out.append(f"- **{e.kind}** {_md(e.text)}{link}")
            out.append("")
        if self.skipped:
            out += ["### Skipped", "", "| reason | findings |", "|---|---|"]
            out += [f"| {_md(k)} | {v} |" for k, v in sorted(self.skipped.items())]
            out.append("")
        if self.warnings:
            out += ["### Warnings", ""] + [f"- {_md(w)}" for w in self.warnings] + [""]
        if self.failures:
            out += ["### Failures", ""] + [f"- {_md(f)}" for f in self.failures] + [""]
        if self.stopped_early:
            out += [f"> Stopped early: {_md(self.stopped_early)}", ""]
        return "\n".join(out)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace("@", "@\u200b")
