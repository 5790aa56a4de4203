"""`liver repos`: the repositories a run writes to, derived from liver.yml.

The GitHub App token of a central run should reach exactly these repositories; deriving
the list here keeps the token in step with the config instead of a hand-kept copy.
"""

from __future__ import annotations

import json

from liver_gh import runtime
from liver_gh.config.model import Config
from liver_gh.errors import ConfigError
from liver_gh.sync import Scope


def repositories(config: Config, shard: str | None = None) -> list[str]:
    """Service repositories (of one shard), plus the dashboard's when the run is not sharded."""
    scope = Scope(shard=runtime.parse_shard(shard) if shard else None)
    found = [s.repo for s in scope.select(config.services)]
    if config.dashboard_repo and not shard:  # only an unsharded central run keeps the dashboard
        found.append(config.dashboard_repo)
    return sorted(dict.fromkeys(found), key=str.lower)


def owner_and_names(repos: list[str]) -> tuple[str, list[str]]:
    """One owner and the bare names, as actions/create-github-app-token takes them."""
    owners = sorted({r.split("/", 1)[0].lower() for r in repos})
    if len(owners) > 1:
        raise ConfigError(
            [
                f"the repositories belong to {len(owners)} owners ({', '.join(owners)}); an App installation token "
                "covers one owner: run one job per owner (each with its own liver.yml)."
            ]
        )
    return (repos[0].split("/", 1)[0] if repos else ""), [r.split("/", 1)[1] for r in repos]


def render(repos: list[str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(repos)
    if fmt == "names":
        return ",".join(owner_and_names(repos)[1])
    return "\n".join(repos)
