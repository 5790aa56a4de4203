"""PagerDuty Events API v2 paging.

Request and response shapes follow PagerDuty's Events API v2 reference (api-schema
events-v2 openapiv3.json): POST /v2/enqueue, 202 ``{"status": "success", "message":
"Event processed", "dedup_key": ...}``, and the documented error body for 400/5xx.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from liver_gh.adapters.paging import Pager, events_severity
from liver_gh.config.model import PageSpec
from liver_gh.errors import LiverError, OncallError, PagingError
from liver_gh.models import Severity
from tests.loopback import Reply, closed_port, serve

ENQUEUE = "https://events.pagerduty.com/v2/enqueue"
SPEC = PageSpec(min_severity=Severity.CRITICAL, routing_key_env="PAGERDUTY_ROUTING_KEY")
KEY = "e93facc04764012d7bfb002500d5d1a6"
ENV = {"PAGERDUTY_ROUTING_KEY": KEY}
FINDING = (
    "arn:aws:securityhub:eu-central-1:123456789012:subscription/"
    "aws-foundational-security-best-practices/v/1.0.0/S3.8/finding/0b4e"
)


def accepted(dedup_key: str) -> dict[str, str]:
    return {"status": "success", "message": "Event processed", "dedup_key": dedup_key}


INVALID = {
    "status": "invalid event",
    "message": "Event object is invalid",
    "errors": ["'routing_key' is invalid"],
}


def pager(env: dict[str, str] | None = None) -> Pager:
    # A plain session: `responses` sits above urllib3's retries; the loopback tests cover them.
    return Pager(ENV if env is None else env, requests.Session())


def trigger(p: Pager, **overrides: str) -> None:
    args = {
        "dedup_key": FINDING,
        "summary": "S3.8 Block Public Access is off on bucket payments-exports",
        "source": "123456789012/eu-central-1",
        "severity": Severity.CRITICAL,
        "link": "https://github.com/acme/payments/issues/42",
        "link_text": "acme/payments#42",
        **overrides,
    }
    p.trigger(SPEC, **args)


def sent(call_index: int = 0) -> Any:
    body = responses.calls[call_index].request.body
    assert body is not None
    return json.loads(body)


@responses.activate
def test_trigger_sends_the_documented_event() -> None:
    responses.post(
        ENQUEUE,
        status=202,
        json=accepted(FINDING),
        match=[matchers.header_matcher({"Content-Type": "application/json"})],
    )
    trigger(pager())
    assert sent() == {
        "routing_key": KEY,
        "event_action": "trigger",
        "dedup_key": FINDING,
        "payload": {
            "summary": "S3.8 Block Public Access is off on bucket payments-exports",
            "source": "123456789012/eu-central-1",
            "severity": "critical",
        },
        "client": "liver-gh",
        "links": [{"href": "https://github.com/acme/payments/issues/42", "text": "acme/payments#42"}],
    }


@responses.activate
def test_resolve_sends_the_documented_event() -> None:
    responses.post(ENQUEUE, status=202, json=accepted(FINDING))
    pager().resolve(SPEC, dedup_key=FINDING)
    assert sent() == {"routing_key": KEY, "event_action": "resolve", "dedup_key": FINDING}


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("CRITICAL", "critical"),
        ("HIGH", "error"),
        ("MEDIUM", "warning"),
        ("LOW", "info"),
        ("INFORMATIONAL", "info"),
        ("high", "error"),
        (Severity.MEDIUM, "warning"),
        ("warning", "warning"),
    ],
)
def test_severity_mapping(severity: Severity | str, expected: str) -> None:
    assert events_severity(severity) == expected


@responses.activate
def test_trigger_maps_severity_into_the_payload() -> None:
    responses.post(ENQUEUE, status=202, json=accepted(FINDING))
    trigger(pager(), severity="HIGH")
    assert sent()["payload"]["severity"] == "error"


def test_unknown_severity_raises_before_sending() -> None:
    with responses.RequestsMock(), pytest.raises(PagingError, match="severity 'SEVERE'"):
        trigger(pager(), severity="SEVERE")


@responses.activate
def test_summary_is_clipped_to_1024_characters() -> None:
    responses.post(ENQUEUE, status=202, json=accepted(FINDING))
    trigger(pager(), summary="x" * 5000)
    summary = sent()["payload"]["summary"]
    assert len(summary) == 1024
    assert summary.endswith("…")


@responses.activate
def test_no_link_means_no_links() -> None:
    responses.post(ENQUEUE, status=202, json=accepted(FINDING))
    trigger(pager(), link="", link_text="")
    assert "links" not in sent()


@responses.activate
def test_long_dedup_keys_are_shortened_the_same_way_for_resolve() -> None:
    responses.post(ENQUEUE, status=202, json=accepted("x"))
    long_key = FINDING + "/" + "a" * 300
    p = pager()
    trigger(p, dedup_key=long_key)
    p.resolve(SPEC, dedup_key=long_key)
    first, second = sent(0)["dedup_key"], sent(1)["dedup_key"]
    assert first == second
    assert len(first) == 255
    assert first.startswith(FINDING)
    trigger(p, dedup_key=long_key + "b")  # a different long key gets a different alert
    assert sent(2)["dedup_key"] != first


@responses.activate
def test_events_url_override() -> None:
    responses.post("http://127.0.0.1:8080/events/v2/enqueue", status=202, json=accepted("k"))
    pager({**ENV, "PAGERDUTY_EVENTS_URL": "http://127.0.0.1:8080/events/"}).resolve(SPEC, dedup_key="k")
    assert len(responses.calls) == 1


def test_missing_routing_key_raises_without_sending() -> None:
    with (
        responses.RequestsMock(),
        pytest.raises(PagingError, match="PAGERDUTY_ROUTING_KEY is not set, so nobody was paged"),
    ):
        trigger(pager({}))


@responses.activate
def test_rejected_event_raises_with_pagerdutys_words_but_not_the_key() -> None:
    responses.post(ENQUEUE, status=400, json=INVALID)
    with pytest.raises(PagingError) as info:
        trigger(pager())
    message = str(info.value)
    assert "HTTP 400" in message
    assert "Event object is invalid" in message
    assert "PAGERDUTY_ROUTING_KEY" in message
    assert KEY not in message
    assert len(responses.calls) == 1  # a 400 is not retried


def test_server_error_retries_once_then_raises() -> None:
    with serve(Reply(500, {"status": "error", "message": "try later"})) as (base, script):
        with pytest.raises(PagingError, match=r"HTTP 500.*try again next run"):
            Pager({**ENV, "PAGERDUTY_EVENTS_URL": base}).resolve(SPEC, dedup_key=FINDING)
        assert len(script.calls) == 2


def test_server_error_then_accepted_succeeds() -> None:
    with serve(Reply(503), Reply(202, accepted(FINDING))) as (base, script):
        trigger(Pager({**ENV, "PAGERDUTY_EVENTS_URL": base}))
        assert len(script.calls) == 2


@responses.activate
def test_rate_limit_raises() -> None:
    responses.post(ENQUEUE, status=429)
    with pytest.raises(PagingError, match="HTTP 429"):
        trigger(pager())
    assert len(responses.calls) == 1


def test_connection_refused_raises() -> None:
    with pytest.raises(PagingError, match="could not be reached to trigger"):
        trigger(Pager({**ENV, "PAGERDUTY_EVENTS_URL": closed_port()}))


def test_paging_error_is_in_the_error_tree() -> None:
    assert issubclass(PagingError, OncallError)
    assert issubclass(PagingError, LiverError)


def test_empty_dedup_key_raises() -> None:
    with responses.RequestsMock(), pytest.raises(PagingError, match="dedup key"):
        pager().resolve(SPEC, dedup_key=" ")


def test_page_spec_covers() -> None:
    spec = PageSpec(Severity.HIGH, "K")
    assert spec.covers(Severity.CRITICAL)
    assert spec.covers(Severity.HIGH)
    assert not spec.covers(Severity.MEDIUM)
