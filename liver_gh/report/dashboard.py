"""The dashboard issue: one status issue in ``report.dashboard_repo``, kept current by the central sync.

Found again by its creator and hidden marker (never by title or label), created once, and
edited only when its content changed, so it does not notify anyone on every run.
"""

from __future__ import annotations

from liver_gh.markdown import Markdown
from liver_gh.ports import IssueTracker, NewIssue
from liver_gh.rules.identity import DASHBOARD_MARKER, is_dashboard

TITLE = "Security findings: status by service"


def body_of(report: Markdown) -> str:
    return f"{report}\n_Updated by liver after each central sync._\n\n{DASHBOARD_MARKER}\n"


def publish(tracker: IssueTracker, repo: str, report: Markdown) -> str:
    """Create or update the dashboard issue; return what was done (for the run summary)."""
    body = body_of(report)
    existing = sorted((i for i in tracker.list_issues(repo) if is_dashboard(i)), key=lambda i: i.number)
    if not existing:
        created = tracker.create_issue(repo, "dashboard", NewIssue(TITLE, body, (), ()))
        return f"dashboard issue opened: {created.issue.url}"
    issue = existing[0]
    if issue.body == body:
        return ""
    tracker.edit_body(repo, issue.number, body)
    return f"dashboard issue updated: {issue.url}"
