"""Build the real adapters from the environment (tokens, App auth, endpoints)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from liver_gh.config import Config
from liver_gh.errors import ConfigError
from liver_gh.github import GitHubTracker
from liver_gh.securityhub import SecurityHub, make_client


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/", 1))
    except ValueError:
        raise ConfigError([f"--shard {text!r}: write it as I/N, e.g. 2/4."]) from None
    if not 1 <= i <= n:
        raise ConfigError([f"--shard {text!r}: I must be between 1 and N."])
    return i, n


def issue_from_event(path: Path) -> str | None:
    """OWNER/REPO#N from an 'issues' webhook payload, or None if it is not a liver issue."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError([f"{path}: cannot read the event payload ({e}); is GITHUB_EVENT_PATH set?"]) from None
    issue = payload.get("issue") if isinstance(payload, dict) else None
    repo = (payload.get("repository") or {}).get("full_name") if isinstance(payload, dict) else None
    if not isinstance(issue, dict) or not repo or issue.get("pull_request"):
        return None
    labels = {lb.get("name") for lb in issue.get("labels") or [] if isinstance(lb, dict)}
    if "liver" not in labels:
        return None
    return f"{repo}#{issue['number']}"


def _github(config: Config, env: Mapping[str, str]) -> GitHubTracker:
    from github import Auth, GithubIntegration

    base = env.get("GITHUB_API_URL") or "https://api.github.com"
    token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN")
    app_id, key = env.get("LIVER_GITHUB_APP_ID"), env.get("LIVER_GITHUB_APP_PRIVATE_KEY")
    if not token and app_id and key:
        # One installation token for the owner of the configured repositories.
        owners = sorted({s.repo.split("/")[0] for s in config.services})
        integration = GithubIntegration(auth=Auth.AppAuth(int(app_id), key), base_url=base)
        installation = integration.get_org_installation(owners[0])
        token = integration.get_access_token(installation.id).token
    if not token:
        raise ConfigError(
            [
                "GITHUB_TOKEN is not set; export a token with issues:write, or set LIVER_GITHUB_APP_ID and LIVER_GITHUB_APP_PRIVATE_KEY."
            ]
        )
    return GitHubTracker.connect(token, base, config.mutations_per_minute, config.mutations_per_hour)


def build_adapters(config: Config, env: Mapping[str, str], github: bool = True) -> tuple[Any, SecurityHub]:
    region = config.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigError(["No Security Hub Region: set securityhub.region in liver.yml or AWS_REGION."])
    hub = SecurityHub(make_client(region))
    return (_github(config, env) if github else None), hub
