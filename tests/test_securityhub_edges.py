"""Security Hub at its edges: only requests AWS accepts, and reports that say what really happened.

Requests go through boto3 and botocore's service model into the emulator, which rejects
what AWS documents as errors: EQUALS with NOT_EQUALS on one field, more than 20 values per
field, more than 10 fields.
"""

from __future__ import annotations

from liver_gh.adapters.securityhub import MAX_VALUES, SecurityHub, filters_for
from liver_gh.models import Severity
from liver_gh.ports import ByControl, ByIds, LinkedTo, NewFindings, Tracked
from tests.conftest import Env, ts
from tests.factories import control_finding


def test_every_query_stays_within_what_get_findings_accepts() -> None:
    queries = [
        NewFindings(Severity.LOW, products_exclude=tuple(f"P{i}" for i in range(20)), regions=("us-east-1",)),
        NewFindings(Severity.HIGH, products_include=("Inspector",)),
        Tracked(),
        LinkedTo("https://github.com/acme/payments/issues/1"),
        ByIds(tuple(f"id-{i}" for i in range(45))),
        ByControl("EC2.8", tuple(f"{i:012d}" for i in range(50)), ("aws:autoscaling:groupName", "web")),
    ]
    for query in queries:
        for filters in filters_for(query):
            assert len(filters) <= 10
            for field, entries in filters.items():
                assert len(entries) <= MAX_VALUES, (field, len(entries))
                comparisons = {e["Comparison"] for e in entries}
                assert not ({"EQUALS", "NOT_EQUALS"} <= comparisons), field
                if field in ("UserDefinedFields", "ResourceTags"):
                    assert len(entries) == 1, "entries of a map field are OR'ed: AND is filtered client-side"
    assert len(filters_for(ByIds(tuple(f"id-{i}" for i in range(45))))) == 3


def test_long_account_lists_are_filtered_by_liver_not_sent(env: Env) -> None:
    protos = ", ".join(f'"{9 * 10**11 + i}"' for i in range(25))
    env.write_config(
        env.config.read_text().replace('prototype_accounts: ["999999999999"]', f"prototype_accounts: [{protos}]")
    )
    env.hub.import_findings(
        [
            control_finding("S3.2", updated_at=ts(env.now)),
            control_finding("S3.2", account="900000000003", updated_at=ts(env.now)),
        ]
    )
    result = env.sync()
    assert result.exit_code == 0, result.output
    assert "prototype account: 1" in result.output
    sent = [params for op, params in env.hub.calls if op == "GetFindings"]
    assert all("AwsAccountId" not in p["Filters"] for p in sent)


def test_a_failed_update_is_not_counted_as_done(env: Env) -> None:
    env.hub.unprocessed = lambda identifier: ("LimitExceeded", "Too many updates")
    env.hub.import_findings([control_finding("S3.2", updated_at=ts(env.now))])
    result = env.sync()
    assert result.exit_code == 1
    assert "Issues opened: 0" in result.output  # the issue exists, but its step did not finish
    assert "LimitExceeded" in result.output
    env.hub.unprocessed = None
    result = env.sync()  # the next run finishes the Security Hub part, opening nothing new
    assert result.exit_code == 0, result.output
    assert len(env.issues()) == 1


def test_get_findings_errors_carry_the_code_and_fitting_advice(env: Env) -> None:
    env.hub.fault = lambda op, params: "InvalidInputException"
    result = env.sync()
    assert result.exit_code == 1
    assert "GetFindings failed: InvalidInputException" in result.output
    assert "credentials" not in result.output.lower()
    env.hub.fault = lambda op, params: "AccessDeniedException"
    result = env.sync()
    assert "allow securityhub:GetFindings in the role's IAM policy" in result.output


def test_refused_credentials_are_a_configuration_error(env: Env) -> None:
    env.hub.fault = lambda op, params: "UnrecognizedClientException"
    result = env.sync()
    assert result.exit_code == 2
    assert "AWS refused the credentials" in result.output


def test_the_adapter_reads_by_id_in_chunks_of_twenty(env: Env) -> None:
    from liver_gh.runtime import make_client

    raws = [control_finding("S3.2", resource_id=f"arn:aws:s3:::b{i}", updated_at=ts(env.now)) for i in range(45)]
    env.hub.import_findings(raws)
    hub = SecurityHub(make_client("us-east-1"))  # the test's client, wired to the emulator
    found = hub.findings(ByIds(tuple(r["Id"] for r in raws)))
    assert len(found) == 45 and hub.get_calls == 3
