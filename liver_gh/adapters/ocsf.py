"""Security Hub (the 2025 service, OCSF findings): the same FindingSource port on the v2 API.

Reads use ``GetFindingsV2`` with ``CompositeFilters`` (within 10 composite filters and
20 values per filter type); writes use ``BatchUpdateFindingsV2``, which sets only
``StatusId``, ``SeverityId`` and a ``Comment`` of at most 512 characters. So liver's link
lives in the Comment: a record ``[liver v1 key=... issue=... approval=... at=...]`` in
front of the human note, parsed back into the same fields the ASFF adapter reads from
UserDefinedFields. Identity comes from ``finding_info.uid``, which equals the ASFF ``Id``
for findings present in both, so issues opened through the ASFF API are found again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from liver_gh.adapters.asff import parse_time
from liver_gh.adapters.securityhub import BATCH, MAX_VALUES, FindingReader, _raise_auth, describe_error
from liver_gh.errors import FindingError
from liver_gh.models import (
    AccountId,
    Compliance,
    Finding,
    FindingId,
    Note,
    RecordState,
    Resource,
    Severity,
    Workflow,
)
from liver_gh.ports import ByControl, ByIds, FindingUpdate, LinkedTo, NewFindings, Query, Tracked, UpdateOutcome
from liver_gh.rules.identity import NO_APPROVAL, UDF_APPROVAL, UDF_ISSUE, UDF_KEY, UDF_TRACKED

COMMENT_LIMIT = 512
RECORD_PREFIX = "[liver v1 "
_RECORD = re.compile(
    r"^\[liver v1 key=([fgc]-[0-9a-f]{40}) issue=(\S{1,300}) approval=(\d{1,20}|none) at=(\S{1,40})\] ?(.*)$", re.DOTALL
)

# OCSF status_id: 1 New, 2 In Progress, 3 Suppressed, 4 Resolved, 5 Archived.
STATUS_ID = {Workflow.NEW: 1, Workflow.NOTIFIED: 2, Workflow.SUPPRESSED: 3, Workflow.RESOLVED: 4}
_WORKFLOW = {v: k for k, v in STATUS_ID.items()}
ARCHIVED = 5
# OCSF severity_id: 1 Informational ... 5 Critical, 6 Fatal.
_SEVERITY = {
    1: Severity.INFORMATIONAL,
    2: Severity.LOW,
    3: Severity.MEDIUM,
    4: Severity.HIGH,
    5: Severity.CRITICAL,
    6: Severity.CRITICAL,
}
_SEVERITY_ID = {v: k for k, v in _SEVERITY.items() if k != 6}
_COMPLIANCE = {"pass": Compliance.PASSED, "fail": Compliance.FAILED, "warning": Compliance.WARNING}

Filters = dict[str, Any]


def _strings(field_name: str, comparison: str, values: Sequence[str], operator: str = "OR") -> dict[str, Any]:
    return {
        "StringFilters": [{"FieldName": field_name, "Filter": {"Value": v, "Comparison": comparison}} for v in values],
        "Operator": operator,
    }


def _chunks(values: Sequence[str]) -> list[tuple[str, ...]]:
    return [tuple(values[i : i + MAX_VALUES]) for i in range(0, len(values), MAX_VALUES)] or [()]


def filters_for(query: Query) -> list[Filters]:
    """The GetFindingsV2 filters for a query: one or more, each within AWS's limits."""
    if isinstance(query, Tracked):
        return [_all([_strings("comment", "PREFIX", [RECORD_PREFIX])])]
    if isinstance(query, LinkedTo):
        return [_all([_strings("comment", "CONTAINS", [f"issue={query.issue_url} "])])]
    if isinstance(query, ByIds):
        return [_all([_strings("finding_info.uid", "EQUALS", chunk)]) for chunk in _chunks(sorted(set(query.ids)))]
    if isinstance(query, ByControl):
        out = []
        for chunk in _chunks(sorted(set(query.accounts))):
            parts = [_strings("compliance.control", "EQUALS", [query.control])]
            if chunk:
                parts.append(_strings("cloud.account.uid", "EQUALS", chunk))
            if query.tag:
                parts.append(
                    {
                        "MapFilters": [
                            {
                                "FieldName": "resources.tags",
                                "Filter": {"Key": query.tag[0], "Value": query.tag[1], "Comparison": "EQUALS"},
                            }
                        ]
                    }
                )
            out.append(_all(parts))
        return out
    return [_new(query)]


def _all(parts: list[dict[str, Any]]) -> Filters:
    return {"CompositeFilters": parts, "CompositeOperator": "AND"}


def _new(query: NewFindings) -> Filters:
    parts: list[dict[str, Any]] = [
        {
            "NumberFilters": [
                {"FieldName": "status_id", "Filter": {"Eq": STATUS_ID[Workflow.NEW]}},
                {"FieldName": "severity_id", "Filter": {"Gte": _SEVERITY_ID[query.min_severity]}},
            ],
            "Operator": "AND",
        }
    ]
    if query.products_include:
        parts.append(_strings("metadata.product.name", "EQUALS", query.products_include))
    elif query.products_exclude:
        parts.append(_strings("metadata.product.name", "NOT_EQUALS", query.products_exclude, "AND"))
    if query.regions:
        parts.append(_strings("cloud.region", "EQUALS", query.regions))
    return _all(parts)


# ---------------------------------------------------------------- parsing


def _get(raw: Mapping[str, Any], path: str) -> Any:
    node: Any = raw
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _text(raw: Mapping[str, Any], path: str) -> str:
    value = _get(raw, path)
    return value if isinstance(value, str) else ""


def _resources(raw: Mapping[str, Any], region: str) -> tuple[Resource, ...]:
    items = raw.get("resources")
    if not isinstance(items, list) or not items:
        raise FindingError("resources is missing or empty.")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("uid"), str):
            raise FindingError(f"resources[{i}] has no uid.")
        tags = item.get("tags") or []
        pairs = (
            sorted(
                (str(t["name"]), str(t.get("value", "")))
                for t in tags
                if isinstance(t, Mapping) and isinstance(t.get("name"), str)
            )
            if isinstance(tags, list)
            else []
        )
        out.append(
            Resource(
                type=_text(item, "type") or "Other",
                id=item["uid"],
                region=_text(item, "region") or region,
                partition=_text(item, "cloud_partition") or "aws",
                tags=tuple(pairs),
            )
        )
    return tuple(out)


def read_comment(comment: str) -> tuple[tuple[tuple[str, str], ...], Note | None]:
    """liver's link record in a Comment as UserDefinedFields, and the Comment as a Note."""
    if not comment:
        return (), None
    m = _RECORD.match(comment)
    if m is None:
        return (), Note(comment, "someone", None)
    key, issue, approval, at, text = m.groups()
    fields = ((UDF_TRACKED[0], UDF_TRACKED[1]), (UDF_APPROVAL, approval), (UDF_ISSUE, issue), (UDF_KEY, key))
    return fields, Note(text, "liver", parse_time(at))


def write_comment(update: FindingUpdate, now: datetime) -> str:
    approval = update.fields.get(UDF_APPROVAL, NO_APPROVAL)
    record = (
        f"{RECORD_PREFIX}key={update.fields[UDF_KEY]} issue={update.fields[UDF_ISSUE]} approval={approval} "
        f"at={now.strftime('%Y-%m-%dT%H:%M:%SZ')}] "
    )
    room = COMMENT_LIMIT - len(record)
    note = update.note if len(update.note) <= room else update.note[: room - 1] + "…"
    return record + note


def parse_ocsf(raw: object) -> Finding:
    """One OCSF finding into the same Finding the ASFF parser produces."""
    if not isinstance(raw, Mapping):
        raise FindingError("a finding must be a JSON object.")
    fid = _get(raw, "finding_info.uid")
    if not isinstance(fid, str) or not fid:
        raise FindingError("finding_info.uid is missing.")
    try:
        return _parse(raw, fid)
    except FindingError as e:
        raise FindingError(f"finding {fid}: {e}") from None


def _parse(raw: Mapping[str, Any], fid: str) -> Finding:
    account = _text(raw, "cloud.account.uid")
    if not account:
        raise FindingError("cloud.account.uid is missing.")
    updated = parse_time(_get(raw, "finding_info.modified_time_dt")) or parse_time(raw.get("time_dt"))
    if updated is None:
        raise FindingError("finding_info.modified_time_dt is missing or not an ISO 8601 time.")
    severity = _SEVERITY.get(int(raw.get("severity_id") or 0))
    if severity is None:
        raise FindingError(f"severity_id {raw.get('severity_id')!r} is not an OCSF severity this source can rank.")
    status = int(raw.get("status_id") or 1)
    region = _text(raw, "cloud.region")
    fields, note = read_comment(_text(raw, "comment"))
    references = _get(raw, "remediation.references")
    standards = _get(raw, "compliance.standards")
    return Finding(
        id=FindingId(fid),
        product_arn=_text(raw, "metadata.product.uid"),
        product_name=_text(raw, "metadata.product.name") or "Unknown product",
        generator_id=_text(raw, "finding_info.analytic.name") or _text(raw, "metadata.product.uid"),
        control_id=_text(raw, "compliance.control") or None,
        title=_text(raw, "finding_info.title") or "(untitled finding)",
        description=_text(raw, "finding_info.desc"),
        severity=severity,
        account=AccountId(account),
        region=region,
        resources=_resources(raw, region),
        compliance=_COMPLIANCE.get(_text(raw, "compliance.status").lower()) if _get(raw, "compliance") else None,
        record_state=RecordState.ARCHIVED if status == ARCHIVED else RecordState.ACTIVE,
        workflow=_WORKFLOW.get(status, Workflow.RESOLVED if status == ARCHIVED else Workflow.NEW),
        remediation_text=_text(raw, "remediation.desc"),
        remediation_url=references[0]
        if isinstance(references, list) and references and isinstance(references[0], str)
        else "",
        first_seen=parse_time(_get(raw, "finding_info.first_seen_time_dt"))
        or parse_time(_get(raw, "finding_info.created_time_dt")),
        updated_at=updated,
        types=tuple(t for t in _get(raw, "finding_info.types") or [] if isinstance(t, str)),
        note=note,
        user_defined=fields,
        standards=tuple(s for s in standards if isinstance(s, str)) if isinstance(standards, list) else (),
    )


# ---------------------------------------------------------------- the port


@dataclass
class SecurityHubV2(FindingReader):
    """The FindingSource port on GetFindingsV2 / BatchUpdateFindingsV2."""

    now: Any = field(default=lambda: datetime.now(UTC))

    OPERATION: ClassVar[str] = "GetFindingsV2"

    def _get(self, **kwargs: Any) -> dict[str, Any]:
        return dict(self.client.get_findings_v2(**kwargs))

    def _filters(self, query: Query) -> Sequence[Any]:
        return filters_for(query)

    def _parse(self, raw: object) -> Finding:
        return parse_ocsf(raw)

    def update(self, update: FindingUpdate) -> UpdateOutcome:
        """One BatchUpdateFindingsV2 per 100 findings; the link and the note go into the Comment."""
        result = UpdateOutcome()
        comment = write_comment(update, self.now())
        refs = list(update.refs)
        for start in range(0, len(refs), BATCH):
            chunk = [
                {"CloudAccountUid": a, "FindingInfoUid": i, "MetadataProductUid": p}
                for i, p, a in refs[start : start + BATCH]
            ]
            payload: dict[str, Any] = {"FindingIdentifiers": chunk, "Comment": comment}
            if update.workflow is not None:
                payload["StatusId"] = STATUS_ID[update.workflow]
            try:
                self.update_calls += 1
                response = self.client.batch_update_findings_v2(**payload)
            except (ClientError, BotoCoreError) as e:
                _raise_auth(e)
                why = describe_error(e, "BatchUpdateFindingsV2")
                result.failed.extend(f"{c['FindingInfoUid']}: {why}" for c in chunk)
                continue
            result.processed += len(response.get("ProcessedFindings", []))
            result.failed.extend(
                f"{(u.get('FindingIdentifier') or {}).get('FindingInfoUid', u.get('MetadataUid', '?'))}: "
                f"BatchUpdateFindingsV2: {u.get('ErrorCode', 'error')}: {u.get('ErrorMessage', '')}".strip()
                for u in response.get("UnprocessedFindings", [])
            )
        return result
