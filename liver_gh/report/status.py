"""`liver report status`: where the organisation stands, by team and severity.

Computed from liver's issues only (as ``liver sync`` lists them; no per-issue reads) and
the config's SLA days. Definitions, so every figure can be checked by hand:

- ``open``: open issues by severity (their severity label);
- ``overdue``: open issues whose due date (created + ``sla_days`` of their severity) passed;
- ``mttr_days``: for issues closed as completed within the window, ``closed_at − created_at``
  in days per severity: ``mean`` (rounded to 0.1), ``p90`` (nearest rank: the ⌈0.9·n⌉-th
  smallest, rounded to 0.1) and ``n``;
- ``sla_met_pct``: issues closed as completed within the window inside their SLA, divided by
  (those closed as completed within the window + open overdue), as a percentage rounded to
  0.1, or null when the divisor is 0;
- ``burndown``: per UTC day of the window, oldest first, the issues open at the end of that
  day (created by then and not closed by then, by the issue's current ``closed_at``).
Issues closed as not planned count neither as fixed nor, after their close, as open.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from liver_gh.config.model import Config, Service
from liver_gh.markdown import Markdown, code, link, text
from liver_gh.models import IssueState, Severity, StateReason, TrackedIssue
from liver_gh.rules.identity import is_dashboard, read_marker
from liver_gh.rules.upkeep import due_at

LEVELS = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFORMATIONAL)
_SPARK = "▁▂▃▄▅▆▇█"


def _counts() -> dict[str, int]:
    return {s.name.lower(): 0 for s in LEVELS}


@dataclass(frozen=True)
class Overdue:
    service: str
    ref: str
    url: str
    title: str
    severity: Severity
    due: datetime
    assignees: tuple[str, ...]


def liver_issues(issues: Iterable[TrackedIssue]) -> list[TrackedIssue]:
    """The issues that track findings: a valid identity and a severity label."""
    return [
        i for i in issues if not is_dashboard(i) and read_marker(i.body).identity is not None and i.severity is not None
    ]


def _completed_in(issue: TrackedIssue, start: datetime, end: datetime) -> bool:
    return (
        issue.state is IssueState.CLOSED
        and issue.state_reason is StateReason.COMPLETED
        and issue.closed_at is not None
        and start <= issue.closed_at <= end
    )


def _round(value: float) -> float:
    return math.floor(value * 10 + 0.5) / 10


def mttr(durations: Sequence[float]) -> dict[str, float | int]:
    ordered = sorted(durations)
    n = len(ordered)
    return {"mean": _round(sum(ordered) / n), "p90": _round(ordered[math.ceil(0.9 * n) - 1]), "n": n}


@dataclass
class _Tally:
    """What one service (or all of them) adds up to."""

    open: dict[str, int]
    overdue: int = 0
    met: int = 0
    durations: dict[str, list[float]] | None = None

    @classmethod
    def empty(cls) -> _Tally:
        return cls(_counts(), durations={})

    def add(self, other: _Tally) -> None:
        for level, count in other.open.items():
            self.open[level] += count
        self.overdue += other.overdue
        self.met += other.met
        assert self.durations is not None
        for level, values in (other.durations or {}).items():
            self.durations.setdefault(level, []).extend(values)

    def json(self) -> dict[str, Any]:
        durations = self.durations or {}
        divisor = sum(len(v) for v in durations.values()) + self.overdue
        return {
            "open": self.open,
            "overdue": self.overdue,
            "sla_met_pct": _round(100 * self.met / divisor) if divisor else None,
            "mttr_days": {k: mttr(v) for k, v in sorted(durations.items(), key=lambda kv: -Severity[kv[0].upper()])},
        }


def _tally(service: Service, issues: Sequence[TrackedIssue], now: datetime, days: int) -> _Tally:
    start = now - timedelta(days=days)
    tally = _Tally.empty()
    durations: dict[str, list[float]] = {}
    for issue in issues:
        severity = issue.severity
        assert severity is not None  # liver_issues() keeps only labelled issues
        due = due_at(issue.created_at, service, severity)
        if issue.is_open:
            tally.open[severity.name.lower()] += 1
            tally.overdue += now > due
        elif _completed_in(issue, start, now) and issue.closed_at is not None:
            durations.setdefault(severity.name.lower(), []).append(
                (issue.closed_at - issue.created_at).total_seconds() / 86400
            )
            tally.met += issue.closed_at <= due
    tally.durations = durations
    return tally


def _open_at(issue: TrackedIssue, moment: datetime) -> bool:
    return issue.created_at <= moment and not (issue.closed_at is not None and issue.closed_at <= moment)


def burndown(issues: Sequence[TrackedIssue], now: datetime, days: int) -> list[dict[str, Any]]:
    today = now.astimezone(UTC).date()
    out = []
    for offset in range(days - 1, -1, -1):
        day: date = today - timedelta(days=offset)
        end = datetime.combine(day, time.max, tzinfo=UTC)
        counts = _counts()
        for issue in issues:
            if issue.severity is not None and _open_at(issue, end):
                counts[issue.severity.name.lower()] += 1
        out.append({"date": day.isoformat(), "open": counts})
    return out


def status(
    config: Config, issues_by_repo: Mapping[str, Sequence[TrackedIssue]], now: datetime, days: int = 30
) -> dict[str, Any]:
    """The status report as one JSON-able document (the shape documented in the README)."""
    services: list[dict[str, Any]] = []
    everything: list[TrackedIssue] = []
    late: list[Overdue] = []
    totals = _Tally.empty()
    by_repo = {repo.lower(): issues for repo, issues in issues_by_repo.items()}
    for service in config.services:
        issues = liver_issues(by_repo.get(service.repo.lower(), ()))
        everything += issues
        tally = _tally(service, issues, now, days)
        totals.add(tally)
        services.append({"name": service.name, "repo": service.repo, **tally.json()})
        late += _overdue(service, issues, now)
    return {
        "generated_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "window_days": days,
        "services": services,
        "totals": totals.json(),
        "burndown": burndown(everything, now, days),
        "overdue_issues": [
            {
                "service": o.service,
                "issue": o.ref,
                "url": o.url,
                "severity": o.severity.name,
                "due": o.due.strftime("%Y-%m-%d"),
                "assignees": list(o.assignees),
            }
            for o in sorted(late, key=lambda o: (-o.severity, o.due))
        ],
    }


def _overdue(service: Service, issues: Sequence[TrackedIssue], now: datetime) -> list[Overdue]:
    out = []
    for i in issues:
        if not i.is_open or i.severity is None:
            continue
        due = due_at(i.created_at, service, i.severity)
        if now > due:
            out.append(Overdue(service.name, i.ref, i.url, i.title, i.severity, due, i.assignees))
    return out


# ---------------------------------------------------------------- Markdown and terminal


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _mttr_cell(m: Mapping[str, Any]) -> str:
    parts = [f"{k[0].upper()} {v['mean']:.1f}d (p90 {v['p90']:.1f}, n={v['n']})" for k, v in m.items()]
    return "; ".join(parts) or "–"


def _rows(doc: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for s in [*doc["services"], {"name": "total", "repo": "", **doc["totals"]}]:
        o = s["open"]
        rows.append(
            [
                s["name"],
                *(str(o[lv.name.lower()]) for lv in LEVELS[:4]),
                str(s["overdue"]),
                _pct(s["sla_met_pct"]),
                _mttr_cell(s["mttr_days"]),
            ]
        )
    return rows


HEADERS = ["service", "critical", "high", "medium", "low", "overdue", "SLA met", "mean time to fix"]


def _chart(doc: Mapping[str, Any], level: Severity) -> list[str]:
    points = [d["open"][level.name.lower()] for d in doc["burndown"]]
    if not any(points):
        return []
    labels = ", ".join(f'"{d["date"][5:]}"' for d in doc["burndown"])
    return [
        "```mermaid",
        "xychart-beta",
        f'  title "Open {level.name} issues"',
        f"  x-axis [{labels}]",
        f'  y-axis "open" 0 --> {max(points) + 1}',
        f"  line [{', '.join(str(p) for p in points)}]",
        "```",
        "",
    ]


def to_markdown(doc: Mapping[str, Any]) -> Markdown:
    out = [
        f"## Security findings: status on {doc['generated_at'][:10]}",
        "",
        f"Last {doc['window_days']} days, by service.",
        "",
    ]
    out += ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    out += ["| " + " | ".join(text(c, 200) for c in row) + " |" for row in _rows(doc)]
    out.append("")
    spark = [f"{lv.name:<9} {sparkline([d['open'][lv.name.lower()] for d in doc['burndown']])}" for lv in LEVELS[:4]]
    out += ["```text", *spark, "```", ""]
    for level in LEVELS[:4]:
        out += _chart(doc, level)
    overdue = doc["overdue_issues"]
    out += ["### Overdue", ""] if overdue else ["### Overdue", "", "Nothing is overdue.", ""]
    for o in overdue:
        who = ", ".join(f"@{a}" for a in o["assignees"]) or "unassigned"
        out.append(f"- {link(code(o['issue']), o['url'])} {o['severity']}, due {o['due']}, {text(who)}")
    return Markdown("\n".join(out) + "\n")


def sparkline(points: Sequence[int]) -> str:
    top = max(points, default=0)
    if top == 0:
        return _SPARK[0] * len(points)
    return "".join(_SPARK[min(len(_SPARK) - 1, round(p / top * (len(_SPARK) - 1)))] for p in points)


def to_terminal(doc: Mapping[str, Any]) -> str:
    rows = [HEADERS, *_rows(doc)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = [f"Security findings: status on {doc['generated_at'][:10]} (last {doc['window_days']} days)", ""]
    for n, row in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if i in (0, 7) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", "Open issues, day by day:"]
    for level in LEVELS[:4]:
        points = [d["open"][level.name.lower()] for d in doc["burndown"]]
        lines.append(
            f"  {level.name:<9} {sparkline(points)}  {points[0] if points else 0} → {points[-1] if points else 0}"
        )
    overdue = doc["overdue_issues"]
    lines += ["", f"Overdue ({len(overdue)}):" if overdue else "Nothing is overdue."]
    lines += [
        f"  {o['issue']}  {o['severity']}, due {o['due']}, {', '.join(o['assignees']) or 'unassigned'}  {o['url']}"
        for o in overdue
    ]
    return "\n".join(lines)
