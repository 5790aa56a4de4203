"""The command line: thin. Parses options, builds adapters, calls one function, exits.

Exit codes: 0 done; 1 some operations failed (each listed, the rest still done);
2 usage or configuration error.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from liver_gh import actions_output
from liver_gh.config import Config, load_config
from liver_gh.errors import ConfigError, LiverError
from liver_gh.explanations import Library
from liver_gh.report import RunReport

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


def _now() -> datetime:
    override = os.environ.get("LIVER_NOW")  # tests and demos pin the clock
    return datetime.fromisoformat(override) if override else datetime.now(UTC)


def _fail_usage(problems: list[str]) -> None:
    for p in problems:
        click.echo(f"error: {p}", err=True)
    sys.exit(EXIT_USAGE)


def _load(config_path: Path | None) -> tuple[Config, Library]:
    try:
        config = load_config(config_path)
        library = Library.load(config.explanations_dir)
    except ConfigError as e:
        _fail_usage(e.problems)
        raise  # unreachable; keeps the type checker calm
    return config, library


def finish(report: RunReport) -> None:
    """Print the report (Actions-aware) and exit with the documented code."""
    actions_output.emit(report)
    sys.exit(EXIT_FAILURES if report.failures else EXIT_OK)


# A fixed width keeps --help identical everywhere (the README shows it verbatim).
@click.group(context_settings={"help_option_names": ["-h", "--help"], "terminal_width": 100, "max_content_width": 100})
@click.version_option(package_name="liver-gh")
def main() -> None:
    """liver: turn Security Hub findings into GitHub issues their owners act on."""


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Path to liver.yml (default: $LIVER_CONFIG, else ./liver.yml).",
)


@main.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing on either side.")
@click.option("--issue", "issue_ref", default=None, help="Handle only OWNER/REPO#N (event mode).")
@click.option(
    "--repo",
    "repo",
    default=None,
    help="Handle only the service of this repository (default in per-repo mode: $GITHUB_REPOSITORY when --per-repo is given).",
)
@click.option("--per-repo", is_flag=True, help="Handle only the service whose repo is $GITHUB_REPOSITORY.")
@click.option("--shard", default=None, help="I/N: handle the I-th of N deterministic partitions of the services.")
@click.option(
    "--event",
    "event_path",
    type=click.Path(path_type=Path),
    default=None,
    help="A GitHub 'issues' event payload (default: $GITHUB_EVENT_PATH with --issue-event).",
)
@click.option("--issue-event", is_flag=True, help="Read the issue from the GITHUB_EVENT_PATH payload.")
def sync(
    config_path: Path | None,
    dry_run: bool,
    issue_ref: str | None,
    repo: str | None,
    per_repo: bool,
    shard: str | None,
    event_path: Path | None,
    issue_event: bool,
) -> None:
    """Pull findings, open and update issues, and sync both ways."""
    from liver_gh.runtime import build_adapters, issue_from_event, parse_shard
    from liver_gh.sync import Scope, run_sync

    config, library = _load(config_path)
    if issue_event or event_path:
        path = event_path or Path(os.environ.get("GITHUB_EVENT_PATH", ""))
        issue_ref = issue_from_event(path)
        if issue_ref is None:
            click.echo("This event is not about a liver issue; nothing to do.")
            sys.exit(EXIT_OK)
    if per_repo:
        repo = repo or os.environ.get("GITHUB_REPOSITORY")
        if not repo:
            _fail_usage(["--per-repo needs $GITHUB_REPOSITORY or --repo OWNER/NAME."])
    try:
        scope = Scope(repo=repo, shard=parse_shard(shard) if shard else None)
        tracker, hub = build_adapters(config, os.environ)
        report = run_sync(
            config,
            tracker=tracker,
            hub=hub,
            library=library,
            now=_now(),
            env=os.environ,
            dry_run=dry_run,
            scope=scope,
            issue_ref=issue_ref,
        )
    except ConfigError as e:
        _fail_usage(e.problems)
        return
    except LiverError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_FAILURES)
    finish(report)


@main.command("check-config")
@config_option
def check_config(config_path: Path | None) -> None:
    """Validate liver.yml and the explanation templates without calling any API."""
    config, library = _load(config_path)
    click.echo(
        f"{config.path}: OK — {len(config.services)} service(s), "
        f"{sum(len(s.accounts) for s in config.services)} account(s), "
        f"{len(library.controls())} control explanation(s)."
    )


@main.command()
@click.argument("control_id", required=False)
@click.option("--list", "list_", is_flag=True, help="Show coverage by severity.")
@click.option(
    "--finding",
    "finding_file",
    type=click.Path(exists=True, path_type=Path),
    help="Render with this ASFF finding (JSON).",
)
@config_option
def explain(control_id: str | None, list_: bool, finding_file: Path | None, config_path: Path | None) -> None:
    """Render the explanation for CONTROL_ID, or list coverage."""
    from liver_gh.explain import coverage_table, render_one

    extra = None
    if config_path or os.environ.get("LIVER_CONFIG") or Path("liver.yml").exists():
        extra = _load(config_path)[0].explanations_dir
    try:
        library = Library.load(extra)
    except ConfigError as e:
        _fail_usage(e.problems)
        return
    if list_:
        click.echo(coverage_table(library))
        return
    if not control_id:
        _fail_usage(["give a CONTROL_ID (e.g. S3.2) or --list."])
        return
    try:
        click.echo(render_one(library, control_id, finding_file))
    except LiverError as e:
        _fail_usage([str(e)])


@main.group()
def report() -> None:
    """Reports for the security team."""


@report.command("ignored")
@config_option
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown")
def report_ignored(config_path: Path | None, fmt: str) -> None:
    """Every finding skipped by an ignore tag, and the tags that are not honoured."""
    from liver_gh.ignored import build_ignored_report, to_json, to_markdown
    from liver_gh.runtime import build_adapters

    config, _ = _load(config_path)
    try:
        _, hub = build_adapters(config, os.environ, github=False)
        data = build_ignored_report(config, hub, _now())
    except LiverError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_FAILURES)
    click.echo(json.dumps(to_json(data), indent=2) if fmt == "json" else to_markdown(data))


@main.command()
def demo() -> None:
    """Run the real sync against embedded fakes: no credentials, no network."""
    from liver_gh.demo import run_demo

    sys.exit(run_demo(click.echo))


def run(argv: list[str] | None = None) -> Any:
    return main.main(args=argv, prog_name="liver")


_: Callable[..., Any] = run
