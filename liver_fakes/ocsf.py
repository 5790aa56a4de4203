"""The v2 (OCSF) operations of the Security Hub emulator, over the same stored findings.

A finding present in both APIs is one finding: ``finding_info.uid`` is its ASFF ``Id`` (as
AWS documents), and the workflow status is shared, so switching liver from ``asff`` to
``ocsf`` sees the same findings. The ASFF → OCSF view follows the OCSF field names the v2
API filters on (``botocore``'s ``OcsfStringField`` and friends): ``finding_info``,
``metadata.product``, ``cloud``, ``compliance``, ``resources[]`` with ``tags`` as name/value
pairs, ``severity_id`` 1–5 and ``status_id`` 1 New, 2 In Progress, 3 Suppressed,
4 Resolved, 5 Archived. ``BatchUpdateFindingsV2`` sets ``StatusId``, ``SeverityId`` and a
``Comment`` (1–512 characters) and, like BatchUpdateFindings, leaves the modified time.

Filters follow the API reference: ``CompositeFilters`` joined by ``CompositeOperator``
(AND by default), each composite's filters joined by its ``Operator`` (AND by default),
nested composites allowed; at most 10 composite filters and 20 filters of one type in a
composite, else InvalidInputException.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

Json = dict[str, Any]
_STATUS_ID = {"NEW": 1, "NOTIFIED": 2, "SUPPRESSED": 3, "RESOLVED": 4}
_WORKFLOW = {v: k for k, v in _STATUS_ID.items()}
_SEVERITY_ID = {"INFORMATIONAL": 1, "LOW": 2, "MEDIUM": 3, "HIGH": 4, "CRITICAL": 5}
_STATUS_NAME = {1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved", 5: "Archived"}
_COMPLIANCE = {"PASSED": ("Pass", 1), "WARNING": ("Warning", 2), "FAILED": ("Fail", 3), "NOT_AVAILABLE": ("Unknown", 0)}
MAX_COMPOSITES = 10
MAX_PER_TYPE = 20


class V2Error(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def metadata_uid(asff: Json) -> str:
    return hashlib.sha256(f"{asff['ProductArn']}|{asff['Id']}".encode()).hexdigest()[:32]


def to_ocsf(asff: Json, comment: str | None) -> Json:
    """The v2 view of a stored ASFF finding."""
    workflow = asff.get("Workflow", {}).get("Status", "NEW")
    archived = asff.get("RecordState") == "ARCHIVED"
    status_id = 5 if archived else _STATUS_ID.get(workflow, 1)
    severity = asff.get("Severity", {}).get("Label", "INFORMATIONAL")
    compliance = asff.get("Compliance") or {}
    out: Json = {
        "class_name": "Compliance Finding" if compliance else "Detection Finding",
        "metadata": {
            "uid": metadata_uid(asff),
            "product": {
                "uid": asff["ProductArn"],
                "name": asff.get("ProductName", ""),
                "vendor_name": asff.get("CompanyName", ""),
            },
            "version": "1.1.0",
        },
        "finding_info": {
            "uid": asff["Id"],
            "title": asff.get("Title", ""),
            "desc": asff.get("Description", ""),
            "types": list(asff.get("Types") or []),
            "created_time_dt": asff.get("CreatedAt"),
            "first_seen_time_dt": asff.get("FirstObservedAt") or asff.get("CreatedAt"),
            "modified_time_dt": asff.get("UpdatedAt"),
            "analytic": {"name": asff.get("GeneratorId", "")},
        },
        "cloud": {"provider": "AWS", "account": {"uid": asff["AwsAccountId"]}, "region": asff.get("Region", "")},
        "severity": severity.capitalize(),
        "severity_id": _SEVERITY_ID.get(severity, 1),
        "status": _STATUS_NAME[status_id],
        "status_id": status_id,
        "time_dt": asff.get("UpdatedAt"),
        "resources": [
            {
                "uid": r["Id"],
                "type": r.get("Type", "Other"),
                "region": r.get("Region", asff.get("Region", "")),
                "cloud_partition": r.get("Partition", "aws"),
                "tags": [{"name": k, "value": v} for k, v in sorted((r.get("Tags") or {}).items())],
            }
            for r in asff.get("Resources") or []
        ],
    }
    recommendation = (asff.get("Remediation") or {}).get("Recommendation") or {}
    if recommendation:
        out["remediation"] = {
            "desc": recommendation.get("Text", ""),
            "references": [u for u in [recommendation.get("Url")] if u],
        }
    control = compliance.get("SecurityControlId")
    if compliance:
        name, status = _COMPLIANCE.get(compliance.get("Status", ""), ("Unknown", 0))
        out["compliance"] = {
            "control": control or "",
            "status": name,
            "status_id": status,
            "standards": [s.get("StandardsId", "") for s in compliance.get("AssociatedStandards") or []],
        }
    if comment:
        out["comment"] = comment
    return out


def _values(finding: Json, path: str) -> list[Any]:
    nodes: list[Any] = [finding]
    for part in path.split("."):
        nxt: list[Any] = []
        for node in nodes:
            if isinstance(node, list):
                nxt += [n.get(part) for n in node if isinstance(n, dict)]
            elif isinstance(node, dict):
                nxt.append(node.get(part))
        nodes = [n for n in nxt if n is not None]
    flat: list[Any] = []
    for n in nodes:
        flat += n if isinstance(n, list) else [n]
    return flat


def _string(finding: Json, f: Json) -> bool:
    want, comparison = f["Filter"]["Value"], f["Filter"]["Comparison"]
    have = [str(v) for v in _values(finding, f["FieldName"])]
    tests: dict[str, Callable[[str], bool]] = {
        "EQUALS": lambda h: h == want,
        "PREFIX": lambda h: h.startswith(want),
        "CONTAINS": lambda h: want in h,
        "CONTAINS_WORD": lambda h: want in h.split(),
        "NOT_EQUALS": lambda h: h == want,
        "PREFIX_NOT_EQUALS": lambda h: h.startswith(want),
        "NOT_CONTAINS": lambda h: want in h,
    }
    hit = any(tests[comparison](h) for h in have)
    return not hit if comparison.startswith(("NOT_", "PREFIX_NOT")) else hit


def _number(finding: Json, f: Json) -> bool:
    spec = f["Filter"]
    checks = {
        "Eq": lambda v, w: v == w,
        "Gte": lambda v, w: v >= w,
        "Lte": lambda v, w: v <= w,
        "Gt": lambda v, w: v > w,
        "Lt": lambda v, w: v < w,
    }
    values = [float(v) for v in _values(finding, f["FieldName"]) if isinstance(v, int | float)]
    return any(all(checks[k](v, float(w)) for k, w in spec.items()) for v in values)


def _map(finding: Json, f: Json) -> bool:
    spec = f["Filter"]
    pairs = [(t.get("name"), t.get("value")) for t in _values(finding, f["FieldName"]) if isinstance(t, dict)]
    hit = any(
        k == spec["Key"]
        and (v == spec["Value"] if spec["Comparison"] in ("EQUALS", "NOT_EQUALS") else spec["Value"] in str(v))
        for k, v in pairs
    )
    return not hit if spec["Comparison"].startswith("NOT_") else hit


def _composite(finding: Json, c: Json) -> bool:
    for kind in ("StringFilters", "NumberFilters", "MapFilters", "DateFilters", "BooleanFilters", "IpFilters"):
        if len(c.get(kind) or []) > MAX_PER_TYPE:
            raise V2Error("InvalidInputException", f"{kind}: at most {MAX_PER_TYPE} filters in one composite filter")
    for kind in ("DateFilters", "BooleanFilters", "IpFilters"):
        if c.get(kind):
            raise V2Error("InvalidInputException", f"the emulator does not implement {kind}")
    results = [_string(finding, f) for f in c.get("StringFilters") or []]
    results += [_number(finding, f) for f in c.get("NumberFilters") or []]
    results += [_map(finding, f) for f in c.get("MapFilters") or []]
    results += [_composite(finding, n) for n in c.get("NestedCompositeFilters") or []]
    if not results:
        return True
    return any(results) if c.get("Operator", "AND") == "OR" else all(results)


def matches(finding: Json, filters: Json) -> bool:
    composites = filters.get("CompositeFilters") or []
    if len(composites) > MAX_COMPOSITES:
        raise V2Error("InvalidInputException", f"at most {MAX_COMPOSITES} composite filters")
    results = [_composite(finding, c) for c in composites]
    if not results:
        return True
    return any(results) if filters.get("CompositeOperator", "AND") == "OR" else all(results)


def batch_update(params: Json, lookup: Callable[[Json], tuple[Json, Any] | None], now: str) -> Json:
    """BatchUpdateFindingsV2 over the stored findings; ``lookup`` finds one by its identifier."""
    ids, uids = params.get("FindingIdentifiers") or [], params.get("MetadataUids") or []
    if bool(ids) == bool(uids):
        raise V2Error("InvalidInputException", "give FindingIdentifiers or MetadataUids, not both and not neither")
    if len(ids) + len(uids) > 100:
        raise V2Error("InvalidInputException", "at most 100 findings per request")
    comment = params.get("Comment")
    if comment is not None and not 1 <= len(comment) <= 512:
        raise V2Error("InvalidInputException", "Comment must be 1 to 512 characters")
    status = params.get("StatusId")
    if status is not None and status not in _WORKFLOW:
        raise V2Error("InvalidInputException", f"StatusId {status} cannot be set")
    processed, unprocessed = [], []
    for ident in [*({"identifier": i} for i in ids), *({"uid": u} for u in uids)]:
        found = lookup(ident)
        key = {"FindingIdentifier": ident["identifier"]} if "identifier" in ident else {"MetadataUid": ident["uid"]}
        if found is None:
            unprocessed.append({**key, "ErrorCode": "FindingNotFound", "ErrorMessage": "Finding Not Found"})
            continue
        asff, stored = found
        if status is not None:
            asff["Workflow"] = {"Status": _WORKFLOW[status]}
        if comment is not None:
            stored.comment = comment
        processed.append(key)
    return {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}
