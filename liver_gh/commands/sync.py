"""`liver sync`: read both systems, plan, apply (or only show the plan)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import click

from liver_gh import dispatch, runtime
from liver_gh.adapters.oncall import OncallResolver
from liver_gh.adapters.paging import Pager
from liver_gh.config.model import Config
from liver_gh.errors import ConfigError
from liver_gh.render.explanations import Library
from liver_gh.report import actions
from liver_gh.report.progress import progress_printer
from liver_gh.report.run import RunReport
from liver_gh.sync import Authority, Dispatched, Everything, OneIssue, Ports, Scope, Target, run_sync

EXIT_OK, EXIT_FAILURES = 0, 1


def event_payload(event_path: Path | None, env: Mapping[str, str]) -> dict[str, object]:
    if event_path is None:
        value = env.get("GITHUB_EVENT_PATH")
        if not value:
            raise ConfigError(["--issue-event needs GITHUB_EVENT_PATH (set by GitHub Actions) or --event PATH."])
        event_path = Path(value)
    return runtime.read_event(event_path)


def run(
    config: Config,
    library: Library,
    *,
    now: datetime,
    dry_run: bool,
    fmt: str,
    issue_ref: str | None,
    repo: str | None,
    per_repo: bool,
    shard: str | None,
    event_path: Path | None,
    issue_event: bool,
) -> int:
    env = os.environ
    payload = event_payload(event_path, env) if (issue_event or event_path) else None
    target: Target = OneIssue(issue_ref) if issue_ref else Everything()
    from_issues_event = False
    if payload is not None:
        ids = dispatch.finding_ids(payload)
        forwarded = dispatch.forwarded_issue(payload)
        if ids is not None:
            target = Dispatched(ids)
        elif forwarded is not None:
            target = OneIssue(forwarded)
        else:
            ref = runtime.issue_from_event(payload)
            if ref is None:
                click.echo("This event is not about an issue; nothing to do.")
                return EXIT_OK
            target, from_issues_event = OneIssue(ref), True
    if per_repo:
        repo = repo or env.get("GITHUB_REPOSITORY")
        if not repo:
            raise ConfigError(["--per-repo needs $GITHUB_REPOSITORY or --repo OWNER/NAME."])
    scope = Scope(repo=repo, shard=runtime.parse_shard(shard) if shard else None)
    # An 'issues' event runs in the service repository where it happened: that run never suppresses.
    authority = Authority.SERVICE if (per_repo or repo or from_issues_event) else Authority.CENTRAL
    tracker = runtime.github(config, env)
    if (
        from_issues_event
        and payload is not None
        and not runtime.event_is_liver_issue(payload, tracker.creators, config)
    ):
        # Only a shortcut: whether to act is decided from GitHub's own answer, not the payload.
        click.echo("This event is not about a liver issue; nothing to do.")
        return EXIT_OK
    ports = Ports(
        tracker=tracker,
        hub=runtime.security_hub(config, env, now),
        oncall=OncallResolver(config.people, env),
        pager=Pager(env),
        creators=tracker.creators,
    )
    quiet = fmt == "json"
    report = run_sync(
        config,
        ports=ports,
        library=library,
        now=now,
        dry_run=dry_run,
        scope=scope,
        authority=authority,
        target=target,
        progress=None if quiet else progress_printer(len(scope.select(config.services))),
    )
    return finish(report, fmt)


def finish(report: RunReport, fmt: str = "text") -> int:
    """Print the report once (Actions-aware) and return the documented exit code."""
    if fmt == "json":
        click.echo(json.dumps(report.plan_json(), indent=2, sort_keys=True))
    else:
        actions.emit(report)
    return EXIT_FAILURES if report.failed else EXIT_OK
