"""What the adapters must fetch beyond the listings, decided from what is already known.

Every extra read costs a request, so each is asked for only when a rule needs it: an
issue's history (events, comments) when an approval or a closed issue must be judged;
a team membership when a labeller is not a configured login; whether on-call people can
be assigned where an issue may be opened or handed over; and a direct lookup of the
findings of an open issue that nothing in Security Hub seems to point at any more, before
liver would call them gone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from liver_gh.config.model import ApprovalPolicy, Config, Service
from liver_gh.models import Finding, TrackedIssue
from liver_gh.ports import ByControl, ByIds, Query
from liver_gh.rules import approval as ap
from liver_gh.rules import routing
from liver_gh.rules.identity import UDF_APPROVAL, UDF_ISSUE, Identity, KeyKind, identity_for, read_marker
from liver_gh.rules.lifecycle import needs_history
from liver_gh.rules.upkeep import Oncall


def pointing(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Findings by the issue URL their UserDefinedFields name."""
    out: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        url = f.udf(UDF_ISSUE)
        if url:
            out[url].append(f)
    return out


def histories(
    issues: Iterable[TrackedIssue], by_url: Mapping[str, Sequence[Finding]], label: str
) -> list[TrackedIssue]:
    return [i for i in issues if needs_history(i, by_url.get(i.url, ()), label)]


def memberships(
    issues: Iterable[TrackedIssue],
    by_url: Mapping[str, Sequence[Finding]],
    policy: ApprovalPolicy,
    creators: frozenset[str],
) -> set[tuple[str, str, str]]:
    """(org, team, login) checks that decide a fresh approval; standing ones need none."""
    out: set[tuple[str, str, str]] = set()
    for issue in issues:
        if issue.events is None or policy.label not in issue.labels:
            continue
        event = ap.latest_label_event(issue, policy.label)
        if event is None:
            continue
        record = ap.records(issue, creators).get(event.id)
        if record and any(f.udf(UDF_APPROVAL) == str(event.id) for f in by_url.get(issue.url, ())):
            continue
        login = event.actor.lower()
        if any(a.login.lower() == login or a.user_id == event.actor_id for a in policy.logins):
            continue
        out.update((t.org, t.slug, event.actor) for t in policy.teams)
    return out


def assignees(
    services: Iterable[Service],
    oncall: Mapping[str, Oncall],
    findings: Iterable[Finding],
    issues: Mapping[str, Sequence[TrackedIssue]],
    config: Config,
    today: date,
) -> list[tuple[str, tuple[str, ...]]]:
    """(repository, candidates in order) to check until one is assignable: only for services
    that may assign someone this run, i.e. with a finding that may open or reopen an issue,
    or an open issue the current on-call person does not hold (a hand-over)."""
    services = [s for s in services if s.name in oncall and oncall[s.name].candidates]
    chosen = tuple(services)
    wanted: set[str] = set()
    for f in findings:
        found = routing.owner(f, config, chosen)
        if isinstance(found, routing.Owner) and isinstance(
            routing.eligibility(f, found, config, today), routing.Eligible
        ):
            wanted.add(found.service.name)
    by_repo = {repo.lower(): listed for repo, listed in issues.items()}
    for s in services:
        first = oncall[s.name].candidates[0].lower()
        if any(i.is_open and first not in {a.lower() for a in i.assignees} for i in by_repo.get(s.repo.lower(), ())):
            wanted.add(s.name)
    return [(s.repo, oncall[s.name].candidates) for s in services if s.name in wanted]


def gone_checks(
    issues: Iterable[TrackedIssue], findings: Iterable[Finding], config: Config, services: Sequence[Service]
) -> dict[str, Query]:
    """Open issues nothing points at, and the query that would find their findings."""
    findings = list(findings)
    pointed = set(pointing(findings))
    keys: set[str] = set()
    for f in findings:
        owner = config.owner_of(f.account, tuple(services))
        if owner is not None:
            keys.add(identity_for(f, owner[0].name, owner[0].group_by, config.group_by_tags).key)
    by_name = {s.name: s for s in services}
    service_of_repo = {s.repo.lower(): s for s in services}
    out: dict[str, Query] = {}
    for issue in issues:
        marker = read_marker(issue.body)
        if not issue.is_open or marker.identity is None or issue.url in pointed or marker.identity.key in keys:
            continue
        service = by_name.get(marker.identity.service or "") or service_of_repo.get(issue.repo.lower())
        if service is not None:
            out[issue.url] = query_for(marker.identity, service)
    return out


def query_for(identity: Identity, service: Service) -> Query:
    """The Security Hub query that finds every finding an identity covers, whatever its fields say."""
    if identity.kind is KeyKind.FINDING:
        return ByIds((identity.finding_id or "",))
    return ByControl(identity.control or "", tuple(sorted(service.accounts)), identity.tag)
