"""Print a run's report: plain text on a terminal, workflow commands inside GitHub Actions.

Finding text is untrusted, so every annotation is escaped and the plain report is
echoed inside ``::stop-commands::`` so it cannot inject workflow commands.
"""

from __future__ import annotations

import os
import secrets

import click

from liver_gh.actions import StepKind
from liver_gh.report.run import RunReport, Status


def escape_command(text: str) -> str:
    """Workflow command data escaping, so a message cannot end the command early."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace("::", ":%3A")


def emit(report: RunReport) -> None:
    if not os.environ.get("GITHUB_ACTIONS"):
        click.echo(report.text())
        return
    token = secrets.token_hex(16)
    click.echo(f"::stop-commands::{token}")
    click.echo(report.text())
    click.echo(f"::{token}::")
    for w in report.warning_lines():
        click.echo(f"::warning::{escape_command(w)}")
    for e in report.entries:
        if e.kind is StepKind.REJECTED and e.status is Status.DONE:
            click.echo(f"::warning::{escape_command(e.step.summary)}")
    for f in report.failure_lines():
        click.echo(f"::error::{escape_command(f)}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(report.markdown() + "\n")
            if report.status_markdown:
                fh.write("\n" + report.status_markdown + "\n")
    if not report.dry_run:
        write_outputs(report)


def write_outputs(report: RunReport) -> None:
    """The action's outputs (opened, updated, ...): only for what was done."""
    out = os.environ.get("GITHUB_OUTPUT")
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            for k, v in report.counts.items():
                fh.write(f"{k}={v}\n")
