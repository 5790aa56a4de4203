"""`liver doctor`: check everything a run needs before the first run, one line per check.

Every check reads; nothing is written to GitHub, Security Hub or a pager (a test page
would wake someone up, so paging is checked only for its variable). A check that cannot
be done says why instead of guessing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from liver_gh import runtime
from liver_gh.adapters.github import GitHubTracker
from liver_gh.adapters.oncall import OncallResolver
from liver_gh.adapters.securityhub import aggregation_regions, probe_read
from liver_gh.config.model import Config, OpsgenieSpec, PagerDutySpec, SourceApi
from liver_gh.errors import ConfigError, LiverError

EXIT_OK, EXIT_FAILED = 0, 1


class Verdict(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    area: str
    text: str


Checks = Iterator[Check]


def _ok(area: str, text: str) -> Check:
    return Check(Verdict.OK, area, text)


def _fail(area: str, text: str) -> Check:
    return Check(Verdict.FAIL, area, text)


def _warn(area: str, text: str) -> Check:
    return Check(Verdict.WARN, area, text)


def _problems(e: LiverError) -> str:
    return "; ".join(e.problems) if isinstance(e, ConfigError) else str(e)


# ---------------------------------------------------------------- environment


def environment(config: Config, env: Mapping[str, str]) -> Checks:
    """Every variable the config names, set or not."""
    area = "env"
    if not (env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or env.get("LIVER_GITHUB_APP_ID")):
        yield _fail(area, "GITHUB_TOKEN is not set: export a token with issues: write (or the App variables).")
    wanted: dict[str, str] = {}
    for s in config.services:
        if s.oncall is not None and s.oncall.token_env is not None:
            wanted.setdefault(s.oncall.token_env, f"the on-call provider of {s.name}")
    for page in [config.page, *(s.page for s in config.services)]:
        if page is not None:
            wanted.setdefault(page.routing_key_env, "paging")
    for var, why in sorted(wanted.items()):
        if env.get(var, "").strip():
            yield _ok(area, f"{var} is set ({why}).")
        else:
            yield _fail(area, f"{var} is not set: {why} cannot work; export it (a repository secret in Actions).")
    try:
        yield _ok(area, f"Security Hub Region: {runtime.region(config, env)}.")
    except ConfigError as e:
        yield _fail(area, _problems(e))


# ---------------------------------------------------------------- GitHub


def github(config: Config, env: Mapping[str, str]) -> Checks:
    area = "github"
    try:
        tracker = runtime.github(config, env)
        reach = tracker.installation_repos()
        who = tracker.whoami() if reach is None else None
    except LiverError as e:
        yield _fail(area, f"the token does not work: {_problems(e)}")
        return
    if reach is None:
        yield _ok(area, f"the token is valid and acts as {who or 'a user GitHub does not name'}.")
    else:
        yield _ok(area, f"an App installation token reaching {len(reach)} repositories.")
    yield _ok(area, f"liver's issues are those created by {', '.join(tracker.creators)}.")
    repos = [s.repo for s in config.services]
    if config.dashboard_repo and config.dashboard_repo not in repos:
        repos.append(config.dashboard_repo)
    for repo in repos:
        yield _repository(tracker, repo, reach)
    yield from _approvers(config, tracker)


def _repository(tracker: GitHubTracker, repo: str, reach: list[str] | None) -> Check:
    area = f"github {repo}"
    if reach is not None and repo.lower() not in {r.lower() for r in reach}:
        return _fail(area, "not among the App installation's repositories: add it (`liver repos` lists them all).")
    try:
        info = tracker.repo(repo)
    except LiverError as e:
        return _fail(area, str(e))
    if info.moved:
        return _fail(area, f"the repository is now {info.full_name}: update its name in liver.yml.")
    if info.push is False:
        return _fail(
            area,
            "the token has no push access: GitHub silently drops the labels and assignees liver sets; "
            "grant write access (an App: Issues read & write).",
        )
    if info.push is None:
        return _ok(area, "reachable with issues enabled (the token does not say its permission: grant Issues write).")
    return _ok(area, "reachable, issues enabled, push access.")


def _approvers(config: Config, tracker: GitHubTracker) -> Checks:
    area = "approvers"
    for a in config.approval.logins:
        if a.user_id is None:
            yield _warn(area, f"{a.login} has no pinned id: write {{login: {a.login}, id: N}} in approval.approvers.")
            continue
        try:
            found = tracker.user_id(a.login)
        except LiverError as e:
            yield _fail(area, f"{a.login}: {e}")
            continue
        if found == a.user_id:
            yield _ok(area, f"{a.login} is user {a.user_id}.")
        else:
            now = "no longer exists" if found is None else f"now belongs to user {found}"
            yield _fail(area, f"{a.login} was pinned as user {a.user_id} but {now}: check who approves.")
    for t in config.approval.teams:
        try:
            visible = tracker.team_visible(t.org, t.slug)
        except LiverError as e:
            yield _fail(area, f"{t.name}: {e}")
            continue
        if visible:
            yield _ok(area, f"team {t.name} can be read.")
        else:
            yield _fail(
                area,
                f"team {t.name} cannot be read: the token needs Members: read (a GitHub App can have it; "
                "GITHUB_TOKEN cannot), or list approvers by login.",
            )


# ---------------------------------------------------------------- Security Hub


def security_hub(config: Config, env: Mapping[str, str]) -> Checks:
    area = "security hub"
    ocsf = config.api is SourceApi.OCSF
    try:
        region = runtime.region(config, env)
        client = runtime.hub_client(config, env)
        found = probe_read(client, ocsf)
    except LiverError as e:
        yield _fail(area, _problems(e))
        return
    operation = "GetFindingsV2" if ocsf else "GetFindings"
    yield _ok(area, f"credentials work and {operation} is allowed in {region} ({found} finding read).")
    try:
        homes = aggregation_regions(client, ocsf)
    except LiverError as e:
        yield _warn(area, f"the finding aggregator could not be checked: {e}")
        return
    if not homes:
        yield _warn(area, f"no cross-Region aggregator: only findings from {region} are seen.")
    elif region in homes:
        yield _ok(area, f"{region} is the aggregation Region: findings from every linked Region are seen.")
    else:
        yield _fail(
            area,
            f"{region} is not the aggregation Region ({', '.join(homes)}): set securityhub.region to it, "
            "or findings from other Regions are missed.",
        )


# ---------------------------------------------------------------- on call


def oncall(config: Config, env: Mapping[str, str], now: datetime) -> Checks:
    resolver = OncallResolver(config.people, env)
    for s in config.services:
        area = f"oncall {s.name}"
        if s.oncall is None:
            yield _warn(area, "no oncall: its issues are opened unassigned.")
            continue
        answer = resolver.who(s.name, s.oncall, now)
        asks = isinstance(s.oncall.provider, PagerDutySpec | OpsgenieSpec)
        if asks and answer.source == "fallback":
            yield _fail(area, " ".join(answer.notes) or "the provider gave no answer.")
        elif not answer.candidates:
            yield _fail(area, "nobody is on call and there is no fallback.")
        else:
            yield _ok(area, f"{answer.candidates[0]} is on call now ({answer.source}).")


# ---------------------------------------------------------------- the command


def all_checks(config: Config, env: Mapping[str, str], now: datetime) -> Checks:
    yield from environment(config, env)
    yield from github(config, env)
    yield from security_hub(config, env)
    yield from oncall(config, env, now)


def run(config: Config, env: Mapping[str, str], now: datetime, echo: Callable[[str], None]) -> int:
    failed = warned = 0
    for check in all_checks(config, env, now):
        # One line per check, whatever a provider or GitHub put in the text (no forged
        # second line, e.g. a workflow command, in an Actions log).
        text = " ".join(check.text.split())
        echo(f"{check.verdict.value:<4}  {check.area}: {text}")
        failed += check.verdict is Verdict.FAIL
        warned += check.verdict is Verdict.WARN
    echo(f"\n{failed} to fix, {warned} warning(s)." if failed or warned else "\nEverything liver needs is in place.")
    return EXIT_FAILED if failed else EXIT_OK
