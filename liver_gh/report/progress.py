"""Progress while a sync runs: one line per service as it finishes, flushed at once.

On a terminal a live bar (rich) shows how many services are done; elsewhere (logs, CI)
plain lines; inside GitHub Actions each service's lines are a collapsible group.
"""

from __future__ import annotations

import os
import sys
from collections import Counter

import click

from liver_gh.apply import Progress
from liver_gh.report.actions import escape_command
from liver_gh.report.run import Entry, Status


def _line(done: int, total: int, service: str, entries: list[Entry]) -> str:
    counted = (Status.DONE, Status.PLANNED)  # a dry run's line says what it would do
    c = Counter(e.kind.counted_as for e in entries if e.status in counted and e.step.has_effects)
    failed = sum(1 for e in entries if e.status is Status.FAILED)
    return (
        f"[{done}/{total}] {service}: {c['opened']} opened, {c['updated'] + c['suppressed'] + c['resolved'] + c['rejected']} "
        f"updated, {failed} failed"
    )


def progress_printer(total: int) -> Progress:
    state = {"done": 0}
    in_actions = bool(os.environ.get("GITHUB_ACTIONS"))
    live = None
    if sys.stderr.isatty() and not in_actions:
        from rich.progress import Progress as Bar

        live = Bar(transient=True)
        live.start()
        task = live.add_task("syncing services", total=total)

    def report(service: str, entries: list[Entry]) -> None:
        state["done"] += 1
        line = _line(state["done"], total, service, entries)
        if live is not None:
            live.update(task, advance=1)
            live.console.print(line, markup=False, highlight=False)
            if state["done"] >= total:
                live.stop()
            return
        if in_actions:
            click.echo(f"::group::{escape_command(line)}")
            for e in entries:
                click.echo(f"  [{e.kind.value}] {escape_command(e.step.summary)}")
            click.echo("::endgroup::")
        else:
            click.echo(line)
        sys.stdout.flush()

    return report
