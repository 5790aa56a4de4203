"""`liver report status`: open issues, overdue, time to fix and SLA by service, and the burn-down."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime

import click

from liver_gh import runtime
from liver_gh.config.model import Config
from liver_gh.errors import LiverError, StopRun
from liver_gh.models import TrackedIssue
from liver_gh.report import status


def run(config: Config, now: datetime, fmt: str | None, days: int) -> int:
    tracker = runtime.github(config, os.environ)
    issues: dict[str, list[TrackedIssue]] = {}
    failed = 0
    for service in config.services:
        try:
            issues[service.repo] = tracker.list_issues(service.repo)
        except StopRun:
            raise
        except LiverError as e:  # one repository fails alone
            click.echo(f"error: {service.repo}: {e}", err=True)
            failed += 1
    doc = status.status(config, issues, now, days)
    chosen = fmt or ("text" if sys.stdout.isatty() else "markdown")
    if chosen == "json":
        click.echo(json.dumps(doc, indent=2))
    elif chosen == "markdown":
        click.echo(status.to_markdown(doc))
    else:
        click.echo(status.to_terminal(doc))
    return 1 if failed else 0
