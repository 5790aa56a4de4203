"""`liver check-config`: validate liver.yml and the templates; warn about configs that cannot work."""

from __future__ import annotations

from collections.abc import Mapping

import click

from liver_gh.config.model import Config
from liver_gh.errors import ConfigError
from liver_gh.render.explanations import Library


def warnings(config: Config, env: Mapping[str, str]) -> list[str]:
    """Problems that do not stop a run but mean part of it cannot work."""
    out = []
    where = config.path.name
    if not config.approval.approvers:
        out.append(f"{where}: approval.approvers is empty: nobody can ever approve a suppression.")
    for i, a in enumerate(config.approval.logins):
        if a.user_id is None:
            out.append(
                f"{where}: approval.approvers[{i}] ({a.login}) has no id: pin the numeric GitHub user id "
                f"({{login: {a.login}, id: N}}) so a renamed login taken over by someone else cannot approve."
            )
    for s in config.services:
        if s.oncall is None:
            out.append(f"{where}: services.{s.name}: no oncall: its issues are opened unassigned.")
        elif s.oncall.token_env and not env.get(s.oncall.token_env):
            out.append(
                f"{where}: services.{s.name}.oncall: {s.oncall.token_env} is not set here; the fallback will be used."
            )
    pages = [p for p in [config.page, *(s.page for s in config.services)] if p is not None]
    for var in sorted({p.routing_key_env for p in pages}):
        if not env.get(var):
            out.append(f"{where}: page: {var} is not set here; nobody can be paged.")
    return out


def run(config: Config, library: Library, env: Mapping[str, str]) -> int:
    problems = library.validate()
    if problems:
        raise ConfigError(problems)
    for w in warnings(config, env):
        click.echo(f"warning: {w}", err=True)
    click.echo(
        f"{config.path}: OK — {len(config.services)} service(s), "
        f"{sum(len(s.accounts) for s in config.services)} account(s), "
        f"{len(library.controls())} control explanation(s)."
    )
    return 0
