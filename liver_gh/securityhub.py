"""Security Hub adapter (boto3): reads findings, writes workflow, notes and the link.

Reads are server-side filtered and paged 100 at a time. Writes go in batches of at most
100 identifiers; UnprocessedFindings are retried once and then reported, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from liver_gh import identity
from liver_gh.asff import parse_finding
from liver_gh.errors import FindingError, SourceError
from liver_gh.models import Finding, Severity, Workflow

BATCH = 100
RETRIES = BotoConfig(retries={"mode": "standard", "max_attempts": 8}, user_agent_extra="liver-gh")

Filter = dict[str, list[dict[str, Any]]]


def make_client(region: str | None) -> Any:
    """A securityhub client; AWS_ENDPOINT_URL_SECURITYHUB is honoured by boto3 itself."""
    try:
        return boto3.client("securityhub", region_name=region, config=RETRIES)
    except BotoCoreError as e:
        raise SourceError(
            f"Security Hub client could not be created: {e}. Set securityhub.region or AWS_REGION."
        ) from e


def _eq(field_name: str, values: Iterable[str]) -> Filter:
    return {field_name: [{"Value": v, "Comparison": "EQUALS"} for v in values]}


def new_findings_filter(
    min_severity: Severity,
    exclude_accounts: Iterable[str] = (),
    products: Sequence[str] = (),
    exclude_products: Sequence[str] = (),
    regions: Sequence[str] = (),
) -> Filter:
    """Findings that may need a new issue. All accounts are read on purpose: a new,
    unmapped account must be reported, not silently missed."""
    filters: Filter = {
        **_eq("RecordState", ["ACTIVE"]),
        **_eq("WorkflowStatus", [Workflow.NEW.value]),
        **_eq("SeverityLabel", [s.name for s in min_severity.at_or_above()]),
    }
    accounts = sorted(set(exclude_accounts))
    if accounts:
        filters["AwsAccountId"] = [{"Value": a, "Comparison": "NOT_EQUALS"} for a in accounts]
    if products:
        filters.update(_eq("ProductName", products))
    if exclude_products:
        filters.setdefault("ProductName", []).extend({"Value": p, "Comparison": "NOT_EQUALS"} for p in exclude_products)
    if regions:
        filters.update(_eq("Region", regions))
    return filters


def tracked_filter(key: str | None = None) -> Filter:
    """Every finding liver linked to an issue (or to one issue), in any state."""
    k, v = identity.UDF_TRACKED
    filters: Filter = {"UserDefinedFields": [{"Key": k, "Value": v, "Comparison": "EQUALS"}]}
    if key:
        filters["UserDefinedFields"].append({"Key": identity.UDF_KEY, "Value": key, "Comparison": "EQUALS"})
    return filters


@dataclass
class UpdateResult:
    processed: int = 0
    failed: list[str] = field(default_factory=list)  # one sentence per finding that was not updated


@dataclass
class SecurityHub:
    client: Any
    get_calls: int = 0
    update_calls: int = 0
    bad_findings: list[str] = field(default_factory=list)

    def _pages(self, filters: Filter) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Filters": filters, "MaxResults": BATCH}
            if token:
                kwargs["NextToken"] = token
            try:
                self.get_calls += 1
                page = self.client.get_findings(**kwargs)
            except (ClientError, BotoCoreError) as e:
                raise SourceError(
                    f"Security Hub GetFindings failed: {e}. Check credentials, Region and securityhub:GetFindings permission."
                ) from e
            yield from page.get("Findings", [])
            token = page.get("NextToken")
            if not token:
                return

    def findings(self, filters: Filter) -> list[Finding]:
        """Parse every page; a malformed finding is reported and skipped."""
        out = []
        for raw in self._pages(filters):
            try:
                out.append(parse_finding(raw))
            except FindingError as e:
                self.bad_findings.append(str(e))
        return out

    def update(
        self,
        refs: Sequence[tuple[str, str]],
        *,
        workflow: Workflow | None,
        note: str,
        udf: dict[str, str],
    ) -> UpdateResult:
        """One BatchUpdateFindings payload for many findings, 100 identifiers per call."""
        result = UpdateResult()
        for start in range(0, len(refs), BATCH):
            chunk = [{"Id": i, "ProductArn": p} for i, p in refs[start : start + BATCH]]
            for attempt in range(2):
                payload: dict[str, Any] = {
                    "FindingIdentifiers": chunk,
                    "Note": {"Text": note, "UpdatedBy": "liver"},
                    "UserDefinedFields": udf,
                }
                if workflow is not None:
                    payload["Workflow"] = {"Status": workflow.value}
                try:
                    self.update_calls += 1
                    response = self.client.batch_update_findings(**payload)
                except (ClientError, BotoCoreError) as e:
                    result.failed.extend(f"{i['Id']}: BatchUpdateFindings failed ({e})" for i in chunk)
                    break
                result.processed += len(response.get("ProcessedFindings", []))
                unprocessed = response.get("UnprocessedFindings", [])
                if not unprocessed:
                    break
                if attempt == 0:
                    chunk = [u["FindingIdentifier"] for u in unprocessed]
                    continue
                result.failed.extend(
                    f"{u['FindingIdentifier']['Id']}: {u.get('ErrorCode', 'error')} {u.get('ErrorMessage', '')}".strip()
                    for u in unprocessed
                )
        return result
