"""An in-process AWS Security Hub that speaks the real REST-JSON wire protocol.

moto's securityhub backend ignores GetFindings filters and has no BatchUpdateFindings,
so tests, ``liver demo`` and the loopback benchmark use this emulator instead. It keeps
findings as ASFF dicts (the wire format) and emulates the three operations liver needs:

* GetFindings          ``POST /findings``
* BatchUpdateFindings  ``PATCH /findings/batchupdate``
* BatchImportFindings  ``POST /findings/import``

Every request is validated against botocore's service model on the "server" side too
(botocore only checks ``min`` constraints client-side), and every response is parsed
back through botocore's own rest-json parser and validated against the operation's
output shape, so the fake cannot return anything real Security Hub could not.

Anything the fake does not emulate (another operation, a filter key without a known
ASFF path, ``KeywordFilter``) fails loudly with ``FakeNotImplementedError`` instead of
being silently ignored.

Behaviour follows the Security Hub API reference and user guide; the docstrings of
``_import_one`` and ``_batch_update`` name the rules and where they come from.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hashlib
import ipaddress
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import urlsplit

import botocore.session
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.compat import HTTPHeaders
from botocore.model import ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.validate import ParamValidator

from liver_fakes import ocsf

__all__ = [
    "ContractViolation",
    "FakeNotImplementedError",
    "FakeSecurityHub",
    "InvalidFindingError",
]

Json = dict[str, Any]
FaultHook = Callable[[str, Json], str | None]
UnprocessedHook = Callable[[Json], tuple[str, str] | None]

# --------------------------------------------------------------------------- errors


class FakeNotImplementedError(NotImplementedError):
    """The request uses a part of Security Hub that this fake does not emulate."""


class ContractViolation(AssertionError):
    """The fake was about to send a response that real Security Hub cannot send."""


class InvalidFindingError(ValueError):
    """``import_findings`` was given findings that BatchImportFindings would reject."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class _ApiError(Exception):
    """An AWS error response: becomes ``x-amzn-ErrorType`` + JSON body."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


# --------------------------------------------------------------------------- model


@functools.cache
def _model() -> ServiceModel:
    # Loading the model takes ~100 ms; every FakeSecurityHub shares one copy.
    return botocore.session.get_session().get_service_model("securityhub")


# Errors the securityhub model does not define, with the status AWS sends for them.
_UNMODELED_STATUS: Final = {"UnknownOperationException": 404, "SerializationException": 400}


@functools.cache
def _error_status(code: str) -> int:
    """The HTTP status the model gives an error (e.g. ThrottlingException is 429)."""
    for shape in _model().error_shapes:
        if shape.name == code:
            return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
    # Otherwise a client error, like the common AWS errors.
    return _UNMODELED_STATUS.get(code, 400)


def _shapes(operation: str) -> tuple[Shape, Shape]:
    """Input and output shape of an operation (all three emulated ones have both)."""
    op = _model().operation_model(operation)
    assert op.input_shape is not None
    assert op.output_shape is not None
    return op.input_shape, op.output_shape


@functools.cache
def _pattern(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


_EMULATED: Final = {
    ("POST", "/findings"): "GetFindings",
    ("PATCH", "/findings/batchupdate"): "BatchUpdateFindings",
    ("POST", "/findings/import"): "BatchImportFindings",
    ("POST", "/findingsv2"): "GetFindingsV2",
    ("PATCH", "/findingsv2/batchupdatev2"): "BatchUpdateFindingsV2",
    ("GET", "/findingAggregator/list"): "ListFindingAggregators",
    ("GET", "/aggregatorv2/list"): "ListAggregatorsV2",
}


@functools.cache
def _modeled_routes() -> list[tuple[str, re.Pattern[str], str]]:
    """(method, path regex, operation) for every real operation, to tell 'not emulated'
    apart from 'no such operation'."""
    routes = []
    for name in _model().operation_names:
        http = _model().operation_model(name).http
        uri = str(http["requestUri"]).split("?", 1)[0]
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(uri))
        routes.append((str(http["method"]), re.compile(regex + "/?"), name))
    return routes


def _constraint_errors(value: Any, shape: Shape, path: str, out: list[str], patterns: bool = True) -> None:
    """What botocore's client-side validator leaves to the server: ``max``, ``enum``
    and ``pattern``. (Types, required members and ``min`` come from ParamValidator.)

    ``pattern`` is not applied inside findings: real GuardDuty findings returned by
    GetFindings carry empty ProductFields values although the model says ``.*\\S.*``.
    """
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        patterns = patterns and shape.name != "AwsSecurityFinding"
        for name, member_value in value.items():
            if name in members:
                _constraint_errors(member_value, members[name], f"{path}.{name}", out, patterns)
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"{path}: at most {meta['max']} items, got {len(value)}")
        member = shape.member  # type: ignore[attr-defined]
        for i, item in enumerate(value):
            _constraint_errors(item, member, f"{path}[{i}]", out, patterns)
    elif kind == "map" and isinstance(value, dict):
        key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
        for k, v in value.items():
            _constraint_errors(k, key_shape, f"{path} (key {k!r})", out, patterns)
            _constraint_errors(v, value_shape, f"{path}.{k}", out, patterns)
    elif kind == "string" and isinstance(value, str):
        if "enum" in meta and value not in meta["enum"]:
            out.append(f"{path}: {value!r} is not one of {', '.join(meta['enum'])}")
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"{path}: at most {meta['max']} characters")
        if patterns and "pattern" in meta and not _pattern(meta["pattern"]).search(value):
            out.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif (
        kind in ("integer", "long", "double", "float")
        and isinstance(value, int | float)
        and "max" in meta
        and value > meta["max"]
    ):
        out.append(f"{path}: at most {meta['max']}, got {value}")


def _validation_problems(params: Json, shape: Shape) -> list[str]:
    report = ParamValidator().validate(params, shape)
    problems = [line for line in report.generate_report().splitlines() if line.strip()]
    if problems:
        return problems
    out: list[str] = []
    _constraint_errors(params, shape, shape.name, out)
    return out


# --------------------------------------------------------------------------- timestamps

# The formats the API reference lists under "Timestamps": RFC 3339 with at most 9
# fraction digits, ending in Z or +-HH[:MM]/+-HHMM, offset bounded by 18:00.
_TS_RE: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)"
)
_FINDING_TIMESTAMPS: Final = ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt")


def _parse_ts(text: str) -> datetime | None:
    m = _TS_RE.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    if zone == "Z":
        tz = UTC
    else:
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        if offset > timedelta(hours=18):
            return None
        tz = timezone(-offset if zone[0] == "-" else offset)
    micro = int((frac or "0").ljust(6, "0")[:6])
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz)
    except ValueError:
        return None


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --------------------------------------------------------------------------- ASFF paths

# Filter key -> ASFF path. "[]" expands a list. Only keys listed here can be filtered or
# sorted on; any other key of AwsSecurityFindingFilters raises FakeNotImplementedError.
_PATHS: Final[dict[str, str]] = {
    # StringFilter
    "ProductArn": "ProductArn",
    "AwsAccountId": "AwsAccountId",
    "AwsAccountName": "AwsAccountName",
    "Id": "Id",
    "GeneratorId": "GeneratorId",
    "Region": "Region",
    "Type": "Types[]",
    "SeverityLabel": "Severity.Label",
    "Title": "Title",
    "Description": "Description",
    "RecommendationText": "Remediation.Recommendation.Text",
    "SourceUrl": "SourceUrl",
    "ProductName": "ProductName",
    "CompanyName": "CompanyName",
    "MalwareName": "Malware[].Name",
    "MalwareType": "Malware[].Type",
    "MalwarePath": "Malware[].Path",
    "MalwareState": "Malware[].State",
    "NetworkDirection": "Network.Direction",
    "NetworkProtocol": "Network.Protocol",
    "NetworkSourceDomain": "Network.SourceDomain",
    "NetworkSourceMac": "Network.SourceMac",
    "NetworkDestinationDomain": "Network.DestinationDomain",
    "ProcessName": "Process.Name",
    "ProcessPath": "Process.Path",
    "ThreatIntelIndicatorType": "ThreatIntelIndicators[].Type",
    "ThreatIntelIndicatorValue": "ThreatIntelIndicators[].Value",
    "ThreatIntelIndicatorCategory": "ThreatIntelIndicators[].Category",
    "ThreatIntelIndicatorSource": "ThreatIntelIndicators[].Source",
    "ThreatIntelIndicatorSourceUrl": "ThreatIntelIndicators[].SourceUrl",
    "ResourceType": "Resources[].Type",
    "ResourceId": "Resources[].Id",
    "ResourcePartition": "Resources[].Partition",
    "ResourceRegion": "Resources[].Region",
    "ResourceApplicationName": "Resources[].ApplicationName",
    "ResourceApplicationArn": "Resources[].ApplicationArn",
    "ResourceAwsEc2InstanceType": "Resources[].Details.AwsEc2Instance.Type",
    "ResourceAwsEc2InstanceImageId": "Resources[].Details.AwsEc2Instance.ImageId",
    "ResourceAwsEc2InstanceKeyName": "Resources[].Details.AwsEc2Instance.KeyName",
    "ResourceAwsEc2InstanceIamInstanceProfileArn": ("Resources[].Details.AwsEc2Instance.IamInstanceProfileArn"),
    "ResourceAwsEc2InstanceVpcId": "Resources[].Details.AwsEc2Instance.VpcId",
    "ResourceAwsEc2InstanceSubnetId": "Resources[].Details.AwsEc2Instance.SubnetId",
    "ResourceAwsS3BucketOwnerId": "Resources[].Details.AwsS3Bucket.OwnerId",
    "ResourceAwsS3BucketOwnerName": "Resources[].Details.AwsS3Bucket.OwnerName",
    "ResourceAwsIamAccessKeyUserName": "Resources[].Details.AwsIamAccessKey.UserName",
    "ResourceAwsIamAccessKeyPrincipalName": ("Resources[].Details.AwsIamAccessKey.PrincipalName"),
    "ResourceAwsIamAccessKeyStatus": "Resources[].Details.AwsIamAccessKey.Status",
    "ResourceAwsIamUserUserName": "Resources[].Details.AwsIamUser.UserName",
    "ResourceContainerName": "Resources[].Details.Container.Name",
    "ResourceContainerImageId": "Resources[].Details.Container.ImageId",
    "ResourceContainerImageName": "Resources[].Details.Container.ImageName",
    "ComplianceStatus": "Compliance.Status",
    "ComplianceSecurityControlId": "Compliance.SecurityControlId",
    "ComplianceAssociatedStandardsId": "Compliance.AssociatedStandards[].StandardsId",
    "ComplianceSecurityControlParametersName": "Compliance.SecurityControlParameters[].Name",
    "ComplianceSecurityControlParametersValue": ("Compliance.SecurityControlParameters[].Value[]"),
    "VerificationState": "VerificationState",
    "WorkflowState": "WorkflowState",
    "WorkflowStatus": "Workflow.Status",
    "RecordState": "RecordState",
    "RelatedFindingsProductArn": "RelatedFindings[].ProductArn",
    "RelatedFindingsId": "RelatedFindings[].Id",
    "NoteText": "Note.Text",
    "NoteUpdatedBy": "Note.UpdatedBy",
    "FindingProviderFieldsRelatedFindingsId": "FindingProviderFields.RelatedFindings[].Id",
    "FindingProviderFieldsRelatedFindingsProductArn": ("FindingProviderFields.RelatedFindings[].ProductArn"),
    "FindingProviderFieldsSeverityLabel": "FindingProviderFields.Severity.Label",
    "FindingProviderFieldsSeverityOriginal": "FindingProviderFields.Severity.Original",
    "FindingProviderFieldsTypes": "FindingProviderFields.Types[]",
    "VulnerabilitiesExploitAvailable": "Vulnerabilities[].ExploitAvailable",
    "VulnerabilitiesFixAvailable": "Vulnerabilities[].FixAvailable",
    # DateFilter
    "FirstObservedAt": "FirstObservedAt",
    "LastObservedAt": "LastObservedAt",
    "CreatedAt": "CreatedAt",
    "UpdatedAt": "UpdatedAt",
    "ProcessLaunchedAt": "Process.LaunchedAt",
    "ProcessTerminatedAt": "Process.TerminatedAt",
    "ThreatIntelIndicatorLastObservedAt": "ThreatIntelIndicators[].LastObservedAt",
    "ResourceAwsEc2InstanceLaunchedAt": "Resources[].Details.AwsEc2Instance.LaunchedAt",
    "ResourceAwsIamAccessKeyCreatedAt": "Resources[].Details.AwsIamAccessKey.CreatedAt",
    "ResourceContainerLaunchedAt": "Resources[].Details.Container.LaunchedAt",
    "NoteUpdatedAt": "Note.UpdatedAt",
    # NumberFilter
    "SeverityProduct": "Severity.Product",
    "SeverityNormalized": "Severity.Normalized",
    "Confidence": "Confidence",
    "Criticality": "Criticality",
    "NetworkSourcePort": "Network.SourcePort",
    "NetworkDestinationPort": "Network.DestinationPort",
    "ProcessPid": "Process.Pid",
    "ProcessParentPid": "Process.ParentPid",
    "FindingProviderFieldsConfidence": "FindingProviderFields.Confidence",
    "FindingProviderFieldsCriticality": "FindingProviderFields.Criticality",
    # MapFilter
    "ProductFields": "ProductFields",
    "UserDefinedFields": "UserDefinedFields",
    "ResourceTags": "Resources[].Tags",
    "ResourceDetailsOther": "Resources[].Details.Other",
    # IpFilter
    "NetworkSourceIpV4": "Network.SourceIpV4",
    "NetworkSourceIpV6": "Network.SourceIpV6",
    "NetworkDestinationIpV4": "Network.DestinationIpV4",
    "NetworkDestinationIpV6": "Network.DestinationIpV6",
    "ResourceAwsEc2InstanceIpV4Addresses": "Resources[].Details.AwsEc2Instance.IpV4Addresses[]",
    "ResourceAwsEc2InstanceIpV6Addresses": "Resources[].Details.AwsEc2Instance.IpV6Addresses[]",
    # BooleanFilter
    "Sample": "Sample",
}


def _values(finding: Json, path: str) -> list[Any]:
    """Every value at ``path``; lists marked ``[]`` fan out, missing parts yield nothing."""
    current: list[Any] = [finding]
    for part in path.split("."):
        expand = part.endswith("[]")
        name = part[:-2] if expand else part
        nxt: list[Any] = []
        for node in current:
            if isinstance(node, dict) and node.get(name) is not None:
                value = node[name]
                if expand:
                    nxt.extend(v for v in value if v is not None)
                else:
                    nxt.append(value)
        current = nxt
    return current


@functools.cache
def _filter_kind(key: str) -> str:
    """The model's filter shape for a filter key: StringFilter, DateFilter, ..."""
    members = _model().shape_for("AwsSecurityFindingFilters").members  # type: ignore[attr-defined]
    if key not in members:
        raise _ApiError("InvalidInputException", f"Unknown filter attribute {key!r}")
    return str(members[key].member.name)


def _path_for(key: str) -> str:
    kind = _filter_kind(key)
    if key not in _PATHS:
        raise FakeNotImplementedError(
            f"FakeSecurityHub cannot filter or sort on {key!r} ({kind}): no ASFF path is "
            "mapped for it in liver_gh/fakes/securityhub.py _PATHS"
        )
    return _PATHS[key]


# --------------------------------------------------------------------------- filters

_POSITIVE: Final = {"EQUALS", "PREFIX", "CONTAINS"}
_NEGATIVE: Final = {"NOT_EQUALS", "PREFIX_NOT_EQUALS", "NOT_CONTAINS"}
Predicate = Callable[[Json], bool]


def _string_predicate(key: str, path: str, filters: list[Json]) -> Predicate:
    """StringFilter rules from the API reference (StringFilter.Comparison):

    CONTAINS/EQUALS/PREFIX on one field are OR'ed, NOT_CONTAINS/NOT_EQUALS/
    PREFIX_NOT_EQUALS are AND'ed; PREFIX may be combined with the NOT_* ones (PREFIX
    first, then exclusions); CONTAINS only with CONTAINS, NOT_CONTAINS only with
    NOT_CONTAINS; EQUALS with NOT_EQUALS or PREFIX_NOT_EQUALS is an error;
    CONTAINS_WORD works only in the V2 APIs. Values are case sensitive.
    """
    comparisons = []
    for f in filters:
        value, comparison = f.get("Value"), f.get("Comparison")
        if value is None or comparison is None:
            raise _ApiError("InvalidInputException", f"{key}: Value and Comparison are required")
        if comparison == "CONTAINS_WORD":
            raise _ApiError(
                "InvalidInputException",
                f"{key}: CONTAINS_WORD is supported only by the V2 finding APIs",
            )
        comparisons.append((str(comparison), str(value)))
    used = {c for c, _ in comparisons}
    if ("CONTAINS" in used and used != {"CONTAINS"}) or ("NOT_CONTAINS" in used and used != {"NOT_CONTAINS"}):
        raise _ApiError(
            "InvalidInputException",
            f"{key}: CONTAINS and NOT_CONTAINS filters can only be combined with their own kind",
        )
    if "EQUALS" in used and used & {"NOT_EQUALS", "PREFIX_NOT_EQUALS"}:
        raise _ApiError(
            "InvalidInputException",
            f"{key}: EQUALS cannot be combined with NOT_EQUALS or PREFIX_NOT_EQUALS",
        )
    tests: dict[str, Callable[[str, str], bool]] = {
        "EQUALS": lambda have, want: have == want,
        "PREFIX": lambda have, want: have.startswith(want),
        "CONTAINS": lambda have, want: want in have,
        "NOT_EQUALS": lambda have, want: have == want,
        "PREFIX_NOT_EQUALS": lambda have, want: have.startswith(want),
        "NOT_CONTAINS": lambda have, want: want in have,
    }
    positive = [(tests[c], v) for c, v in comparisons if c in _POSITIVE]
    negative = [(tests[c], v) for c, v in comparisons if c in _NEGATIVE]

    def predicate(finding: Json) -> bool:
        # Booleans (e.g. Sample) never reach here; stringify numbers defensively.
        have = [str(v) for v in _values(finding, path) if not isinstance(v, dict | list)]
        if positive and not any(t(h, w) for h in have for t, w in positive):
            return False
        # A NOT_* filter excludes a finding if any of its values matches.
        return not any(t(h, w) for h in have for t, w in negative)

    return predicate


def _date_predicate(key: str, path: str, filters: list[Json], now: datetime) -> Predicate:
    """DateFilter: Start/End bound inclusively; DateRange counts DAYS back from now
    (WITHIN: between then and now, OLDER_THAN: before then). Several filters are OR'ed."""
    bounds: list[tuple[datetime | None, datetime | None]] = []
    for f in filters:
        start = end = None
        if "DateRange" in f:
            if "Start" in f or "End" in f:
                raise _ApiError("InvalidInputException", f"{key}: DateRange excludes Start/End")
            rng = f["DateRange"]
            if rng.get("Unit", "DAYS") != "DAYS" or not isinstance(rng.get("Value"), int):
                raise _ApiError("InvalidInputException", f"{key}: DateRange needs Value and DAYS")
            edge = now - timedelta(days=rng["Value"])
            if rng.get("Comparison", "WITHIN") == "WITHIN":
                start, end = edge, now
            else:
                end = edge - timedelta(microseconds=1)
        else:
            if "Start" not in f and "End" not in f:
                raise _ApiError("InvalidInputException", f"{key}: give Start/End or DateRange")
            for name in ("Start", "End"):
                if name in f:
                    parsed = _parse_ts(f[name])
                    if parsed is None:
                        raise _ApiError("InvalidInputException", f"{key}.{name}: invalid timestamp {f[name]!r}")
                    if name == "Start":
                        start = parsed
                    else:
                        end = parsed
        bounds.append((start, end))

    def predicate(finding: Json) -> bool:
        for raw in _values(finding, path):
            moment = _parse_ts(raw) if isinstance(raw, str) else None
            if moment is None:
                continue
            for start, end in bounds:
                if (start is None or moment >= start) and (end is None or moment <= end):
                    return True
        return False

    return predicate


def _number_predicate(path: str, filters: list[Json]) -> Predicate:
    """NumberFilter: the conditions inside one filter are AND'ed, filters are OR'ed."""
    checks: dict[str, Callable[[float, float], bool]] = {
        "Eq": lambda a, b: a == b,
        "Gt": lambda a, b: a > b,
        "Gte": lambda a, b: a >= b,
        "Lt": lambda a, b: a < b,
        "Lte": lambda a, b: a <= b,
    }

    def one(value: float, f: Json) -> bool:
        return all(checks[name](value, float(limit)) for name, limit in f.items())

    def predicate(finding: Json) -> bool:
        numbers = [v for v in _values(finding, path) if isinstance(v, int | float)]
        return any(one(float(v), f) for v in numbers for f in filters)

    return predicate


def _map_predicate(key: str, path: str, filters: list[Json]) -> Predicate:
    """MapFilter (API reference MapFilter.Comparison): per map key, EQUALS filters are
    OR'ed and NOT_EQUALS AND'ed; EQUALS with NOT_EQUALS on one key is an error; CONTAINS
    and NOT_CONTAINS "can be used only with automation rules", so GetFindings rejects
    them. Different map keys are AND'ed."""
    by_key: dict[str, list[tuple[str, str]]] = {}
    for f in filters:
        mkey, value, comparison = f.get("Key"), f.get("Value"), f.get("Comparison")
        if mkey is None or value is None or comparison is None:
            raise _ApiError("InvalidInputException", f"{key}: Key, Value and Comparison needed")
        if comparison in ("CONTAINS", "NOT_CONTAINS"):
            raise _ApiError(
                "InvalidInputException",
                f"{key}: {comparison} map filters can be used only with automation rules",
            )
        by_key.setdefault(str(mkey), []).append((str(comparison), str(value)))
    for mkey, comps in by_key.items():
        if {c for c, _ in comps} == {"EQUALS", "NOT_EQUALS"}:
            raise _ApiError("InvalidInputException", f"{key}.{mkey}: EQUALS and NOT_EQUALS cannot be mixed")

    def predicate(finding: Json) -> bool:
        maps = [m for m in _values(finding, path) if isinstance(m, dict)]
        for mkey, comps in by_key.items():
            have = [m[mkey] for m in maps if mkey in m]
            wanted = [v for c, v in comps if c == "EQUALS"]
            unwanted = [v for c, v in comps if c == "NOT_EQUALS"]
            if wanted and not any(h in wanted for h in have):
                return False
            if any(h in unwanted for h in have):
                return False
        return True

    return predicate


def _ip_predicate(key: str, path: str, filters: list[Json]) -> Predicate:
    try:
        networks = [ipaddress.ip_network(str(f["Cidr"]), strict=False) for f in filters]
    except (KeyError, ValueError) as exc:
        raise _ApiError("InvalidInputException", f"{key}: invalid Cidr ({exc})") from None

    def predicate(finding: Json) -> bool:
        for raw in _values(finding, path):
            try:
                address = ipaddress.ip_address(str(raw))
            except ValueError:
                continue
            if any(address.version == n.version and address in n for n in networks):
                return True
        return False

    return predicate


def _bool_predicate(path: str, filters: list[Json]) -> Predicate:
    wanted = {bool(f.get("Value")) for f in filters}

    def predicate(finding: Json) -> bool:
        present = _values(finding, path)
        return bool(present[0] if present else False) in wanted

    return predicate


def _compile_filters(filters: Json, now: datetime) -> list[Predicate]:
    active = {k: v for k, v in filters.items() if v}
    # Documented limits: "up to 10 finding attributes", "up to 20 filter values" each.
    if len(active) > 10:
        raise _ApiError("InvalidInputException", "You can filter by up to 10 finding attributes")
    predicates = []
    for key, values in active.items():
        if len(values) > 20:
            raise _ApiError("InvalidInputException", f"{key}: at most 20 filter values")
        kind = _filter_kind(key)
        if kind == "KeywordFilter":
            raise FakeNotImplementedError("FakeSecurityHub does not emulate the Keyword filter")
        path = _path_for(key)
        if kind == "StringFilter":
            predicates.append(_string_predicate(key, path, values))
        elif kind == "DateFilter":
            predicates.append(_date_predicate(key, path, values, now))
        elif kind == "NumberFilter":
            predicates.append(_number_predicate(path, values))
        elif kind == "MapFilter":
            predicates.append(_map_predicate(key, path, values))
        elif kind == "IpFilter":
            predicates.append(_ip_predicate(key, path, values))
        elif kind == "BooleanFilter":
            predicates.append(_bool_predicate(path, values))
        else:
            raise FakeNotImplementedError(f"FakeSecurityHub does not emulate {kind} ({key})")
    return predicates


# --------------------------------------------------------------------------- sorting


def _sort_value(finding: Json, key: str, descending: bool) -> list[Any]:
    """[1, value] or [0, None] (missing sorts last either way). A multi-valued field
    sorts by its smallest value ascending and its largest descending."""
    kind = _filter_kind(key)
    path = _path_for(key)
    raw = _values(finding, path)
    values: list[Any]
    if kind == "DateFilter":
        parsed = [_parse_ts(v) for v in raw if isinstance(v, str)]
        values = [p.timestamp() for p in parsed if p is not None]
    elif kind == "NumberFilter":
        values = [float(v) for v in raw if isinstance(v, int | float)]
    elif kind == "StringFilter":
        values = [str(v) for v in raw if not isinstance(v, dict | list)]
    else:
        raise _ApiError("InvalidInputException", f"Cannot sort on {key} ({kind})")
    if not values:
        return [0, None]
    return [1, max(values) if descending else min(values)]


def _compare(a: list[Any], b: list[Any], descending: list[bool]) -> int:
    """Keys are [[present, value], ..., seq]; ties fall back to insertion order."""
    for (pa, va), (pb, vb), desc in zip(a[:-1], b[:-1], descending, strict=True):
        if pa != pb:
            return -1 if pa else 1
        if pa and va != vb:
            result = -1 if va < vb else 1
            return -result if desc else result
    return int(a[-1] > b[-1]) - int(a[-1] < b[-1])


# --------------------------------------------------------------------------- findings


_REGION_RE: Final = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_LABEL_TO_NORMALIZED: Final = {
    "INFORMATIONAL": 0,
    "LOW": 1,
    "MEDIUM": 40,
    "HIGH": 70,
    "CRITICAL": 90,
}
# Values seen in real findings (SOURCES.md samples) for integrated AWS products.
_KNOWN_PRODUCTS: Final = {
    "aws/securityhub": ("Security Hub", "AWS"),
    "aws/config": ("Config", "AWS"),
    "aws/guardduty": ("GuardDuty", "Amazon"),
    "aws/inspector": ("Inspector", "Amazon"),
}
# Fields a provider may set only when creating a finding (BatchImportFindings docs).
_CUSTOMER_OWNED: Final = ("Note", "UserDefinedFields", "VerificationState", "Workflow")
# Fields BatchImportFindings updates only while BatchUpdateFindings has not touched them.
_SHARED: Final = ("Confidence", "Criticality", "RelatedFindings", "Severity", "Types")


def _label_for(normalized: int) -> str:
    # Severity.Label docs: 0 INFORMATIONAL, 1-39 LOW, 40-69 MEDIUM, 70-89 HIGH, 90-100 CRITICAL.
    if normalized <= 0:
        return "INFORMATIONAL"
    if normalized < 40:
        return "LOW"
    if normalized < 70:
        return "MEDIUM"
    if normalized < 90:
        return "HIGH"
    return "CRITICAL"


def _complete_severity(severity: Json) -> None:
    """Label from Normalized, or Normalized from Label, as the Severity docs describe."""
    if "Label" not in severity and isinstance(severity.get("Normalized"), int):
        severity["Label"] = _label_for(severity["Normalized"])
    elif "Normalized" not in severity and severity.get("Label") in _LABEL_TO_NORMALIZED:
        severity["Normalized"] = _LABEL_TO_NORMALIZED[severity["Label"]]


def _product_path(product_arn: str) -> str:
    # arn:aws:securityhub:us-east-1::product/aws/guardduty -> aws/guardduty
    return product_arn.split(":product/", 1)[1] if ":product/" in product_arn else ""


def _is_control_finding(finding: Json) -> bool:
    return _product_path(finding["ProductArn"]) == "aws/securityhub" and bool(
        finding.get("Compliance", {}).get("Status")
    )


@dataclass
class _Stored:
    finding: Json
    seq: int
    # Top-level fields changed with BatchUpdateFindings; providers no longer own them.
    customer_set: set[str] = field(default_factory=set)
    comment: str | None = None  # the v2 Comment (BatchUpdateFindingsV2)


class _RawBody:
    """The ``raw`` botocore's AWSResponse reads its body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


# --------------------------------------------------------------------------- the fake


class FakeSecurityHub:
    """Security Hub for one account and Region, in memory.

    ``calls`` records every request that reached the fake (retries included) as
    ``(operation, params)``. ``fault(operation, params)`` may return an AWS error code
    such as ``"ThrottlingException"`` to fail that request with the real status code;
    ``unprocessed(identifier)`` may return ``(ErrorCode, ErrorMessage)`` to put one
    BatchUpdateFindings identifier into UnprocessedFindings. ``server_errors`` collects
    exceptions raised while serving over HTTP (they answer 501), so tests can assert
    there were none. ``now`` is the clock for DateRange filters, ProcessedAt and
    Note.UpdatedAt; ``validate_responses=False`` skips the output-shape check.
    """

    def __init__(
        self,
        region: str = "us-east-1",
        account: str = "000000000000",
        *,
        now: Callable[[], datetime] | None = None,
        validate_responses: bool = True,
    ) -> None:
        self.region = region
        # The account this hub belongs to. Imports are not checked against it: the fake
        # acts as an allow-listed provider that may send findings for any account.
        self.account = account
        # Parsing every response back through botocore costs about as much as the
        # client's own parse; a benchmark may switch it off once the tests pass.
        self.validate_responses = validate_responses
        self._now = now or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._findings: dict[tuple[str, str], _Stored] = {}
        self._seq = 0
        self.calls: list[tuple[str, Json]] = []
        self.fault: FaultHook | None = None
        self.unprocessed: UnprocessedHook | None = None
        self.server_errors: list[BaseException] = []
        # The home Region of the account's cross-Region aggregator, if it has one.
        self.aggregation_region: str | None = None

    # ------------------------------------------------------------------ state helpers

    def import_findings(self, findings: list[Json]) -> None:
        """Create or update findings exactly as BatchImportFindings from their provider
        would, including the automatic workflow transitions. Raises InvalidFindingError
        (and imports nothing) if any finding would be rejected."""
        shape = _model().shape_for("AwsSecurityFinding")
        problems: list[str] = []
        for i, finding in enumerate(findings):
            label = f"finding {i} ({finding.get('Id', '?')})"
            # Model problems first: the ASFF checks assume well-typed values.
            found = _validation_problems(finding, shape) or self._asff_problems(finding)
            problems += [f"{label}: {p}" for p in found]
        if problems:
            raise InvalidFindingError(problems)
        with self._lock:
            for finding in findings:
                self._import_one(copy.deepcopy(finding))

    def finding(self, finding_id: str, product_arn: str | None = None) -> Json:
        """A copy of the stored finding with this Id."""
        with self._lock:
            return copy.deepcopy(self._lookup(finding_id, product_arn).finding)

    def all(self) -> list[Json]:
        """Copies of every stored finding, in the order they were created."""
        with self._lock:
            return [copy.deepcopy(s.finding) for s in self._findings.values()]

    def delete(self, finding_id: str, product_arn: str | None = None) -> None:
        """Forget a finding, as Security Hub does when its retention period ends."""
        with self._lock:
            stored = self._lookup(finding_id, product_arn)
            del self._findings[(stored.finding["ProductArn"], stored.finding["Id"])]

    def _lookup(self, finding_id: str, product_arn: str | None) -> _Stored:
        matches = [
            s
            for (arn, fid), s in self._findings.items()
            if fid == finding_id and (product_arn is None or arn == product_arn)
        ]
        if not matches:
            raise KeyError(finding_id)
        if len(matches) > 1:
            raise ValueError(f"{finding_id!r} exists for several products; pass product_arn")
        return matches[0]

    # ------------------------------------------------------------------ wire level

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Serve one HTTP request; returns (status, headers, body).

        Raises FakeNotImplementedError for real operations or features not emulated.
        """
        route = (method.upper(), urlsplit(path).path.rstrip("/") or "/")
        operation = _EMULATED.get(route)
        if operation is None:
            for verb, regex, name in _modeled_routes():
                if verb == route[0] and regex.fullmatch(route[1]):
                    raise FakeNotImplementedError(f"FakeSecurityHub does not emulate {name} ({route[0]} {route[1]})")
            return self._error_response(
                None,
                _ApiError("UnknownOperationException", f"No operation at {route[0]} {route[1]}"),
            )
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return self._error_response(operation, _ApiError("SerializationException", "Request body is not JSON"))
        if not isinstance(params, dict):
            return self._error_response(
                operation, _ApiError("SerializationException", "Request body must be an object")
            )
        with self._lock:
            self.calls.append((operation, copy.deepcopy(params)))
            try:
                code = self.fault(operation, copy.deepcopy(params)) if self.fault else None
                if code:
                    raise _ApiError(code, f"Simulated {code} from FakeSecurityHub")
                problems = _validation_problems(params, _shapes(operation)[0])
                if problems:
                    raise _ApiError("InvalidInputException", "; ".join(problems))
                handler = {
                    "GetFindings": self._get_findings,
                    "BatchUpdateFindings": self._batch_update,
                    "BatchImportFindings": self._batch_import,
                    "GetFindingsV2": self._get_findings_v2,
                    "BatchUpdateFindingsV2": self._batch_update_v2,
                    "ListFindingAggregators": self._list_aggregators,
                    "ListAggregatorsV2": self._list_aggregators_v2,
                }[operation]
                result = handler(params)
            except ocsf.V2Error as error:
                return self._error_response(operation, _ApiError(error.code, error.message))
            except _ApiError as error:
                return self._error_response(operation, error)
        return self._ok_response(operation, result)

    def _ok_response(self, operation: str, result: Json) -> tuple[int, dict[str, str], bytes]:
        output_shape = _shapes(operation)[1]
        body = json.dumps(result).encode()
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "x-amzn-RequestId": str(uuid.uuid4()),
        }
        if not self.validate_responses:
            return 200, headers, body
        parsed = create_parser("rest-json").parse(
            {"status_code": 200, "headers": HeadersDict(headers), "body": body},
            output_shape,
        )
        parsed.pop("ResponseMetadata", None)
        problems = _validation_problems(parsed, output_shape)
        if problems:
            raise ContractViolation(f"{operation} response violates the model: " + "; ".join(problems))
        return 200, headers, body

    def _error_response(self, operation: str | None, error: _ApiError) -> tuple[int, dict[str, str], bytes]:
        status = _error_status(error.code)
        # Security Hub error bodies carry Code and Message; __type is the generic
        # rest-json spelling. botocore reads the code from x-amzn-ErrorType first.
        body = json.dumps({"__type": error.code, "Code": error.code, "Message": error.message}).encode()
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "x-amzn-ErrorType": error.code,
            "x-amzn-RequestId": str(uuid.uuid4()),
        }
        if operation is not None:
            parsed = create_parser("rest-json").parse(
                {"status_code": status, "headers": HeadersDict(headers), "body": body},
                _shapes(operation)[1],
            )
            if parsed.get("Error", {}).get("Code") != error.code:
                raise ContractViolation(f"botocore would not see {error.code}: {parsed}")
        return status, headers, body

    # ------------------------------------------------------------------ aggregators

    def _aggregator_arns(self, kind: str) -> list[str]:
        if self.aggregation_region is None:
            return []
        return [
            f"arn:aws:securityhub:{self.aggregation_region}:{self.account}:{kind}/{uuid.uuid5(uuid.NAMESPACE_URL, self.account)}"
        ]

    def _list_aggregators(self, params: Json) -> Json:
        return {
            "FindingAggregators": [{"FindingAggregatorArn": a} for a in self._aggregator_arns("finding-aggregator")]
        }

    def _list_aggregators_v2(self, params: Json) -> Json:
        return {"AggregatorsV2": [{"AggregatorV2Arn": a} for a in self._aggregator_arns("aggregatorv2")]}

    # ------------------------------------------------------------------ GetFindings

    def _get_findings(self, params: Json) -> Json:
        max_results = params.get("MaxResults", 100)
        criteria = params.get("SortCriteria", [])
        predicates = _compile_filters(params.get("Filters", {}), self._now())
        descending = []
        for criterion in criteria:
            order = criterion.get("SortOrder", "asc")
            if "Field" not in criterion:
                raise _ApiError("InvalidInputException", "SortCriteria: Field is required")
            descending.append(order == "desc")
        # The token pins the query it was issued for; paging with other filters is a bug.
        query = hashlib.sha256(json.dumps([params.get("Filters", {}), criteria], sort_keys=True).encode()).hexdigest()[
            :16
        ]
        after = self._decode_token(params["NextToken"], query) if "NextToken" in params else None

        keyed = []
        for stored in self._findings.values():
            if all(p(stored.finding) for p in predicates):
                key = [
                    _sort_value(stored.finding, c["Field"], desc) for c, desc in zip(criteria, descending, strict=True)
                ]
                keyed.append(([*key, stored.seq], stored))
        order = functools.cmp_to_key(lambda a, b: _compare(a[0], b[0], descending))
        keyed.sort(key=order)
        if after is not None:
            # search_after semantics: robust to findings changing between pages.
            keyed = [item for item in keyed if _compare(item[0], after, descending) > 0]
        page = keyed[:max_results]
        result: Json = {"Findings": [copy.deepcopy(s.finding) for _, s in page]}
        if len(keyed) > max_results:
            result["NextToken"] = self._encode_token(query, page[-1][0])
        return result

    # ------------------------------------------------------------------ v2 (OCSF)

    def finding_v2(self, finding_id: str, product_arn: str | None = None) -> Json:
        stored = self._lookup(finding_id, product_arn)
        return ocsf.to_ocsf(stored.finding, stored.comment)

    def _get_findings_v2(self, params: Json) -> Json:
        max_results = params.get("MaxResults", 100)
        filters = params.get("Filters") or {}
        query = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]
        start = int(self._decode_token(params["NextToken"], query)[0]) if "NextToken" in params else 0
        selected = [
            ocsf.to_ocsf(s.finding, s.comment)
            for s in sorted(self._findings.values(), key=lambda s: s.seq)
            if ocsf.matches(ocsf.to_ocsf(s.finding, s.comment), filters)
        ]
        page = selected[start : start + max_results]
        result: Json = {"Findings": copy.deepcopy(page)}
        if start + max_results < len(selected):
            result["NextToken"] = self._encode_token(query, [start + max_results])
        return result

    def _batch_update_v2(self, params: Json) -> Json:
        def lookup(ident: Json) -> tuple[Json, Any] | None:
            for stored in self._findings.values():
                f = stored.finding
                if "uid" in ident and ocsf.metadata_uid(f) == ident["uid"]:
                    return f, stored
                i = ident.get("identifier") or {}
                if (f["Id"], f["ProductArn"], f["AwsAccountId"]) == (
                    i.get("FindingInfoUid"),
                    i.get("MetadataProductUid"),
                    i.get("CloudAccountUid"),
                ):
                    return f, stored
            return None

        return ocsf.batch_update(params, lookup, _iso(self._now()))

    @staticmethod
    def _encode_token(query: str, key: list[Any]) -> str:
        raw = json.dumps({"q": query, "k": key}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode()

    @staticmethod
    def _decode_token(token: str, query: str) -> list[Any]:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            key = data["k"]
            valid = data["q"] == query and isinstance(key, list)
        except (ValueError, KeyError, TypeError, binascii.Error):
            valid = False
        if not valid:
            raise _ApiError("InvalidInputException", "The NextToken is invalid for this query")
        return list(key)

    # ------------------------------------------------------------------ BatchUpdateFindings

    def _batch_update(self, params: Json) -> Json:
        """BatchUpdateFindings (API reference, user guide "BatchUpdateFindings for
        customers"): up to 100 identifiers; updates Confidence, Criticality, Note,
        RelatedFindings, Severity, Types, UserDefinedFields, VerificationState and
        Workflow; does NOT change UpdatedAt. Unknown identifiers and invalid values are
        reported per finding in UnprocessedFindings with the documented codes."""
        identifiers = params["FindingIdentifiers"]
        if not 1 <= len(identifiers) <= 100:
            raise _ApiError("InvalidInputException", "FindingIdentifiers must hold between 1 and 100 items")
        keys = [(i["ProductArn"], i["Id"]) for i in identifiers]
        processed: list[Json] = []
        unprocessed: list[Json] = []
        now = _iso(self._now())
        for identifier, key in zip(identifiers, keys, strict=True):
            forced = self.unprocessed(copy.deepcopy(identifier)) if self.unprocessed else None
            if forced is not None:
                error = forced
            elif keys.count(key) > 1:
                error = ("DuplicatedFindingIdentifier", "Finding Identifier is duplicated")
            elif key not in self._findings:
                error = ("FindingNotFound", "Finding Not Found")
            else:
                stored = self._findings[key]
                updated, changed = self._apply_update(stored.finding, params, now)
                if self._asff_problems(updated):
                    error = ("InvalidInput", "Invalid Input")
                else:
                    stored.finding = updated
                    stored.customer_set |= changed
                    processed.append({"Id": key[1], "ProductArn": key[0]})
                    continue
            unprocessed.append(
                {
                    "FindingIdentifier": {"Id": key[1], "ProductArn": key[0]},
                    "ErrorCode": error[0],
                    "ErrorMessage": error[1],
                }
            )
        return {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}

    @staticmethod
    def _apply_update(finding: Json, params: Json, now: str) -> tuple[Json, set[str]]:
        updated = copy.deepcopy(finding)
        changed: set[str] = set()
        if "Note" in params:
            note = params["Note"]
            updated["Note"] = {
                "Text": note["Text"],
                "UpdatedBy": note["UpdatedBy"],
                "UpdatedAt": now,
            }
        if "Workflow" in params and "Status" in params["Workflow"]:
            updated["Workflow"] = {"Status": params["Workflow"]["Status"]}
        if "UserDefinedFields" in params:
            # Merge: keys in the request are set, other keys stay. (The model's value type
            # is NonEmptyString, so a key cannot be cleared with an empty value.)
            updated["UserDefinedFields"] = {
                **updated.get("UserDefinedFields", {}),
                **params["UserDefinedFields"],
            }
        if "VerificationState" in params:
            updated["VerificationState"] = params["VerificationState"]
        for name in ("Confidence", "Criticality", "Types", "RelatedFindings"):
            if name in params:
                updated[name] = copy.deepcopy(params[name])
                changed.add(name)
        if params.get("Severity"):
            request = params["Severity"]
            severity = {**updated.get("Severity", {})}
            for name in ("Label", "Normalized", "Product"):
                if name in request:
                    severity[name] = request[name]
            if "Normalized" in request and "Label" not in request:
                severity["Label"] = _label_for(request["Normalized"])
            if "Label" in request and "Normalized" not in request:
                severity["Normalized"] = _LABEL_TO_NORMALIZED[request["Label"]]
            updated["Severity"] = severity
            changed.add("Severity")
        return updated, changed

    # ------------------------------------------------------------------ BatchImportFindings

    def _batch_import(self, params: Json) -> Json:
        failed = []
        for finding in params["Findings"]:
            problems = self._asff_problems(finding)
            if problems:
                failed.append({"Id": finding["Id"], "ErrorCode": "InvalidInput", "ErrorMessage": problems[0]})
            else:
                self._import_one(copy.deepcopy(finding))
        return {
            "FailedCount": len(failed),
            "SuccessCount": len(params["Findings"]) - len(failed),
            "FailedFindings": failed,
        }

    @staticmethod
    def _asff_problems(finding: Json) -> list[str]:
        """ASFF rules the model does not encode (user guide, ASFF attribute pages)."""
        problems = []
        for name in (*_FINDING_TIMESTAMPS, "ProcessedAt"):
            if name in finding and _parse_ts(finding[name]) is None:
                problems.append(f"{name}: {finding[name]!r} is not a valid ASFF timestamp")
        note = finding.get("Note")
        if note:
            if len(note.get("Text", "")) > 512:
                problems.append("Note.Text: at most 512 characters")
            if len(note.get("UpdatedBy", "")) > 512:
                problems.append("Note.UpdatedBy: at most 512 characters")
        for name, value_max in (("UserDefinedFields", 1024), ("ProductFields", 2048)):
            fields = finding.get(name) or {}
            # Security Hub adds its own aws/securityhub/* ProductFields on top of the
            # provider's 50 (a real GuardDuty finding in the samples has 50 + 3).
            own = sum(1 for k in fields if name == "ProductFields" and k.startswith("aws/securityhub/"))
            if len(fields) - own > 50:
                problems.append(f"{name}: at most 50 key-value pairs")
            if any(len(k) > 128 or len(v) > value_max for k, v in fields.items()):
                problems.append(f"{name}: keys at most 128, values at most {value_max} characters")
        if len(finding.get("Types", [])) > 50:
            problems.append("Types: at most 50 items")
        if len(finding.get("RelatedFindings", [])) > 10:
            problems.append("RelatedFindings: at most 10 items")
        if not 1 <= len(finding.get("Resources", [])) <= 32:
            problems.append("Resources: between 1 and 32 items")
        return problems

    def _import_one(self, payload: Json) -> None:
        """One finding of BatchImportFindings, following the user guide:

        * Create or update is decided by the Id (here: ProductArn + Id). An update whose
          UpdatedAt is before the stored one is ignored ("BatchImportFindings for
          finding providers": before -> ignored, after -> updated; the guide names no
          rule for equal times, so an equal UpdatedAt updates).
        * For an existing finding, Note, UserDefinedFields, VerificationState and
          Workflow in the payload are ignored; Confidence, Criticality, RelatedFindings,
          Severity and Types are taken from the provider (FindingProviderFields first)
          only while BatchUpdateFindings has not changed them.
        * A new finding without Workflow starts NEW; FindingProviderFields is filled from
          the top-level fields when empty (API reference, FindingProviderFields).
        * Workflow transitions ("Setting the workflow status", WorkflowStatus filter
          docs): NOTIFIED or RESOLVED becomes NEW when RecordState goes ARCHIVED ->
          ACTIVE or Compliance.Status goes PASSED -> FAILED/WARNING/NOT_AVAILABLE; for
          control findings a PASSED Compliance.Status sets RESOLVED; SUPPRESSED never
          changes automatically.
        """
        key = (payload["ProductArn"], payload["Id"])
        existing = self._findings.get(key)
        now = self._now()
        if existing is not None:
            old_time = _parse_ts(existing.finding["UpdatedAt"])
            new_time = _parse_ts(payload["UpdatedAt"])
            if old_time is not None and new_time is not None and new_time < old_time:
                return
        finding = payload
        fpf = finding.get("FindingProviderFields") or {}
        if not fpf:
            fpf = {n: copy.deepcopy(finding[n]) for n in _SHARED if n in finding}
            if "Severity" in fpf:
                # FindingProviderFields.Severity holds only Label and Original.
                fpf["Severity"] = {k: v for k, v in fpf["Severity"].items() if k in ("Label", "Original")}
            if fpf:
                finding["FindingProviderFields"] = fpf
        if existing is None:
            for name in _SHARED:
                if name not in finding and name in fpf:
                    finding[name] = copy.deepcopy(fpf[name])
            if "Workflow" not in finding:
                control_passed = _is_control_finding(finding) and (finding["Compliance"]["Status"] == "PASSED")
                finding["Workflow"] = {"Status": "RESOLVED" if control_passed else "NEW"}
            finding.setdefault("WorkflowState", "NEW")
            finding.setdefault("RecordState", "ACTIVE")
            self._seq += 1
            self._findings[key] = _Stored(finding=finding, seq=self._seq)
        else:
            old = existing.finding
            for name in (*_CUSTOMER_OWNED, "WorkflowState"):
                finding.pop(name, None)
                if name in old:
                    finding[name] = copy.deepcopy(old[name])
            for name in _SHARED:
                if name in existing.customer_set:
                    finding.pop(name, None)
                    if name in old:
                        finding[name] = copy.deepcopy(old[name])
                elif name in fpf:
                    finding[name] = copy.deepcopy(fpf[name])
            finding.setdefault("RecordState", old.get("RecordState", "ACTIVE"))
            finding["Workflow"] = {"Status": self._transition(old, finding)}
            existing.finding = finding
        if "Severity" in finding:
            _complete_severity(finding["Severity"])
        self._fill_system_fields(finding, now)

    @staticmethod
    def _transition(old: Json, new: Json) -> str:
        status = str(old.get("Workflow", {}).get("Status", "NEW"))
        if status == "SUPPRESSED":
            return status
        reactivated = old.get("RecordState") == "ARCHIVED" and new["RecordState"] == "ACTIVE"
        old_compliance = old.get("Compliance", {}).get("Status")
        new_compliance = new.get("Compliance", {}).get("Status")
        regressed = old_compliance == "PASSED" and new_compliance in (
            "FAILED",
            "WARNING",
            "NOT_AVAILABLE",
        )
        if status in ("NOTIFIED", "RESOLVED") and (reactivated or regressed):
            return "NEW"
        if _is_control_finding(new) and new_compliance == "PASSED":
            return "RESOLVED"
        return status

    def _fill_system_fields(self, finding: Json, now: datetime) -> None:
        """Attributes Security Hub sets itself (ASFF: ProductName, CompanyName, Region
        are "populated automatically"; ProcessedAt is when it received the finding;
        ProductFields carry aws/securityhub/* as in every real sample)."""
        product = _product_path(finding["ProductArn"])
        product_fields = finding.setdefault("ProductFields", {})
        company_part, _, product_part = product.partition("/")
        known = _KNOWN_PRODUCTS.get(product, (product_part, company_part))
        name = product_fields.get("aws/securityhub/ProductName") or known[0]
        company = product_fields.get("aws/securityhub/CompanyName") or known[1]
        if name:
            finding.setdefault("ProductName", name)
            product_fields.setdefault("aws/securityhub/ProductName", name)
        if company:
            finding.setdefault("CompanyName", company)
            product_fields.setdefault("aws/securityhub/CompanyName", company)
        product_fields.setdefault("aws/securityhub/FindingId", f"{finding['ProductArn']}/{finding['Id']}")
        # The Region of the product ARN, searched for because real ARNs are not always
        # well formed (GuardDuty's documented sample reads arn:aws::securityhub:us-east-1:).
        arn_regions = [p for p in finding["ProductArn"].split(":") if _REGION_RE.fullmatch(p)]
        finding.setdefault("Region", arn_regions[0] if arn_regions else self.region)
        finding["ProcessedAt"] = _iso(now)

    # ------------------------------------------------------------------ transports

    def attach(self, client: Any) -> None:
        """Answer every request of a boto3 ``securityhub`` client from this fake.

        botocore validates parameters before ``before-send``, so invalid requests still
        fail client-side exactly as against AWS; retries and error parsing run as usual.
        """
        service = client.meta.service_model.service_name
        if service != "securityhub":
            raise ValueError(f"FakeSecurityHub can only attach to securityhub, not {service}")
        client.meta.events.register_first(
            "before-send.securityhub",
            self._before_send,
            unique_id=f"liver-fake-securityhub-{id(self)}",
        )

    def _before_send(self, request: Any, **_: Any) -> AWSResponse:
        body = request.body
        if body is None:
            data = b""
        elif isinstance(body, bytes | bytearray):
            data = bytes(body)
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body.read()
        url = request.url
        status, headers, payload = self.handle(request.method, urlsplit(url).path, data)
        # botocore emits before-send to every handler, so moto's stubber (if mock_aws is
        # active) would run this request against its own backend too. Point the
        # already-answered request somewhere moto does not match.
        request.url = "http://liver-fake-securityhub.invalid/answered"
        http_headers = HTTPHeaders()
        for name, value in headers.items():
            http_headers[name] = value
        return AWSResponse(url, status, http_headers, _RawBody(payload))

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0) -> Iterator[str]:
        """Serve the fake over HTTP on loopback; yields the endpoint URL (for
        ``endpoint_url`` or ``AWS_ENDPOINT_URL_SECURITYHUB``). ``latency`` seconds are
        added to every response to imitate a network round trip."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # One packet per response and no Nagle delay: otherwise each reply waits ~40 ms
            # for the client's ACK, which would swamp the benchmark's injected latency.
            disable_nagle_algorithm = True
            wbufsize = -1
            protocol_version = "HTTP/1.1"  # keep-alive, like botocore's connection pool

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else b""
                try:
                    status, headers, payload = fake.handle(self.command, self.path, data)
                except Exception as exc:  # reported, never swallowed: see server_errors
                    fake.server_errors.append(exc)
                    code = "NotImplementedByFake" if isinstance(exc, NotImplementedError) else ("FakeSecurityHubError")
                    # 501 is not retried by botocore, so the failure surfaces at once.
                    payload = json.dumps({"__type": code, "Message": str(exc)}).encode()
                    status = 501
                    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
                if latency:
                    time.sleep(latency)
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test and benchmark output quiet

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="fake-securityhub", daemon=True)
        thread.start()
        try:
            bound_host, bound_port = server.server_address[:2]
            yield f"http://{bound_host!s}:{bound_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
