"""Fixtures: the running iscmock, and a tenant of its own for each test."""

import os
import re
import uuid
from datetime import datetime

import pytest
import requests

from rotation import parse_time

# The default tenant's credentials (fixtures/default.yaml). Every /tenants/NAME starts from them.
ALICE_ID = "2c9180867b50d088017b554662fb281e"  # Alice Admin, ORG_ADMIN
ALICE_CLIENT_ID = "86f1dc6fe8f54414950454cbb11278fa"  # her PAT "CI pipeline"
ALICE_SECRET = "1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9"
BOB_ID = "2c9180867b50d088017b554662fb282f"  # Bob Builder, end user
BOB_CLIENT_ID = "348aa283bdc67879ef654fb8906f6f35"  # his PAT "Local development": 1 h bearer tokens, expires 2027-09-02
BOB_SECRET = "f9c1fa39cb546fe1d7417123a7e9139ff21ef5ebaa12ba9b08f7fd4e4b249398"

# Fixture dates are absolute and a tenant's clock starts at the real time, so each test starts its
# tenant here: after every fixture date and before Bob's PAT expires, whatever day CI runs.
START = "2026-12-01T00:00:00Z"

TIMEOUT = 10


class Tenant:
    """An isolated tenant at /tenants/NAME and its admin API."""

    def __init__(self, root: str, name: str, admin_token: str):
        self.root, self.name = root, name
        self.url = f"{root}/tenants/{name}"
        self.admin = requests.Session()
        if admin_token:  # a server started with --admin-token
            self.admin.headers["Authorization"] = "Bearer " + admin_token

    def _admin(self, method, path, expect, **kw):
        r = self.admin.request(method, f"{self.url}/__admin{path}", timeout=TIMEOUT, **kw)
        assert r.status_code == expect, f"{method} /__admin{path}: {r.status_code} {r.text}"
        return r

    def set_clock(self, when: str) -> datetime:
        return parse_time(self._admin("POST", "/clock", 200, json={"set": when}).json()["now"])

    def advance_clock(self, by: str) -> datetime:
        return parse_time(self._admin("POST", "/clock", 200, json={"advance": by}).json()["now"])

    def now(self) -> datetime:
        return parse_time(self._admin("GET", "/clock", 200).json()["now"])

    def load_scenario(self, text: str) -> None:
        self._admin("PUT", "/scenario", 204, data=text.encode(), headers={"Content-Type": "application/yaml"})

    def scenario(self) -> dict:
        return self._admin("GET", "/scenario", 200).json()

    def pats(self, **params) -> list:
        return self._admin("GET", "/pats", 200, params=params).json()

    def journal(self, *operations: str) -> list:
        return self._admin("GET", "/requests", 200, params={"operation": list(operations)}).json()

    def bearer(self, client_id: str, secret: str) -> str:
        """Exchange a PAT at /oauth/token, as any client does (it sets the PAT's lastUsed)."""
        r = requests.post(f"{self.url}/oauth/token", timeout=TIMEOUT, data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def drop(self) -> None:
        # Frees the slot (--max-tenants, 100 by default) on a server other jobs share.
        r = self.admin.delete(f"{self.root}/__admin/tenants/{self.name}", timeout=TIMEOUT)
        assert r.status_code in (204, 404), r.text


@pytest.fixture(scope="session")
def base_url() -> str:
    url = os.environ.get("ISCMOCK_URL", "http://127.0.0.1:8080").rstrip("/")
    try:
        requests.get(f"{url}/__admin/health", timeout=TIMEOUT).raise_for_status()
    except requests.RequestException as e:
        pytest.exit(f"no iscmock at {url} (set ISCMOCK_URL, start `iscmock serve`): {e}", returncode=2)
    return url


@pytest.fixture
def tenant(base_url, request) -> Tenant:
    # A name per test and run, so tests share nothing and CI jobs on one server do not collide.
    stem = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:50]
    t = Tenant(base_url, f"{stem}-{uuid.uuid4().hex[:8]}", os.environ.get("ISCMOCK_ADMIN_TOKEN", ""))
    t.start = t.set_clock(START)  # the first admin call makes the tenant
    yield t
    t.drop()
