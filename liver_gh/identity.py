"""The hidden identity that links an issue to its finding (or group of findings).

The key is derived only from Security Hub data (the finding id, or the group's control
and tag), never from issue text, so editing an issue body cannot redirect liver to a
different finding. Both sides record the link: the issue body carries the key, and the
finding's UserDefinedFields carry the key and the issue URL.
"""

from __future__ import annotations

import hashlib
import re

MARKER_RE = re.compile(r"<!-- liver:identity v1 key=([a-z]-[0-9a-f]{40}) -->")
COMMENT_MARKER = "<!-- liver:comment -->"
MEMBERS_START = "<!-- liver:members -->"
MEMBERS_END = "<!-- liver:members-end -->"

# UserDefinedFields written on every linked finding. The constant pair lets one
# GetFindings filter find every finding liver tracks.
UDF_TRACKED = ("liver", "v1")
UDF_KEY = "liver_key"
UDF_ISSUE = "liver_issue"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def finding_key(finding_id: str) -> str:
    return f"f-{_digest(finding_id)}"


def group_key(repo: str, control: str, tag_key: str, tag_value: str) -> str:
    return f"g-{_digest(chr(0).join((repo.lower(), control, tag_key, tag_value)))}"


def control_key(repo: str, control: str) -> str:
    return f"c-{_digest(chr(0).join((repo.lower(), control)))}"


def marker(key: str) -> str:
    return f"<!-- liver:identity v1 key={key} -->"


def keys_in(body: str | None) -> list[str]:
    """Every identity marker in an issue body; more than one distinct key means tampering."""
    return MARKER_RE.findall(body or "")
