"""The rotation job and the PAT API it relies on, against a running iscmock."""

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import requests

from conftest import ALICE_CLIENT_ID, ALICE_ID, ALICE_SECRET, BOB_CLIENT_ID, BOB_ID, BOB_SECRET
from rotation import AccessDenied, parse_time, rotate

API = "/v3/personal-access-tokens"
MS = timedelta(milliseconds=1)  # ISC's times are in milliseconds, the mock's clock in nanoseconds


def api(tenant, method, bearer, path=API, **kw):
    return requests.request(method, tenant.url + path, headers={"Authorization": "Bearer " + bearer},
                            timeout=10, **kw)


def create(tenant, bearer, name):
    r = api(tenant, "POST", bearer, json={"name": name})
    assert r.status_code == 200, r.text  # ISC answers a create with 200, not 201
    return r.json()


def no_sleep(seconds):
    raise AssertionError(f"the job slept {seconds}s without being throttled")


def test_create_list_delete(tenant):
    alice = tenant.bearer(ALICE_CLIENT_ID, ALICE_SECRET)

    made = create(tenant, alice, "deploy-bot")
    assert made["name"] == "deploy-bot"
    assert made["owner"] == {"type": "IDENTITY", "id": ALICE_ID, "name": "Alice Admin"}
    assert tenant.start <= parse_time(made["created"]) <= tenant.now(), "created on the tenant's clock"
    assert len(made["secret"]) == 64
    tenant.bearer(made["id"], made["secret"])  # the new PAT signs in

    r = api(tenant, "GET", alice, params={"owner-id": "me"})
    assert r.status_code == 200, r.text
    listed = {t["id"]: t for t in r.json()}
    assert set(listed) == {ALICE_CLIENT_ID, made["id"]}
    assert "secret" not in listed[made["id"]], "a secret is shown at creation only"

    r = api(tenant, "DELETE", alice, path=f"{API}/{made['id']}")
    assert (r.status_code, r.content) == (204, b"")
    assert api(tenant, "DELETE", alice, path=f"{API}/{made['id']}").status_code == 404

    assert [t["id"] for t in api(tenant, "GET", alice, params={"owner-id": "me"}).json()] == [ALICE_CLIENT_ID]
    assert [p["id"] for p in tenant.pats(owner=ALICE_ID)] == [ALICE_CLIENT_ID]


def test_job_deletes_tokens_unused_for_a_day(tenant):
    alice = tenant.bearer(ALICE_CLIENT_ID, ALICE_SECRET)
    create(tenant, alice, "old-unused")
    active = create(tenant, alice, "active")

    later = tenant.advance_clock("25h")  # a day and an hour later, without waiting for it
    # Alice's bearer token lasted 12 hours, of the mock's clock too.
    assert api(tenant, "POST", alice, json={"name": "too-late"}).status_code == 401
    alice = tenant.bearer(ALICE_CLIENT_ID, ALICE_SECRET)
    create(tenant, alice, "fresh-unused")
    tenant.bearer(active["id"], active["secret"])  # using a PAT sets its lastUsed
    (used,) = [p for p in tenant.pats(owner=ALICE_ID) if p["name"] == "active"]
    assert later - MS <= parse_time(used["lastUsed"]) <= tenant.now(), used

    names = {p["id"]: p["name"] for p in tenant.pats()}
    before = tenant.now()
    result = rotate(tenant.url, ALICE_CLIENT_ID, ALICE_SECRET, new_token_name="ci-rotated",
                    stale_after=timedelta(days=1), now=tenant.now, sleep=no_sleep)
    after = tenant.now()

    # Never used and a day old, or last used months ago (the fixtures' Bob and Carol).
    assert {names[i] for i in result.deleted} == {"old-unused", "Local development", "Audit export"}
    # Kept: the job's own PAT, one used just now, one too new to judge, the managed one, the new one.
    assert {p["name"] for p in tenant.pats()} == {
        "CI pipeline", "active", "fresh-unused", "Workflow: onboarding", "ci-rotated"}
    assert result.new_token_id in {p["id"] for p in tenant.pats(owner=ALICE_ID)}
    tenant.bearer(result.new_token_id, result.new_token_secret)

    # The cutoff came from the mock's clock (injected), not the machine's.
    (listed,) = tenant.journal("listPersonalAccessTokens")
    filters = parse_qs(listed["query"])["filters"][0]
    assert filters.startswith("lastUsed le ") and filters.endswith(" or lastUsed isnull"), filters
    cutoff = parse_time(filters.split()[2])
    assert before - timedelta(days=1) - MS <= cutoff <= after - timedelta(days=1)


THROTTLE_FIRST_LIST = """
name: throttle-first-list
rules:
  - name: list-429
    match: {operation: listPersonalAccessTokens}
    when: {calls: [1]}
    respond: {status: 429, headers: {Retry-After: "2"}}
"""


def test_job_waits_out_a_429(tenant):
    tenant.load_scenario(THROTTLE_FIRST_LIST)
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        tenant.advance_clock(f"{seconds}s")  # the wait passes on the mock's clock, at once

    result = rotate(tenant.url, ALICE_CLIENT_ID, ALICE_SECRET, new_token_name="ci-rotated",
                    owner_id="me", now=tenant.now, sleep=sleep)

    assert slept == [2]
    rules = {r["name"]: (r["matched"], r["fired"]) for r in tenant.scenario()["rules"]}
    assert rules == {"list-429": (2, 1)}, "one list throttled, its retry served"
    assert [(e["status"], e["rule"]) for e in tenant.journal("listPersonalAccessTokens")] == [
        (429, "list-429"), (200, "")]
    assert [p["name"] for p in tenant.pats(owner=ALICE_ID)] == ["CI pipeline", "ci-rotated"]
    assert result.deleted == []


def test_end_user_listing_every_token_is_refused(tenant):
    bob = tenant.bearer(BOB_CLIENT_ID, BOB_SECRET)
    r = api(tenant, "GET", bob)  # no owner-id: every owner's tokens
    assert r.status_code == 403
    body = r.json()
    assert body["detailCode"] == "403 Forbidden"
    assert body["trackingId"] == r.headers["SLPT-Request-ID"]
    assert body["messages"][0]["locale"] == "en-US"

    with pytest.raises(AccessDenied) as refused:
        rotate(tenant.url, BOB_CLIENT_ID, BOB_SECRET, new_token_name="bob-rotated", now=tenant.now, sleep=no_sleep)
    assert refused.value.status == 403
    assert refused.value.body["detailCode"] == "403 Forbidden"
    message = str(refused.value)
    assert message.startswith(f"GET {API}: HTTP 403: 403 Forbidden")
    assert "owner_id='me'" in message, "the error says how to run it instead"
    # It failed before creating anything.
    assert {p["name"] for p in tenant.pats(owner=BOB_ID)} == {"Local development", "Workflow: onboarding"}

    # As the hint says, Bob may rotate and clean up his own tokens.
    result = rotate(tenant.url, BOB_CLIENT_ID, BOB_SECRET, new_token_name="bob-rotated", owner_id="me",
                    now=tenant.now, sleep=no_sleep)
    assert {p["name"] for p in tenant.pats(owner=BOB_ID)} == {"Local development", "Workflow: onboarding",
                                                              "bob-rotated"}
    assert result.deleted == []


@pytest.mark.parametrize("filters, detail_code, mentions", [
    ("lastUsed gt 2026-11-01T00:00:00Z", "400.1.3 Illegal value", '"gt"'),  # parses, but ISC supports le and isnull
    ("lastUsed le", "400.1 Bad Request Content", "position 12"),  # a syntax error, located
])
def test_bad_filter_is_a_400(tenant, filters, detail_code, mentions):
    alice = tenant.bearer(ALICE_CLIENT_ID, ALICE_SECRET)
    r = api(tenant, "GET", alice, params={"filters": filters})
    assert r.status_code == 400
    body = r.json()
    assert body["detailCode"] == detail_code
    assert mentions in body["messages"][0]["text"]
    (entry,) = tenant.journal("listPersonalAccessTokens")
    assert (entry["status"], entry["identityId"], entry["requestId"]) == (400, ALICE_ID, body["trackingId"])
