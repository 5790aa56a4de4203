"""Print a run's report: plain text on a terminal, workflow commands inside GitHub Actions."""

from __future__ import annotations

import os
import secrets

import click

from liver_gh.report import RunReport


def _escape(text: str) -> str:
    # Workflow command data escaping, so a message cannot end the command early.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def emit(report: RunReport) -> None:
    if not os.environ.get("GITHUB_ACTIONS"):
        click.echo(report.text())
        return
    # Finding text is untrusted: stop workflow-command processing while we echo it.
    token = secrets.token_hex(16)
    click.echo(f"::stop-commands::{token}")
    click.echo(report.text())
    click.echo(f"::{token}::")
    for service, entries in report.by_service().items():
        click.echo(f"::group::{_escape(service)}")
        click.echo(f"::stop-commands::{token}")
        for e in entries:
            click.echo(f"[{e.kind}] {e.text} {e.url or ''}")
        click.echo(f"::{token}::")
        click.echo("::endgroup::")
    for w in report.warnings:
        click.echo(f"::warning::{_escape(w)}")
    for e in report.entries:
        if e.kind == "rejected":
            click.echo(f"::warning::{_escape(e.text)}")
    for f in report.failures:
        click.echo(f"::error::{_escape(f)}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(report.markdown() + "\n")
    write_outputs(report)


def write_outputs(report: RunReport) -> None:
    """The action's outputs (opened, updated, ...), when running inside Actions."""
    out = os.environ.get("GITHUB_OUTPUT")
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            for k, v in report.counts.items():
                fh.write(f"{k}={v}\n")
