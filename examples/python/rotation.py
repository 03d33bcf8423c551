"""A PAT rotation and clean-up job for SailPoint Identity Security Cloud.

It signs in with a personal access token, creates a fresh token (the caller stores its secret
somewhere safe), and deletes every token nobody has used for `stale_after`. It works against a
real tenant or iscmock alike: only the base URL differs.

    result = rotate("https://acme.api.identitynow.com", client_id, client_secret,
                    new_token_name="ci-2026-12", stale_after=timedelta(days=90))
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

import requests

API = "/v3/personal-access-tokens"


class ISCError(Exception):
    """An answer the job cannot go on from; keeps the status and body for the log."""

    def __init__(self, method: str, path: str, response: requests.Response, hint: str = ""):
        self.status = response.status_code
        try:
            self.body = response.json()
        except ValueError:
            self.body = response.text
        msg = f"{method} {path}: HTTP {self.status}"
        if detail := _describe(self.body):
            msg += f": {detail}"
        if hint:
            msg += f" Hint: {hint}"
        super().__init__(msg)


class AccessDenied(ISCError):
    """403: the PAT's owner lacks a right (or the PAT a scope) the job needs."""


class StillThrottled(ISCError):
    """429 on every attempt."""


def _describe(body) -> str:
    if not isinstance(body, dict):
        return str(body)[:200]
    # ISC's errors: ErrorResponseDto (detailCode, messages), OAuth's (error, error_description), 429's (message).
    texts = [m.get("text") for m in body.get("messages") or [] if m.get("localeOrigin") == "DEFAULT"]
    parts = [body.get("detailCode") or body.get("error") or (body.get("message") or "").strip(),
             texts[0] if texts else body.get("error_description")]
    msg = ": ".join(p for p in parts if p)
    return f"{msg} (trackingId {body['trackingId']})" if body.get("trackingId") else msg


def format_time(t: datetime) -> str:
    # ISC's form: UTC with milliseconds. Filters take dates unquoted.
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(s: str) -> datetime:
    # A UTC time ending in Z, with any number of fractional digits (cut to microseconds), on any Python 3.9+.
    head, _, frac = s.removesuffix("Z").partition(".")
    return datetime.fromisoformat(head).replace(tzinfo=timezone.utc, microsecond=int(frac[:6].ljust(6, "0")))


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class RotationResult:
    new_token_id: str
    new_token_secret: str
    deleted: list[str] = field(default_factory=list)  # ids, in the order deleted


class Client:
    """Just enough of the PAT API: bearer token, JSON, and retries on 429."""

    def __init__(self, base_url: str, *, sleep: Callable[[float], None] = time.sleep,
                 max_attempts: int = 5, timeout: float = 30, session: Optional[requests.Session] = None):
        self.base_url = base_url.rstrip("/")
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.http = session or requests.Session()

    def request(self, method: str, path: str, **kw) -> requests.Response:
        attempt = 1
        while True:
            r = self.http.request(method, self.base_url + path, timeout=self.timeout, **kw)
            if r.status_code != 429:
                return r
            if attempt == self.max_attempts:
                raise StillThrottled(method, path, r, f"the tenant is busy; gave up after {attempt} attempts.")
            self.sleep(_retry_after(r))
            attempt += 1

    def sign_in(self, client_id: str, client_secret: str) -> None:
        r = self.request("POST", "/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret})
        if r.status_code != 200:
            raise ISCError("POST", "/oauth/token", r, "check the PAT's client id and secret, and that it has not expired.")
        self.http.headers["Authorization"] = "Bearer " + r.json()["access_token"]

    def call(self, method: str, path: str, expect: tuple[int, ...], **kw) -> requests.Response:
        r = self.request(method, path, **kw)
        if r.status_code in expect:
            return r
        if r.status_code == 403:
            raise AccessDenied(method, path, r, _HINTS.get(method, ""))
        raise ISCError(method, path, r)


_HINTS = {
    "GET": "listing every owner's tokens needs idn:all-personal-access-tokens:read (an org admin); "
           "run with owner_id='me' to clean up only the PAT owner's own tokens.",
    "POST": "creating a token needs a scope that allows it (sp:scopes:all or sp:my-personal-access-tokens:manage).",
    "DELETE": "deleting another owner's token needs idn:all-personal-access-tokens:manage.",
}


def _retry_after(r: requests.Response) -> float:
    # ISC sends whole seconds; anything unreadable gets a short pause rather than a crash.
    try:
        return max(0.0, float(r.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def rotate(base_url: str, client_id: str, client_secret: str, *, new_token_name: str,
           stale_after: timedelta = timedelta(days=90), owner_id: Optional[str] = None,
           now: Callable[[], datetime] = _utcnow, sleep: Callable[[float], None] = time.sleep,
           session: Optional[requests.Session] = None) -> RotationResult:
    """Create a token named new_token_name and delete the tokens unused for stale_after.

    owner_id: None cleans up every owner's tokens (needs an org admin's PAT), "me" or an id one
    owner's. Managed tokens and the PAT the job signs in with are never deleted; a token never used
    counts as stale only once it is older than stale_after.
    """
    api = Client(base_url, sleep=sleep, session=session)
    api.sign_in(client_id, client_secret)

    # Find the stale tokens before changing anything, so that a PAT lacking rights leaves no new token behind.
    cutoff = now() - stale_after
    params = {"filters": f"lastUsed le {format_time(cutoff)} or lastUsed isnull"}
    if owner_id:
        params["owner-id"] = owner_id
    candidates = api.call("GET", API, (200,), params=params).json()
    # Never the PAT signing in: lastUsed moves at most once a day, so it may look stale while in use.
    stale = [t for t in candidates
             if not t.get("managed") and t["id"] != client_id
             and (t.get("lastUsed") is not None or parse_time(t["created"]) <= cutoff)]

    created = api.call("POST", API, (200,), json={"name": new_token_name}).json()
    result = RotationResult(new_token_id=created["id"], new_token_secret=created["secret"])

    for t in stale:
        # 404: someone else removed it meanwhile, which is what we wanted.
        if api.call("DELETE", f"{API}/{t['id']}", (204, 404)).status_code == 204:
            result.deleted.append(t["id"])
    return result
