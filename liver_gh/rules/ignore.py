"""The ramp-up ignore tag: a resource tag whose value is the reason to ignore a finding.

The tag is honoured only while the ramp-up lasts (``honored_until``, the service's own
end, or an earlier ``; until=YYYY-MM-DD`` in the value), only with a reason, and only
when every resource of the finding carries it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date

from liver_gh.config.model import Config, Service
from liver_gh.models import Finding

_UNTIL = re.compile(r";\s*until=(\d{4}-\d{2}-\d{2})\s*$")


class IgnoreProblem(enum.StrEnum):
    PARTIAL = "only some of the finding's resources carry the tag"
    NO_REASON = "the tag was found without a reason"
    NO_END = "no ramp-up end date (honored_until) is configured"
    ENDED = "the ramp-up has ended"


@dataclass(frozen=True)
class IgnoreVerdict:
    honoured: bool
    reason: str  # the tag's reason without the until= part (untrusted text)
    until: date | None
    problem: IgnoreProblem | None  # why a tag that is present is not honoured


def ignore_verdict(finding: Finding, service: Service, config: Config, today: date) -> IgnoreVerdict | None:
    """Whether the ignore tag on *every* resource lets this finding be skipped."""
    values = [r.tag(config.ignore_tag.key) for r in finding.resources]
    present = [v for v in values if v is not None]
    if not present:
        return None
    end = service.honored_until or config.ignore_tag.honored_until
    reason = present[0]
    m = _UNTIL.search(reason)
    if m:
        try:
            own_end: date | None = date.fromisoformat(m.group(1))
        except ValueError:
            own_end = None
        reason = reason[: m.start()]
        if own_end and (end is None or own_end < end):
            end = own_end
    reason = reason.strip()
    if len(present) < len(values):
        return IgnoreVerdict(False, reason, end, IgnoreProblem.PARTIAL)
    if any(not v.split(";")[0].strip() for v in present):
        return IgnoreVerdict(False, "", end, IgnoreProblem.NO_REASON)
    if end is None:
        return IgnoreVerdict(False, reason, end, IgnoreProblem.NO_END)
    if today > end:
        return IgnoreVerdict(False, reason, end, IgnoreProblem.ENDED)
    return IgnoreVerdict(True, reason, end, None)
