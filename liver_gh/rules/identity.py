"""Keys, markers and whether a link between an issue and a finding verifies.

Everything that records a link is writable by someone: the issue body's hidden marker
by repository writers, a finding's UserDefinedFields by anyone with BatchUpdateFindings
on it (member accounts included, for their own findings). So a link counts only when
three things agree: the key liver recomputes from the finding itself, the marker in the
issue body, and the finding's own record of the link.

Keys:
- ``f-``: one finding; from its Security Hub id.
- ``g-``: a tag group (e.g. an Auto Scaling group); from service, control, tag key and value.
- ``c-``: one issue per control; from service and control.
Service names, not repositories, go into group keys, so renaming a repository keeps them.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from liver_gh.models import Finding, TrackedIssue

# UserDefinedFields liver writes on every finding it links. The constant pair lets one
# GetFindings filter find every finding liver tracks.
UDF_TRACKED = ("liver", "v1")
UDF_KEY = "liver_key"
UDF_ISSUE = "liver_issue"
UDF_APPROVAL = "liver_approval"  # the labeled event id of the approval behind a suppression
NO_APPROVAL = "none"  # Security Hub cannot clear a field: a value that means 'no approval'

_MARKER_RE = re.compile(r"<!-- liver:identity v2 key=([fgc]-[0-9a-f]{40}) ref=([A-Za-z0-9_-]{1,2000}={0,2}) -->")
_ANY_MARKER_RE = re.compile(r"<!--\s*liver:identity")
DASHBOARD_MARKER = "<!-- liver:dashboard v1 -->"


class KeyKind(enum.StrEnum):
    FINDING = "f"
    GROUP = "g"
    CONTROL = "c"


@dataclass(frozen=True)
class Identity:
    """What an issue tracks, and the inputs its key is computed from."""

    kind: KeyKind
    finding_id: str | None = None
    service: str | None = None
    control: str | None = None
    tag: tuple[str, str] | None = None

    @property
    def key(self) -> str:
        if self.kind is KeyKind.FINDING:
            parts: tuple[str, ...] = (self.finding_id or "",)
        elif self.kind is KeyKind.GROUP:
            tag_key, tag_value = self.tag or ("", "")
            parts = (self.service or "", self.control or "", tag_key, tag_value)
        else:
            parts = (self.service or "", self.control or "")
        digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:40]
        return f"{self.kind.value}-{digest}"

    @property
    def grouped(self) -> bool:
        return self.kind is not KeyKind.FINDING

    def covers(self, finding: Finding) -> bool:
        """Whether this identity can be derived from ``finding`` (its service aside)."""
        if self.kind is KeyKind.FINDING:
            return self.finding_id == finding.id
        if finding.control_id is None or finding.control_id != self.control:
            return False
        if self.kind is KeyKind.CONTROL:
            return True
        return any(self.tag in r.tags for r in finding.resources)

    def marker(self) -> str:
        raw: dict[str, object]
        if self.kind is KeyKind.FINDING:
            raw = {"f": self.finding_id}
        elif self.kind is KeyKind.GROUP:
            raw = {"s": self.service, "c": self.control, "t": list(self.tag or ("", ""))}
        else:
            raw = {"s": self.service, "c": self.control}
        ref = base64.urlsafe_b64encode(json.dumps(raw, separators=(",", ":")).encode()).decode()
        return f"<!-- liver:identity v2 key={self.key} ref={ref} -->"

    def describe(self) -> str:
        if self.kind is KeyKind.FINDING:
            return f"finding {self.finding_id}"
        if self.kind is KeyKind.CONTROL:
            return f"control {self.control} in service {self.service}"
        tag_key, tag_value = self.tag or ("", "")
        return f"control {self.control} on resources tagged {tag_key}={tag_value} in service {self.service}"


def identity_for(finding: Finding, service: str, group_by: str, group_by_tags: Sequence[str]) -> Identity:
    """The identity a finding's issue has under the current config (the grouping rule)."""
    if finding.control_id:
        if group_by == "control":
            return Identity(KeyKind.CONTROL, service=service, control=finding.control_id)
        for tag in group_by_tags:
            for resource in finding.resources:
                value = resource.tag(tag)
                if value:
                    return Identity(KeyKind.GROUP, service=service, control=finding.control_id, tag=(tag, value))
    return Identity(KeyKind.FINDING, finding_id=finding.id)


def candidate_keys(finding: Finding, services: Iterable[str]) -> frozenset[str]:
    """Every key liver could ever have written for ``finding``, in any of ``services``."""
    keys = {Identity(KeyKind.FINDING, finding_id=finding.id).key}
    if finding.control_id:
        for service in services:
            keys.add(Identity(KeyKind.CONTROL, service=service, control=finding.control_id).key)
            for resource in finding.resources:
                for tag in resource.tags:
                    keys.add(Identity(KeyKind.GROUP, service=service, control=finding.control_id, tag=tag).key)
    return frozenset(keys)


# ---------------------------------------------------------------- markers in issue bodies


class MarkerProblem(enum.StrEnum):
    MISSING = "its hidden identity marker is missing"
    SEVERAL = "its body carries more than one identity marker"
    MALFORMED = "its identity marker does not match the finding it names"


@dataclass(frozen=True)
class Marker:
    identity: Identity | None
    problem: MarkerProblem | None

    @property
    def key(self) -> str | None:
        return self.identity.key if self.identity else None


def _decode_ref(key: str, ref: str) -> Identity | None:
    try:
        raw = json.loads(base64.urlsafe_b64decode(ref.encode()))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(raw, dict):
        return None
    identity: Identity | None = None
    if key.startswith("f-") and isinstance(raw.get("f"), str):
        identity = Identity(KeyKind.FINDING, finding_id=raw["f"])
    elif key.startswith("c-") and isinstance(raw.get("s"), str) and isinstance(raw.get("c"), str):
        identity = Identity(KeyKind.CONTROL, service=raw["s"], control=raw["c"])
    elif key.startswith("g-") and isinstance(raw.get("s"), str) and isinstance(raw.get("c"), str):
        tag = raw.get("t")
        if isinstance(tag, list) and len(tag) == 2 and all(isinstance(t, str) for t in tag):
            identity = Identity(KeyKind.GROUP, service=raw["s"], control=raw["c"], tag=(tag[0], tag[1]))
    # The key must be the one its inputs give: a hand-edited ref or key does not verify.
    return identity if identity is not None and identity.key == key else None


def read_marker(body: str) -> Marker:
    found = _MARKER_RE.findall(body)
    if not found:
        return Marker(None, MarkerProblem.MISSING if not _ANY_MARKER_RE.search(body) else MarkerProblem.MALFORMED)
    if len(set(found)) > 1 or len(_ANY_MARKER_RE.findall(body)) > len(found) or len(found) > 1:
        return Marker(None, MarkerProblem.SEVERAL)
    key, ref = found[0]
    identity = _decode_ref(key, ref)
    return Marker(identity, None if identity else MarkerProblem.MALFORMED)


def is_dashboard(issue: TrackedIssue) -> bool:
    return DASHBOARD_MARKER in issue.body


# ---------------------------------------------------------------- links


class LinkState(enum.StrEnum):
    UNLINKED = "unlinked"  # no liver fields: a finding liver has not linked yet
    CURRENT = "current"  # verified, to the issue of the finding's current subject
    REGROUPED = "regrouped"  # verified, same service, grouped differently when linked: it stays
    MOVED = "moved"  # verified, but the issue belongs to another service now
    UNMAPPED = "unmapped"  # verified, but the finding's account is no longer mapped
    DANGLING = "dangling"  # points at an issue liver cannot see (deleted, transferred, other creator)
    FORGED = "forged"  # the finding's own link cannot be derived from it: ignored
    DISPUTED = "disputed"  # the issue's marker disagrees with a consistent finding record


@dataclass(frozen=True)
class Link:
    state: LinkState
    issue: TrackedIssue | None = None
    identity: Identity | None = None  # the linked issue's verified identity
    why: str = ""  # for FORGED and DISPUTED: what disagrees


def verify_link(
    finding: Finding,
    owner: str | None,
    current: Identity | None,
    issues_by_url: Mapping[str, TrackedIssue],
    service_of_repo: Mapping[str, str],
    service_names: Iterable[str],
) -> Link:
    """Classify ``finding``'s recorded link (see LinkState); ``owner`` is its service now."""
    udf_key, udf_issue = finding.udf(UDF_KEY), finding.udf(UDF_ISSUE)
    if udf_issue is None:
        return Link(LinkState.UNLINKED)
    issue = issues_by_url.get(udf_issue)
    if issue is None:
        return Link(LinkState.DANGLING, why=f"it links to {udf_issue}, which liver cannot see")
    marker = read_marker(issue.body)

    def plausible() -> bool:  # only on a disagreement: hashing every candidate key is not free
        return udf_key is not None and udf_key in candidate_keys(finding, service_names)

    if marker.identity is None:
        state = LinkState.DISPUTED if plausible() else LinkState.FORGED
        return Link(state, issue, why=f"{marker.problem} while Security Hub links finding {finding.id} to it")
    if udf_key != marker.key:
        if plausible():
            why = f"its identity marker was changed: Security Hub links finding {finding.id} to it under another key"
            return Link(LinkState.DISPUTED, issue, why=why)
        return Link(LinkState.FORGED, issue, why=f"finding {finding.id} claims a link its own fields do not support")
    identity = marker.identity
    if not identity.covers(finding):
        return Link(LinkState.FORGED, issue, why=f"finding {finding.id} is not what this issue tracks")
    issue_service = service_of_repo.get(issue.repo.lower())
    marked_service = identity.service or issue_service
    if owner is None:
        return Link(LinkState.UNMAPPED, issue, identity)
    if issue_service != owner or marked_service != owner:
        return Link(LinkState.MOVED, issue, identity)
    if current is not None and identity.key == current.key:
        return Link(LinkState.CURRENT, issue, identity)
    return Link(LinkState.REGROUPED, issue, identity)


def short_digest(finding_id: str) -> str:
    """A short, stable name for a finding in approval records (12 hex digits)."""
    return hashlib.sha256(finding_id.encode("utf-8")).hexdigest()[:12]
