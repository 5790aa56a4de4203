"""On-call parsing and resolving.

HTTP fixtures follow the providers' documented examples: PagerDuty's ``GET /oncalls``
response example (api-schema, listOnCalls) with the user expanded as ``include[]=users``
does, using the documented User example; Opsgenie's Who Is On Call ``flat=true`` example.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from liver_gh.adapters.oncall import OncallResolver as _Resolver
from liver_gh.config.model import (
    OncallSpec,
    OpsgenieSpec,
    PagerDutySpec,
    RotationOverride,
    RotationSpec,
    StaticSpec,
)
from liver_gh.errors import OncallError
from liver_gh.rules.upkeep import Oncall
from tests.loopback import Reply, closed_port, serve


class OncallResolver(_Resolver):
    """The resolver with the port's service argument filled in, for brevity."""

    def who(self, spec: OncallSpec | None, now: datetime) -> Oncall:  # type: ignore[override]
        return super().who("svc", spec, now)


PD_URL = "https://api.pagerduty.com/oncalls"
PD_ACCEPT = "application/vnd.pagerduty+json;version=2"

PEOPLE = {
    "alice@example.com": "alice",
    "bob@example.com": "bob",
    "125.greenholt.earline@graham.name": "earline",
    "user4@opsgenie.com": "user4",
}
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

# PagerDuty's documented User example, as include[]=users puts it in each on-call.
PD_USER = {
    "id": "PXPGF42",
    "type": "user",
    "summary": "Earline Greenholt",
    "self": "https://api.pagerduty.com/users/PXPGF42",
    "html_url": "https://subdomain.pagerduty.com/users/PXPGF42",
    "name": "Earline Greenholt",
    "email": "125.greenholt.earline@graham.name",
    "time_zone": "America/Lima",
    "color": "green",
    "role": "admin",
    "avatar_url": "https://secure.gravatar.com/avatar/a8b714a39626f2444ee05990b078995f.png?d=mm&r=PG",
    "description": "I'm the boss",
    "invitation_sent": False,
    "job_title": "Director of Engineering",
}
PD_SCHEDULE = {
    "id": "PI7DH85",
    "type": "schedule_reference",
    "summary": "Daily Engineering Rotation",
    "self": "https://api.pagerduty.com/schedules/PI7DH85",
    "html_url": "https://subdomain.pagerduty.com/schedules/PI7DH85",
}
PD_POLICY = {
    "id": "PT20YPA",
    "type": "escalation_policy_reference",
    "summary": "Engineering Escalation Policy",
    "self": "https://api.pagerduty.com/escalation_policies/PT20YPA",
    "html_url": "https://subdomain.pagerduty.com/escalation_policies/PT20YPA",
}


def pd_oncall(user: dict[str, Any], level: int) -> dict[str, Any]:
    return {
        "user": user,
        "schedule": PD_SCHEDULE,
        "escalation_policy": PD_POLICY,
        "escalation_level": level,
        "start": "2015-03-06T15:28:51-05:00",
        "end": "2015-03-07T15:28:51-05:00",
    }


def pd_body(*oncalls: dict[str, Any]) -> dict[str, Any]:
    return {"oncalls": list(oncalls), "limit": 25, "offset": 0, "more": False, "total": None}


# The documented example entry is level 2; the level-1 entry is the documented user.
PD_LEVEL_2 = pd_oncall(
    {**PD_USER, "id": "PT23IWX", "summary": "Tim Wright", "name": "Tim Wright", "email": "tim.wright@example.com"},
    2,
)
PD_LEVEL_1 = pd_oncall(PD_USER, 1)

# Opsgenie's documented flat=true response.
OG_BODY = {
    "data": {
        "_parent": {"id": "d875alp4-9b4e-4219-a803-0c26936d18de", "name": "ScheduleName", "enabled": True},
        "onCallRecipients": ["user4@opsgenie.com"],
    },
    "took": 0.101,
    "requestId": "7f0alpde-3c67-455f-97ec-24754432d413",
}


def resolver(env: dict[str, str] | None = None, people: dict[str, str] | None = None) -> OncallResolver:
    return OncallResolver(
        PEOPLE if people is None else people,
        {"PAGERDUTY_TOKEN": "pd-token", "OPSGENIE_API_KEY": "og-key"} if env is None else env,
        requests.Session(),  # no urllib3 retries under `responses`; the loopback tests cover them
    )


def rotation(
    members: tuple[str, ...] = ("alice", "bob"),
    *,
    start: date = date(2026, 11, 2),
    every: int = 7,
    timezone: str = "UTC",
    overrides: tuple[RotationOverride, ...] = (),
    fallback: tuple[str, ...] = (),
) -> OncallSpec:
    return OncallSpec(RotationSpec(members, start, timedelta(days=every), timezone, overrides), fallback)


def pd_spec(
    *, schedule: str | None = "PABC123", policy: str | None = None, fallback: tuple[str, ...] = ("carol",)
) -> OncallSpec:
    return OncallSpec(PagerDutySpec("PAGERDUTY_TOKEN", schedule, policy), fallback)


def og_spec(region: str = "us", schedule: str = "search-primary", fallback: tuple[str, ...] = ("dave",)) -> OncallSpec:
    return OncallSpec(OpsgenieSpec(schedule, "OPSGENIE_API_KEY", region), fallback)  # type: ignore[arg-type]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --------------------------------------------------------------------------- rotation


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 11, 2, 0, 0), "alice"),  # the first instant of the rotation
        (utc(2026, 11, 8, 23, 59, 59), "alice"),  # last second of the first week
        (utc(2026, 11, 9, 0, 0), "bob"),
        (utc(2026, 11, 15, 23, 59), "bob"),
        (utc(2026, 11, 16, 0, 0), "alice"),  # wraps around
        (utc(2027, 3, 1, 9, 0), "bob"),  # 17 weeks on
        (utc(2027, 3, 8, 9, 0), "alice"),  # 18 weeks on
    ],
)
def test_rotation_weekly_in_utc(now: datetime, expected: str) -> None:
    answer = resolver().who(rotation(), now)
    assert answer.candidates == (expected,)
    assert answer.source == "rotation"
    assert answer.notes == ()


def test_before_start_is_the_first_member() -> None:
    spec = rotation(("bob", "alice"))
    assert resolver().who(spec, utc(2026, 11, 1, 23, 59, 59)).candidates == ("bob",)
    assert resolver().who(spec, utc(2020, 1, 1)).candidates == ("bob",)


def test_every_in_days() -> None:
    spec = rotation(("alice", "bob", "carol"), every=3)
    days = [resolver().who(spec, utc(2026, 11, 2 + d, 12)).candidates[0] for d in range(10)]
    assert days == ["alice"] * 3 + ["bob"] * 3 + ["carol"] * 3 + ["alice"]


def test_handover_is_at_local_midnight_in_the_timezone() -> None:
    spec = rotation(every=1, timezone="Europe/Berlin")  # UTC+1 in November
    assert resolver().who(spec, utc(2026, 11, 1, 22, 59)).candidates == ("alice",)  # before start
    assert resolver().who(spec, utc(2026, 11, 1, 23, 0)).candidates == ("alice",)  # Berlin 00:00
    assert resolver().who(spec, utc(2026, 11, 2, 22, 59)).candidates == ("alice",)  # 23:59
    assert resolver().who(spec, utc(2026, 11, 2, 23, 0)).candidates == ("bob",)  # Nov 3 00:00
    # The same instant in UTC is still November 2nd: alice.
    assert resolver().who(rotation(every=1), utc(2026, 11, 2, 23, 0)).candidates == ("alice",)


def test_handover_stays_at_local_midnight_across_dst() -> None:
    # Berlin leaves summer time on 2026-10-25; elapsed time is 1 h longer than wall time.
    spec = rotation(("a", "b", "c"), start=date(2026, 10, 20), every=1, timezone="Europe/Berlin")
    assert resolver().who(spec, utc(2026, 10, 25, 22, 59)).candidates == ("c",)  # Oct 25 23:59
    assert resolver().who(spec, utc(2026, 10, 25, 23, 0)).candidates == ("a",)  # Oct 26 00:00


def test_naive_now_is_utc() -> None:
    assert resolver().who(rotation(), datetime(2026, 11, 9, 0, 0)).candidates == ("bob",)


def test_override_wins_inside_its_dates_only() -> None:
    holiday = RotationOverride(date(2026, 12, 24), date(2026, 12, 27), "carol")
    spec = rotation(overrides=(holiday,), fallback=("dave",))
    r = resolver()
    before = r.who(spec, utc(2026, 12, 23, 23, 59))  # week 7 of the rotation
    assert (before.candidates, before.source) == (("bob", "dave"), "rotation")
    first = r.who(spec, utc(2026, 12, 24, 0, 0))
    assert (first.candidates, first.source) == (("carol", "dave"), "override")
    assert r.who(spec, utc(2026, 12, 26, 23, 59)).source == "override"
    after = r.who(spec, utc(2026, 12, 27, 0, 0))  # until is exclusive
    assert (after.candidates, after.source) == (("bob", "dave"), "rotation")


def test_override_dates_are_local_and_apply_before_start() -> None:
    swap = RotationOverride(date(2026, 10, 1), date(2026, 10, 2), "carol")
    spec = rotation(timezone="Asia/Tokyo", overrides=(swap,))  # UTC+9
    assert resolver().who(spec, utc(2026, 9, 30, 15, 0)).candidates == ("carol",)  # Oct 1 00:00
    assert resolver().who(spec, utc(2026, 9, 30, 14, 59)).candidates == ("alice",)


def test_candidates_are_deduplicated_ignoring_case() -> None:
    answer = resolver().who(rotation(fallback=("Alice", "carol", "CAROL")), utc(2026, 11, 3))
    assert answer.candidates == ("alice", "carol")


def test_static() -> None:
    answer = resolver().who(OncallSpec(StaticSpec("erin"), ("carol",)), NOW)
    assert (answer.candidates, answer.source, answer.notes, answer.fallback_from) == (
        ("erin", "carol"),
        "static",
        (),
        1,
    )


def test_who_never_raises_on_a_broken_spec() -> None:
    broken = rotation(timezone="Not/AZone", fallback=("carol",))
    answer = resolver().who(broken, NOW)
    assert answer.candidates == ("carol",)
    assert answer.source == "fallback"
    assert answer.notes[0].startswith("Could not work out who is on call")
    assert answer.notes[0].endswith("; using the service's fallback.")


# --------------------------------------------------------------------------- PagerDuty


@responses.activate
def test_pagerduty_by_schedule_sends_documented_request() -> None:
    responses.get(
        PD_URL,
        match=[
            matchers.query_param_matcher({"schedule_ids[]": "PABC123", "earliest": "true", "include[]": "users"}),
            matchers.header_matcher({"Authorization": "Token token=pd-token", "Accept": PD_ACCEPT}),
        ],
        json=pd_body(PD_LEVEL_2, PD_LEVEL_1),
    )
    answer = resolver().who(pd_spec(), NOW)
    assert answer.candidates == ("earline", "carol")  # level 2 (Tim) is ignored
    assert answer.source == "pagerduty"
    assert answer.notes == ()
    (call,) = responses.calls
    assert call.request.headers["Authorization"] == "Token token=pd-token"
    assert call.request.headers["Accept"] == PD_ACCEPT
    assert call.request.url == (f"{PD_URL}?schedule_ids%5B%5D=PABC123&earliest=true&include%5B%5D=users")


@responses.activate
def test_pagerduty_by_escalation_policy() -> None:
    responses.get(
        PD_URL,
        match=[
            matchers.query_param_matcher({"escalation_policy_ids[]": "PXYZ", "earliest": "true", "include[]": "users"})
        ],
        json=pd_body(PD_LEVEL_1, PD_LEVEL_2),
    )
    answer = resolver().who(pd_spec(schedule=None, policy="PXYZ"), NOW)
    assert answer.candidates == ("earline", "carol")
    assert answer.source == "pagerduty"


@responses.activate
def test_pagerduty_several_level_one_users_in_order() -> None:
    alice = {**PD_USER, "id": "PALICE1", "email": "Alice@Example.com"}
    responses.get(PD_URL, json=pd_body(PD_LEVEL_1, pd_oncall(alice, 1), PD_LEVEL_1))
    assert resolver().who(pd_spec(), NOW).candidates == ("earline", "alice", "carol")


@responses.activate
def test_pagerduty_api_url_override() -> None:
    responses.get("http://127.0.0.1:8080/pd/oncalls", json=pd_body(PD_LEVEL_1))
    env = {"PAGERDUTY_TOKEN": "pd-token", "PAGERDUTY_API_URL": "http://127.0.0.1:8080/pd/"}
    assert resolver(env).who(pd_spec(), NOW).candidates == ("earline", "carol")


@responses.activate
def test_pagerduty_is_asked_once_per_schedule_per_resolver() -> None:
    responses.get(PD_URL, json=pd_body(PD_LEVEL_1))
    r = resolver()
    assert r.who(pd_spec(), NOW).candidates == ("earline", "carol")
    # Another service on the same schedule, with its own fallback.
    assert r.who(pd_spec(fallback=("erin",)), NOW).candidates == ("earline", "erin")
    assert len(responses.calls) == 1
    resolver().who(pd_spec(), NOW)  # a new resolver (a new run) asks again
    assert len(responses.calls) == 2


def loopback_resolver(base: str) -> OncallResolver:
    """A resolver with the product's own HTTP session (urllib3 retries), against loopback."""
    return OncallResolver(PEOPLE, {"PAGERDUTY_TOKEN": "pd-token", "PAGERDUTY_API_URL": base})


def test_pagerduty_503_retries_once_then_falls_back() -> None:
    with serve(Reply(503, {"error": {"message": "unavailable"}})) as (base, script):
        r = loopback_resolver(base)
        answer = r.who(pd_spec(), NOW)
        assert answer.candidates == ("carol",)
        assert answer.source == "fallback"
        assert answer.notes == ("PagerDuty could not be reached (HTTP 503); using the service's fallback.",)
        assert len(script.calls) == 2
        r.who(pd_spec(fallback=("erin",)), NOW)  # the failure is remembered for this run
        assert len(script.calls) == 2


def test_pagerduty_503_then_200_succeeds() -> None:
    with serve(Reply(503), Reply(200, pd_body(PD_LEVEL_1))) as (base, script):
        answer = loopback_resolver(base).who(pd_spec(), NOW)
        assert answer.candidates == ("earline", "carol")
        assert len(script.calls) == 2


def test_pagerduty_connection_refused_falls_back() -> None:
    answer = loopback_resolver(closed_port()).who(pd_spec(), NOW)
    assert answer.candidates == ("carol",)
    assert answer.source == "fallback"
    assert answer.notes == ("PagerDuty could not be reached (ConnectionError); using the service's fallback.",)


def test_pagerduty_hanging_is_cut_off_by_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("liver_gh.adapters.oncall.TIMEOUT", 0.3)
    with serve(Reply(200, pd_body(PD_LEVEL_1), delay=2.0)) as (base, script):
        answer = loopback_resolver(base).who(pd_spec(), NOW)
    assert answer.notes == ("PagerDuty did not answer within 0.3 s; using the service's fallback.",)
    assert len(script.calls) == 1  # a read timeout is not retried: the request may have been taken


@responses.activate
def test_pagerduty_timeout_is_not_retried() -> None:
    responses.get(PD_URL, body=requests.ReadTimeout("slow"))
    answer = resolver().who(pd_spec(), NOW)
    assert answer.notes == ("PagerDuty did not answer within 10 s; using the service's fallback.",)
    assert len(responses.calls) == 1


@responses.activate
def test_pagerduty_bad_token_names_the_env_var() -> None:
    responses.get(PD_URL, status=401, json={"error": {"message": "Invalid Credentials"}})
    (note,) = resolver().who(pd_spec(), NOW).notes
    assert "PAGERDUTY_TOKEN" in note
    assert "HTTP 401" in note
    assert "pd-token" not in note
    assert len(responses.calls) == 1  # 4xx is not retried


@responses.activate
def test_pagerduty_unknown_schedule() -> None:
    responses.get(PD_URL, status=404)
    (note,) = resolver().who(pd_spec(), NOW).notes
    assert note.startswith("PagerDuty does not know schedule PABC123 (HTTP 404)")


def test_pagerduty_missing_token_falls_back_without_asking() -> None:
    with responses.RequestsMock() as mock:  # fails if any request is made
        answer = resolver({"PAGERDUTY_TOKEN": "  "}).who(pd_spec(), NOW)
        assert not mock.calls
    assert answer.candidates == ("carol",)
    assert answer.source == "fallback"
    assert answer.notes == (
        "PAGERDUTY_TOKEN is not set, so PagerDuty was not asked who is on call; using the service's fallback.",
    )


@responses.activate
def test_pagerduty_unmapped_email_falls_back() -> None:
    responses.get(PD_URL, json=pd_body(PD_LEVEL_1))
    answer = resolver(people={"alice@example.com": "alice"}).who(pd_spec(), NOW)
    assert answer.candidates == ("carol",)
    assert answer.source == "fallback"
    assert answer.notes == (
        "PagerDuty says 125.greenholt.earline@graham.name is on call, but people: in liver.yml "
        "maps that email to no GitHub login; using the service's fallback.",
    )


@responses.activate
def test_pagerduty_partly_unmapped_keeps_the_mapped_person() -> None:
    stranger = {**PD_USER, "id": "PSTRANG", "email": "stranger@example.com"}
    responses.get(PD_URL, json=pd_body(pd_oncall(stranger, 1), PD_LEVEL_1))
    answer = resolver().who(pd_spec(), NOW)
    assert answer.candidates == ("earline", "carol")
    assert answer.source == "pagerduty"
    assert answer.notes == (
        "PagerDuty says stranger@example.com is on call, but people: in liver.yml maps that email to no GitHub login.",
    )


@responses.activate
def test_pagerduty_nobody_at_level_one() -> None:
    responses.get(PD_URL, json=pd_body(PD_LEVEL_2))
    answer = resolver().who(pd_spec(fallback=()), NOW)
    assert answer.candidates == ()
    assert answer.source == "fallback"
    assert answer.notes == (
        "PagerDuty lists nobody on call at escalation level 1 for schedule PABC123; "
        "the service has no fallback, so nobody is assigned.",
    )


@responses.activate
def test_pagerduty_user_reference_without_email() -> None:
    reference = {k: PD_USER[k] for k in ("id", "summary", "self", "html_url")}
    responses.get(PD_URL, json=pd_body(pd_oncall({**reference, "type": "user_reference"}, 1)))
    (note,) = resolver().who(pd_spec(), NOW).notes
    assert note.startswith("PagerDuty did not give the email of Earline Greenholt")


@pytest.mark.parametrize("body", [{"oncalls": None}, ["not", "an", "object"], {"oncalls": [None, 3, "x"]}])
@responses.activate
def test_pagerduty_odd_bodies_fall_back(body: object) -> None:
    responses.get(PD_URL, json=body)
    answer = resolver().who(pd_spec(), NOW)
    assert answer.candidates == ("carol",)
    assert answer.source == "fallback"


@responses.activate
def test_pagerduty_non_json_falls_back() -> None:
    responses.get(PD_URL, body="<html>maintenance</html>", content_type="text/html")
    (note,) = resolver().who(pd_spec(), NOW).notes
    assert note.startswith("PagerDuty answered with something that is not JSON")


# --------------------------------------------------------------------------- Opsgenie


@pytest.mark.parametrize(
    ("region", "host"),
    [("us", "https://api.opsgenie.com"), ("eu", "https://api.eu.opsgenie.com")],
)
@responses.activate
def test_opsgenie_region_host_and_documented_request(region: str, host: str) -> None:
    responses.get(
        f"{host}/v2/schedules/search-primary/on-calls",
        match=[
            matchers.query_param_matcher({"scheduleIdentifierType": "name", "flat": "true"}),
            matchers.header_matcher({"Authorization": "GenieKey og-key"}),
        ],
        json=OG_BODY,
    )
    answer = resolver().who(og_spec(region), NOW)
    assert answer.candidates == ("user4", "dave")
    assert answer.source == "opsgenie"
    assert answer.notes == ()


@responses.activate
def test_opsgenie_url_override_and_schedule_name_escaping() -> None:
    responses.get("http://127.0.0.1:9/og/v2/schedules/Search%20Primary%2FEU/on-calls", json=OG_BODY)
    env = {"OPSGENIE_API_KEY": "og-key", "OPSGENIE_API_URL": "http://127.0.0.1:9/og"}
    answer = resolver(env).who(og_spec("eu", schedule="Search Primary/EU"), NOW)
    assert answer.candidates == ("user4", "dave")


@responses.activate
def test_opsgenie_down_falls_back() -> None:
    responses.get("https://api.opsgenie.com/v2/schedules/search-primary/on-calls", status=502)
    answer = resolver().who(og_spec(), NOW)
    assert answer.candidates == ("dave",)
    assert answer.notes == ("Opsgenie could not be reached (HTTP 502); using the service's fallback.",)


@responses.activate
def test_opsgenie_nobody_on_call() -> None:
    body = copy.deepcopy(OG_BODY)
    body["data"]["onCallRecipients"] = []  # type: ignore[index]
    responses.get("https://api.opsgenie.com/v2/schedules/search-primary/on-calls", json=body)
    (note,) = resolver().who(og_spec(), NOW).notes
    assert note == ("Opsgenie lists nobody on call for schedule 'search-primary'; using the service's fallback.")


def test_opsgenie_missing_key() -> None:
    with responses.RequestsMock():
        answer = resolver({}).who(og_spec(), NOW)
    assert answer.candidates == ("dave",)
    assert answer.notes[0].startswith("OPSGENIE_API_KEY is not set")


@responses.activate
def test_opsgenie_unmapped_email() -> None:
    responses.get("https://api.opsgenie.com/v2/schedules/search-primary/on-calls", json=OG_BODY)
    answer = resolver(people={}).who(og_spec(), NOW)
    assert answer.candidates == ("dave",)
    assert "user4@opsgenie.com" in answer.notes[0]


def test_resolver_maps_people_case_insensitively() -> None:
    r = OncallResolver({"Earline@Graham.Name": "earline"}, {})
    assert r._people == {"earline@graham.name": "earline"}


def test_provider_failures_are_oncall_errors() -> None:
    from liver_gh.adapters.oncall import _ProviderFailure

    assert issubclass(_ProviderFailure, OncallError)
