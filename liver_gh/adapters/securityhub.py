"""Security Hub CSPM adapter (boto3, ASFF): reads findings, writes workflow, notes and the link.

Only requests AWS accepts: at most 20 values per filter field (longer lists are split
into several calls), never EQUALS and NOT_EQUALS on one field, and one entry per map
field (UserDefinedFields, ResourceTags), whose entries AWS joins with OR; anything that
needs AND is filtered here. Writes go in batches of at most 100 identifiers;
UnprocessedFindings are retried once and then reported, never dropped.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from liver_gh.adapters.asff import parse_finding
from liver_gh.errors import AuthError, ConfigError, FindingError, SourceError
from liver_gh.models import Finding, Workflow
from liver_gh.ports import ByControl, ByIds, FindingUpdate, LinkedTo, NewFindings, Query, Tracked, UpdateOutcome
from liver_gh.rules.identity import UDF_ISSUE, UDF_TRACKED

BATCH = 100
MAX_VALUES = 20  # values per filter field, per AwsSecurityFindingFilters
RETRIES = BotoConfig(retries={"mode": "standard", "max_attempts": 8}, user_agent_extra="liver-gh")
AUTH_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)

Filter = dict[str, list[dict[str, Any]]]


def make_client(region: str | None) -> Any:
    """A securityhub client; AWS_ENDPOINT_URL_SECURITYHUB and AWS_PROFILE are honoured by boto3 itself."""
    try:
        return boto3.client("securityhub", region_name=region, config=RETRIES)
    except ProfileNotFound as e:
        raise ConfigError([f"AWS_PROFILE: {e}; set it to a profile in ~/.aws/config, or unset it."]) from None
    except NoRegionError:
        raise ConfigError(["No AWS Region: set securityhub.region in liver.yml or AWS_REGION."]) from None
    except ValueError as e:  # an endpoint URL botocore cannot use
        raise ConfigError(
            [f"AWS_ENDPOINT_URL_SECURITYHUB (or AWS_ENDPOINT_URL): {e}; give a full https:// URL."]
        ) from None
    except BotoCoreError as e:
        raise ConfigError([f"Security Hub client could not be created: {e}."]) from None


def _eq(field_name: str, values: Iterable[str]) -> Filter:
    return {field_name: [{"Value": v, "Comparison": "EQUALS"} for v in values]}


def _chunks(values: Sequence[str]) -> list[tuple[str, ...]]:
    return [tuple(values[i : i + MAX_VALUES]) for i in range(0, len(values), MAX_VALUES)] or [()]


def filters_for(query: Query) -> list[Filter]:
    """The GetFindings filters for a query: one or more, each within AWS's limits."""
    if isinstance(query, Tracked):
        k, v = UDF_TRACKED
        return [{"UserDefinedFields": [{"Key": k, "Value": v, "Comparison": "EQUALS"}]}]
    if isinstance(query, LinkedTo):
        return [{"UserDefinedFields": [{"Key": UDF_ISSUE, "Value": query.issue_url, "Comparison": "EQUALS"}]}]
    if isinstance(query, ByIds):
        return [_eq("Id", chunk) for chunk in _chunks(sorted(set(query.ids)))]
    if isinstance(query, ByControl):
        out = []
        for chunk in _chunks(sorted(set(query.accounts))):
            f: Filter = {**_eq("ComplianceSecurityControlId", [query.control]), **_eq("RecordState", ["ACTIVE"])}
            if chunk:
                f.update(_eq("AwsAccountId", chunk))
            if query.tag:
                f["ResourceTags"] = [{"Key": query.tag[0], "Value": query.tag[1], "Comparison": "EQUALS"}]
            out.append(f)
        return out
    return [_new(query)]


def _new(query: NewFindings) -> Filter:
    f: Filter = {
        **_eq("RecordState", ["ACTIVE"]),
        **_eq("WorkflowStatus", [Workflow.NEW.value]),
        **_eq("SeverityLabel", [s.name for s in query.min_severity.at_or_above()]),
    }
    # check-config keeps these within 20 values and never sets include and exclude together.
    if query.products_include:
        f.update(_eq("ProductName", query.products_include))
    elif query.products_exclude:
        f["ProductName"] = [{"Value": p, "Comparison": "NOT_EQUALS"} for p in query.products_exclude]
    if query.regions:
        f.update(_eq("Region", query.regions))
    return f


def _keep(query: Query, finding: Finding) -> bool:
    """What the server-side filter could not say (AND over a map field, tag checks)."""
    if isinstance(query, Tracked):
        return finding.udf(UDF_TRACKED[0]) == UDF_TRACKED[1]
    if isinstance(query, LinkedTo):
        return finding.udf(UDF_ISSUE) == query.issue_url
    if isinstance(query, ByIds):
        return finding.id in query.ids
    if isinstance(query, ByControl):
        if finding.control_id != query.control:
            return False
        return query.tag is None or any(query.tag in r.tags for r in finding.resources)
    return True


# The v2 operations are authorised by the v1 IAM actions (AWS API reference, GetFindingsV2).
IAM_ACTION = {"GetFindingsV2": "GetFindings", "BatchUpdateFindingsV2": "BatchUpdateFindings"}


def describe_error(e: Exception, operation: str) -> str:
    """The service's error code and the first line of its message, with advice that fits."""
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        code = str(err.get("Code", "Error"))
        message = " ".join(str(err.get("Message", "")).split())[:200]
        advice = {
            "AccessDeniedException": f"allow securityhub:{IAM_ACTION.get(operation, operation)} in the role's IAM policy",
            "InvalidAccessException": "turn Security Hub on in this account and Region (the aggregation Region)",
            "InvalidInputException": "this is a request Security Hub rejects; run 'liver check-config' and report it",
            "ThrottlingException": "Security Hub is throttling; the next run continues",
            "TooManyRequestsException": "Security Hub is throttling; the next run continues",
            "LimitExceededException": "a Security Hub limit was reached; the next run continues",
            "ResourceNotFoundException": "the finding no longer exists",
        }.get(code, "see the message")
        return f"{operation} failed: {code}: {message} ({advice})"
    return f"{operation} failed: {type(e).__name__}: {' '.join(str(e).split())[:200]}"


def _raise_auth(e: Exception) -> None:
    if isinstance(e, NoCredentialsError):
        raise AuthError(
            ["No AWS credentials: configure them (AWS_PROFILE, environment variables, or OIDC in Actions)."]
        ) from None
    if isinstance(e, ClientError) and e.response.get("Error", {}).get("Code") in AUTH_CODES:
        raise AuthError(
            [f"AWS refused the credentials ({e.response['Error'].get('Code')}); refresh or replace them."]
        ) from None


def call(operation: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """One Security Hub call; credentials problems become AuthError, the rest SourceError."""
    try:
        return fn()
    except (ClientError, BotoCoreError) as e:
        _raise_auth(e)
        raise SourceError(describe_error(e, operation)) from e


def aggregation_regions(client: Any, ocsf: bool) -> list[str]:
    """The Regions of the account's finding aggregators (the home Region is part of each ARN)."""
    if ocsf:
        page = call("ListAggregatorsV2", client.list_aggregators_v2)
        arns = [a.get("AggregatorV2Arn", "") for a in page.get("AggregatorsV2", [])]
    else:
        page = call("ListFindingAggregators", client.list_finding_aggregators)
        arns = [a.get("FindingAggregatorArn", "") for a in page.get("FindingAggregators", [])]
    return sorted({arn.split(":")[3] for arn in arns if arn.count(":") >= 5})


def probe_read(client: Any, ocsf: bool) -> int:
    """Read one finding, to prove the credentials and the permission; returns how many came back."""
    if ocsf:
        page = call("GetFindingsV2", lambda: client.get_findings_v2(MaxResults=1))
    else:
        page = call("GetFindings", lambda: client.get_findings(MaxResults=1))
    return len(page.get("Findings", []))


@dataclass
class FindingReader(abc.ABC):
    """What both finding sources share: paging, parsing at the boundary, the counters.

    A subclass names its GetFindings operation and says how to call it, which filters a
    query becomes, and how to parse one raw finding.
    """

    client: Any
    get_calls: int = 0
    update_calls: int = 0
    bad_findings: list[str] = field(default_factory=list)

    OPERATION: ClassVar[str] = "GetFindings"

    @abc.abstractmethod
    def _get(self, **kwargs: Any) -> dict[str, Any]:
        """One page of the source's GetFindings operation."""

    @abc.abstractmethod
    def _filters(self, query: Query) -> Sequence[Any]:
        """The request filters that together answer ``query``."""

    @abc.abstractmethod
    def _parse(self, raw: object) -> Finding:
        """One raw finding as the domain model; raises FindingError."""

    def _pages(self, filters: Any) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Filters": filters, "MaxResults": BATCH}
            if token:
                kwargs["NextToken"] = token
            self.get_calls += 1
            page = call(self.OPERATION, functools.partial(self._get, **kwargs))
            yield from page.get("Findings", [])
            token = page.get("NextToken")
            if not token:
                return

    def findings(self, query: Query) -> list[Finding]:
        """Parse every page; a malformed finding is reported and skipped."""
        out: dict[str, Finding] = {}
        for filters in self._filters(query):
            for raw in self._pages(filters):
                try:
                    finding = self._parse(raw)
                except FindingError as e:
                    self.bad_findings.append(str(e))
                    continue
                if _keep(query, finding):
                    out[finding.id] = finding
        return list(out.values())


@dataclass
class SecurityHub(FindingReader):
    """The FindingSource port on the ASFF API."""

    def _get(self, **kwargs: Any) -> dict[str, Any]:
        return dict(self.client.get_findings(**kwargs))

    def _filters(self, query: Query) -> Sequence[Any]:
        return filters_for(query)

    def _parse(self, raw: object) -> Finding:
        return parse_finding(raw)

    def update(self, update: FindingUpdate) -> UpdateOutcome:
        """One BatchUpdateFindings payload for many findings, 100 identifiers per call."""
        result = UpdateOutcome()
        refs = list(update.refs)
        for start in range(0, len(refs), BATCH):
            chunk = [{"Id": i, "ProductArn": p} for i, p, _ in refs[start : start + BATCH]]
            self._update_chunk(chunk, update, result)
        return result

    def _update_chunk(self, chunk: list[dict[str, str]], update: FindingUpdate, result: UpdateOutcome) -> None:
        for attempt in range(2):
            payload: dict[str, Any] = {
                "FindingIdentifiers": chunk,
                "Note": {"Text": update.note, "UpdatedBy": "liver"},
                "UserDefinedFields": update.fields,
            }
            if update.workflow is not None:
                payload["Workflow"] = {"Status": update.workflow.value}
            try:
                self.update_calls += 1
                response = self.client.batch_update_findings(**payload)
            except (ClientError, BotoCoreError) as e:
                _raise_auth(e)
                why = describe_error(e, "BatchUpdateFindings")
                result.failed.extend(f"{i['Id']}: {why}" for i in chunk)
                return
            result.processed += len(response.get("ProcessedFindings", []))
            unprocessed = response.get("UnprocessedFindings", [])
            if not unprocessed:
                return
            if attempt == 0:
                chunk = [u["FindingIdentifier"] for u in unprocessed]
                continue
            result.failed.extend(
                f"{u['FindingIdentifier']['Id']}: BatchUpdateFindings: {u.get('ErrorCode', 'error')}: {u.get('ErrorMessage', '')}".strip()
                for u in unprocessed
            )
