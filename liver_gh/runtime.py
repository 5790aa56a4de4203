"""Build the real adapters from the environment (tokens, App auth, endpoints), or say exactly
which variable is wrong and what to set it to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from liver_gh.adapters.github import GitHubTracker
from liver_gh.adapters.ocsf import SecurityHubV2
from liver_gh.adapters.securityhub import SecurityHub, make_client
from liver_gh.config.model import Config, SourceApi
from liver_gh.errors import AuthError, ConfigError

DEFAULT_API = "https://api.github.com"
ACTIONS_BOT = "github-actions[bot]"


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/", 1))
    except ValueError:
        raise ConfigError([f"--shard {text!r}: write it as I/N, e.g. 2/4."]) from None
    if not 1 <= i <= n:
        raise ConfigError([f"--shard {text!r}: I must be between 1 and N."])
    return i, n


def read_event(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: the event payload does not exist; pass --event PATH or set GITHUB_EVENT_PATH."]
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"{path}: the event payload cannot be read ({e})."]) from None
    try:
        payload = json.loads(raw)
    except ValueError as e:
        raise ConfigError([f"{path}: the event payload is not JSON ({e})."]) from None
    if not isinstance(payload, dict):
        raise ConfigError([f"{path}: the event payload must be a JSON object."])
    return payload


def issue_from_event(payload: Mapping[str, Any]) -> str | None:
    """OWNER/REPO#N from an 'issues' webhook payload, or None if it names no issue.

    The payload is only a pointer: the issue is read again from GitHub and judged on what
    GitHub says (its creator, its body), never on the payload's labels.
    """
    issue = payload.get("issue")
    repo = (payload.get("repository") or {}).get("full_name")
    if not isinstance(issue, dict) or not isinstance(repo, str) or issue.get("pull_request"):
        return None
    number = issue.get("number")
    return f"{repo}#{number}" if isinstance(number, int) else None


def event_is_liver_issue(payload: Mapping[str, Any], creators: tuple[str, ...], config: Config) -> bool:
    """Whether an 'issues' event can concern a liver issue: a configured repository, liver's creator."""
    repo = (payload.get("repository") or {}).get("full_name")
    issue = payload.get("issue") or {}
    author = str((issue.get("user") or {}).get("login") or "")
    return (
        isinstance(repo, str)
        and config.service_by_repo(repo) is not None
        and author.lower() in {c.lower() for c in creators}
    )


def api_url(env: Mapping[str, str]) -> str:
    base = (env.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError(
            [
                f"GITHUB_API_URL={base!r} is not an http(s) URL; use {DEFAULT_API} or https://HOST/api/v3 for GitHub Enterprise Server."
            ]
        )
    return base


def _app_token(config: Config, env: Mapping[str, str], base: str) -> str:
    from github import Auth, GithubException, GithubIntegration
    from jwt.exceptions import PyJWTError

    app_id, key = env.get("LIVER_GITHUB_APP_ID", ""), env.get("LIVER_GITHUB_APP_PRIVATE_KEY", "")
    if not app_id.isdigit():
        raise ConfigError([f"LIVER_GITHUB_APP_ID={app_id!r} must be the App's numeric id."])
    owners = sorted({s.repo.split("/")[0] for s in config.services})
    try:
        integration = GithubIntegration(auth=Auth.AppAuth(int(app_id), key), base_url=base)
        installation = integration.get_org_installation(owners[0])
        return integration.get_access_token(installation.id).token
    except (ValueError, TypeError, PyJWTError) as e:
        raise ConfigError(
            [f"LIVER_GITHUB_APP_PRIVATE_KEY is not a valid PEM private key ({type(e).__name__})."]
        ) from None
    except GithubException as e:
        raise AuthError(
            [
                f"GitHub refused the App credentials (HTTP {e.status}); check LIVER_GITHUB_APP_ID, the key and the installation on {owners[0]}."
            ]
        ) from None


def github(config: Config, env: Mapping[str, str]) -> GitHubTracker:
    base = api_url(env)
    token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN")
    if not token and env.get("LIVER_GITHUB_APP_ID"):
        token = _app_token(config, env, base)
    if not token:
        raise ConfigError(
            [
                "GITHUB_TOKEN is not set; export a token with issues: write, or set LIVER_GITHUB_APP_ID and LIVER_GITHUB_APP_PRIVATE_KEY."
            ]
        )
    s = config.github
    tracker = GitHubTracker.connect(
        token, base, per_minute=s.mutations_per_minute, per_hour=s.mutations_per_hour, max_wait=s.max_wait_seconds
    )
    login = env.get("LIVER_GITHUB_LOGIN") or s.login or tracker.whoami()
    if not login and env.get("GITHUB_ACTIONS"):
        login = ACTIONS_BOT
    if not login:
        raise ConfigError(
            [
                "liver cannot tell which login creates its issues (the token has no user): set github.login in liver.yml "
                "or LIVER_GITHUB_LOGIN, e.g. my-app[bot] for a GitHub App."
            ]
        )
    tracker.creators = tuple(dict.fromkeys([login, *s.issue_creators]))
    return tracker


def region(config: Config, env: Mapping[str, str]) -> str:
    found = config.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not found:
        raise ConfigError(["No Security Hub Region: set securityhub.region in liver.yml or AWS_REGION."])
    return found


def hub_client(config: Config, env: Mapping[str, str]) -> Any:
    """A boto3 securityhub client for the configured Region, or a message naming what to set."""
    endpoint = env.get("AWS_ENDPOINT_URL_SECURITYHUB") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ConfigError([f"AWS_ENDPOINT_URL_SECURITYHUB={endpoint!r} is not an http(s) URL."])
    return make_client(region(config, env))


def security_hub(config: Config, env: Mapping[str, str], now: datetime | None = None) -> SecurityHub | SecurityHubV2:
    client = hub_client(config, env)
    if config.api is SourceApi.OCSF:
        return SecurityHubV2(client, now=(lambda: now) if now else (lambda: datetime.now(UTC)))
    return SecurityHub(client)
