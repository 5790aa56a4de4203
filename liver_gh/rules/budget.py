"""``max_new_issues``, shared fairly: one account cannot starve the others.

Custom findings choose their own severity and first-seen time, so "most severe first"
across the whole organisation would let one account's junk CRITICAL findings use the
budget up run after run. Instead services take turns: each round every service with
candidates gets one issue (the round's most severe first), and within a service the most
severe, then oldest, findings go first. Every service gets at least its share.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from liver_gh.models import Finding
from liver_gh.rules.subject import Subject


def _first_seen(f: Finding) -> datetime:
    return f.first_seen or f.updated_at


def priority(subject: Subject) -> tuple[int, datetime, str]:
    findings = subject.eligible or subject.findings
    severity = max(f.severity for f in findings)
    return (-int(severity), min(_first_seen(f) for f in findings), subject.key)


def share(candidates: Sequence[Subject], budget: int) -> tuple[list[Subject], list[Subject]]:
    """(opened now, left for the next run), taking turns between services."""
    queues: dict[str, list[Subject]] = defaultdict(list)
    for subject in sorted(candidates, key=priority):
        queues[subject.service.name].append(subject)
    chosen: list[Subject] = []
    while budget > 0 and any(queues.values()):
        heads = sorted((q[0] for q in queues.values() if q), key=priority)
        for head in heads[:budget]:
            queues[head.service.name].pop(0)
            chosen.append(head)
        budget -= min(budget, len(heads))
    left = [s for q in queues.values() for s in q]
    return chosen, left
