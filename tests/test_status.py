"""The status report's figures, computed exactly as defined, on hand-made issue histories."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from liver_gh.config.load import parse_config
from liver_gh.models import IssueState, Severity, StateReason, TrackedIssue
from liver_gh.report.dashboard import TITLE
from liver_gh.report.status import sparkline, status, to_markdown, to_terminal
from liver_gh.rules.identity import DASHBOARD_MARKER, Identity, KeyKind
from tests.conftest import BASE_CONFIG, Mem, ts
from tests.factories import control_finding

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CONFIG = parse_config(BASE_CONFIG, "liver.yml")


def d(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def issue(
    n: int, severity: Severity, created: str, closed: str | None = None, reason: StateReason | None = None
) -> TrackedIssue:
    return TrackedIssue(
        repo="acme/payments",
        number=n,
        url=f"https://github.com/acme/payments/issues/{n}",
        title=f"issue {n}",
        state=IssueState.CLOSED if closed else IssueState.OPEN,
        state_reason=reason if closed else (StateReason.REOPENED if reason else None),
        labels=frozenset({"liver", severity.label}),
        assignees=("bob",),
        body=Identity(KeyKind.FINDING, finding_id=f"f{n}").marker(),
        author="liver-bot",
        created_at=d(created),
        updated_at=d(created),
        closed_at=d(closed) if closed else None,
    )


HISTORY = [
    issue(
        1, Severity.CRITICAL, "2026-11-20T00:00", "2026-11-20T12:00", StateReason.COMPLETED
    ),  # 0.5 d, inside its 1-day SLA
    issue(2, Severity.CRITICAL, "2026-11-22T00:00", "2026-11-23T12:00", StateReason.COMPLETED),  # 1.5 d, SLA missed
    issue(3, Severity.HIGH, "2026-11-20T00:00"),  # open, due 11-27: overdue
    issue(4, Severity.HIGH, "2026-11-30T00:00"),  # open, due 12-07
    issue(
        5, Severity.CRITICAL, "2026-11-24T00:00", "2026-11-25T00:00", StateReason.NOT_PLANNED
    ),  # neither fixed nor open after
    issue(6, Severity.HIGH, "2026-11-10T00:00", None, StateReason.REOPENED),  # closed on 11-12, reopened: open, overdue
    issue(7, Severity.CRITICAL, "2026-09-30T00:00", "2026-10-01T00:00", StateReason.COMPLETED),  # before the window
]


def payments(doc: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in doc["services"] if s["name"] == "payments")


def test_figures_follow_their_definitions() -> None:
    doc = status(CONFIG, {"acme/payments": HISTORY}, NOW, 30)
    p = payments(doc)
    assert p["open"] == {"critical": 0, "high": 3, "medium": 0, "low": 0, "informational": 0}
    assert p["overdue"] == 2
    assert p["mttr_days"] == {"critical": {"mean": 1.0, "p90": 1.5, "n": 2}}
    assert p["sla_met_pct"] == 25.0  # 1 inside its SLA / (2 closed as completed + 2 open overdue)
    assert doc["totals"]["overdue"] == 2 and doc["totals"]["sla_met_pct"] == 25.0
    assert next(s for s in doc["services"] if s["name"] == "search")["sla_met_pct"] is None
    days = {b["date"]: b["open"] for b in doc["burndown"]}
    assert (
        len(doc["burndown"]) == 30
        and doc["burndown"][0]["date"] == "2026-11-02"
        and doc["burndown"][-1]["date"] == "2026-12-01"
    )
    assert (days["2026-11-20"]["critical"], days["2026-11-20"]["high"]) == (0, 2)
    assert (days["2026-11-24"]["critical"], days["2026-11-24"]["high"]) == (1, 2)
    assert (days["2026-11-25"]["critical"], days["2026-12-01"]["high"]) == (0, 3)
    assert [o["issue"] for o in doc["overdue_issues"]] == ["acme/payments#6", "acme/payments#3"]


def test_p90_is_the_nearest_rank() -> None:
    ten = [
        issue(i, Severity.LOW, "2026-11-01T00:00", f"2026-11-{1 + i:02d}T00:00", StateReason.COMPLETED)
        for i in range(1, 11)
    ]
    doc = status(CONFIG, {"acme/payments": ten}, NOW, 31)
    assert payments(doc)["mttr_days"]["low"] == {"mean": 5.5, "p90": 9.0, "n": 10}


def test_markdown_has_a_table_a_chart_and_the_overdue_list() -> None:
    doc = status(CONFIG, {"acme/payments": HISTORY}, NOW, 30)
    md = to_markdown(doc)
    assert "| payments | 0 | 3 | 0 | 0 | 2 | 25\\.0% |" in md
    assert "```mermaid\nxychart-beta" in md and 'title "Open HIGH issues"' in md
    assert "[`acme/payments#6`](https://github.com/acme/payments/issues/6)" in md and "\uff20bob" in md
    text = to_terminal(doc)
    header, rule = text.splitlines()[2:4]
    assert header.startswith("service") and set(rule.replace(" ", "")) == {"-"}
    assert "HIGH" in text and "▁" in text
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█" and sparkline([0, 0]) == "▁▁"


def test_the_dashboard_issue_is_created_once_and_not_rewritten_when_nothing_changed(mem: Mem) -> None:
    mem.config_text = mem.config_text.replace("github:\n", "report: {dashboard_repo: acme/security}\ngithub:\n", 1)
    mem.tracker.add_repo("acme/security")
    mem.hub.add(control_finding("S3.2", updated_at=ts(mem.now)))
    mem.sync()
    (dash,) = mem.tracker.all_issues("acme/security")
    assert dash.title == TITLE and DASHBOARD_MARKER in dash.body and "| payments | 1 |" in dash.body
    before = len(mem.tracker.mutations())
    report = mem.sync()
    assert len(mem.tracker.mutations()) == before, report.text()
    assert len(mem.tracker.all_issues("acme/security")) == 1
    assert report.status_markdown is not None  # the job summary gets the same report


def test_report_status_through_the_cli(env: Any) -> None:
    import json

    env.hub.import_findings([control_finding("S3.2", updated_at=ts(env.now))])
    assert env.sync().exit_code == 0
    result = env.liver("report", "status", "--format", "json", "--days", "7")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["window_days"] == 7 and doc["totals"]["open"]["critical"] == 1
    text = env.liver("report", "status", "--format", "text")
    assert "payments" in text.output and "CRITICAL" in text.output
