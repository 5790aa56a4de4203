"""The command line: thin. Parses options, calls one command function, exits.

Exit codes: 0 done; 1 some operations failed (each listed, the rest still done);
2 usage, configuration or environment error (one line per problem); 3 a bug in liver
(one line, and where the full traceback was written).
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from liver_gh.errors import ConfigError, LiverError

EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3
F = TypeVar("F", bound=Callable[..., int])


def now() -> datetime:
    override = os.environ.get("LIVER_NOW")  # tests and demos pin the clock
    if not override:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(override)
    except ValueError:
        raise ConfigError([f"LIVER_NOW={override!r} is not an ISO 8601 time like 2026-12-01T08:00:00+00:00."]) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def guarded(fn: F) -> Callable[..., None]:
    """Run a command and turn its result or error into the documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        ctx = click.get_current_context()
        debug = bool((ctx.find_root().params or {}).get("debug"))
        try:
            code = fn(*args, **kwargs)
        except ConfigError as e:
            for p in e.problems:
                click.echo(f"error: {p}", err=True)
            code = EXIT_USAGE
        except LiverError as e:
            click.echo(f"error: {e}", err=True)
            code = EXIT_FAILURES
        except (click.ClickException, click.exceptions.Exit, KeyboardInterrupt):
            raise
        except Exception as e:  # a bug: say so in one line, keep the traceback
            code = EXIT_BUG
            if debug:
                traceback.print_exc()
            else:
                fd, path = tempfile.mkstemp(prefix="liver-traceback-", suffix=".txt")
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    traceback.print_exc(file=fh)
                click.echo(
                    f"error: liver hit an internal error ({type(e).__name__}: {str(e)[:200]}). This is a bug; the "
                    f"traceback is in {path} (or rerun with --debug). Please report it.",
                    err=True,
                )
        sys.exit(code)

    return wrapper


def _load(config_path: Path | None) -> tuple[Any, Any]:
    from liver_gh.config.load import load_config
    from liver_gh.render.explanations import Library

    config = load_config(config_path)
    return config, Library.load(config.explanations_dir)


# A fixed width keeps --help identical everywhere (the README shows it verbatim).
@click.group(context_settings={"help_option_names": ["-h", "--help"], "terminal_width": 100, "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show the full traceback of an internal error.")
@click.version_option(package_name="liver-gh")
def main(debug: bool) -> None:
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
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="How to print the report or plan."
)
@click.option("--issue", "issue_ref", default=None, help="Handle only OWNER/REPO#N (event mode).")
@click.option(
    "--repo", "repo", default=None, help="Handle only the service of this repository (a service run: never suppresses)."
)
@click.option("--per-repo", is_flag=True, help="Handle only the service whose repo is $GITHUB_REPOSITORY.")
@click.option("--shard", default=None, help="I/N: handle the I-th of N deterministic partitions of the services.")
@click.option(
    "--event",
    "event_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A GitHub event payload: 'issues' or 'repository_dispatch' (default: $GITHUB_EVENT_PATH with --issue-event).",
)
@click.option("--issue-event", is_flag=True, help="Read the event from the GITHUB_EVENT_PATH payload.")
@guarded
def sync(config_path: Path | None, **options: Any) -> int:
    """Pull findings, open and update issues, and sync both ways."""
    from liver_gh.commands import sync as command

    config, library = _load(config_path)
    return command.run(config, library, now=now(), **options)  # the options are command.run's keywords


@main.command("check-config")
@config_option
@guarded
def check_config(config_path: Path | None) -> int:
    """Validate liver.yml and the explanation templates without calling any API."""
    from liver_gh.commands import check

    config, library = _load(config_path)
    return check.run(config, library, os.environ)


@main.command()
@click.argument("control_id", required=False)
@click.option("--list", "list_", is_flag=True, help="List every control: id, severity, title, explained or not.")
@click.option(
    "--finding",
    "finding_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Render with this ASFF finding (JSON).",
)
@config_option
@guarded
def explain(control_id: str | None, list_: bool, finding_file: Path | None, config_path: Path | None) -> int:
    """Render the explanation for CONTROL_ID (or a product: guardduty, inspector, ...), or list them."""
    from liver_gh.render import explain as command
    from liver_gh.render.explanations import Library

    extra = None
    if config_path or os.environ.get("LIVER_CONFIG") or Path("liver.yml").exists():
        extra = _load(config_path)[0].explanations_dir
    library = Library.load(extra)
    if list_:
        click.echo(command.listing(library))
        return EXIT_OK
    if not control_id:
        raise ConfigError(["give a CONTROL_ID (e.g. S3.2), a product (e.g. guardduty) or --list."])
    click.echo(command.render_one(library, control_id, finding_file))
    return EXIT_OK


@main.group()
def report() -> None:
    """Reports for the security team."""


@report.command("ignored")
@config_option
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown")
@guarded
def report_ignored(config_path: Path | None, fmt: str) -> int:
    """Every finding skipped by an ignore tag, and the tags that are not honoured."""
    import json

    from liver_gh import runtime
    from liver_gh.report.ignored import build_ignored_report, to_json, to_markdown

    config, _ = _load(config_path)
    data = build_ignored_report(config, runtime.security_hub(config, os.environ), now())
    click.echo(json.dumps(to_json(data), indent=2) if fmt == "json" else to_markdown(data))
    return EXIT_OK


@report.command("status")
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default=None,
    help="Default: text on a terminal, else markdown.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=30,
    show_default=True,
    help="The window for time to fix, SLA and the burn-down.",
)
@guarded
def report_status(config_path: Path | None, fmt: str | None, days: int) -> int:
    """Open issues, overdue, time to fix and SLA by service, with a burn-down chart."""
    from liver_gh.commands import status

    config, _ = _load(config_path)
    return status.run(config, now(), fmt, days)


@main.command()
@config_option
@guarded
def doctor(config_path: Path | None) -> int:
    """Check everything a run needs (token, repositories, Security Hub, on call); change nothing."""
    from liver_gh.commands import doctor as command

    config, _ = _load(config_path)
    return command.run(config, os.environ, now(), click.echo)


@main.command()
@config_option
@click.option("--shard", default=None, help="I/N: only the repositories of that shard of the services.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["lines", "names", "json"]),
    default="lines",
    show_default=True,
    help="lines: OWNER/NAME per line; names: NAME,NAME for actions/create-github-app-token; json: a list.",
)
@guarded
def repos(config_path: Path | None, shard: str | None, fmt: str) -> int:
    """The repositories a run writes to, for the GitHub App token's repository list."""
    from liver_gh.commands import repos as command

    config, _ = _load(config_path)
    click.echo(command.render(command.repositories(config, shard), fmt))
    return EXIT_OK


@main.command()
@guarded
def schema() -> int:
    """Print the JSON Schema of liver.yml (for editors and the YAML language server)."""
    import json

    from liver_gh.config.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))
    return EXIT_OK


@main.command()
@config_option
@guarded
def demo(config_path: Path | None) -> int:
    """Run the real sync against embedded fakes: no credentials, no network."""
    try:
        from liver_fakes.demo import run_demo
    except ImportError:
        raise ConfigError(
            [
                "the demo runs from a source checkout (its fakes are not part of the installed package): clone the repository and run 'make demo'."
            ]
        ) from None
    return run_demo(click.echo, config_path)


def run(argv: list[str] | None = None) -> Any:
    return main.main(args=argv, prog_name="liver")
