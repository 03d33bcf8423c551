// Drives a running iscmock through SailPoint's official TypeScript SDK (sailpoint-api-client), as a
// real integration would. ISCMOCK_URL is the server's base URL; the server runs tenant.yaml with
// throttle.yaml. Run by mock/sdk_test.go (ISCMOCK_SDK_E2E=1).
"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const sdk = require("sailpoint-api-client");

const base = process.env.ISCMOCK_URL;
if (!base) {
  console.error("ISCMOCK_URL is not set");
  process.exit(2);
}

const ADMIN = { id: "e2e00000000000000000000000000001", secret: "e2e0000000000000000000000000000000000000000000000000000000000001" };
const RETRY = { id: "e2e00000000000000000000000000002", secret: "e2e0000000000000000000000000000000000000000000000000000000000002" };
const NARROW = { id: "e2e00000000000000000000000000003", secret: "e2e0000000000000000000000000000000000000000000000000000000000003" };

function configuration(pat) {
  return new sdk.Configuration({ baseurl: base, clientId: pat.id, clientSecret: pat.secret, tokenUrl: `${base}/oauth/token` });
}

// The three versions the SDK serves PATs in, each with its own class and parameter names.
const versions = [
  { name: "v3", Api: sdk.PersonalAccessTokensApi, create: "createPersonalAccessTokenRequest", patch: "jsonPatchOperation" },
  { name: "beta", Api: sdk.PersonalAccessTokensBetaApi, create: "createPersonalAccessTokenRequestBeta", patch: "jsonPatchOperationBeta" },
  { name: "v2024", Api: sdk.PersonalAccessTokensV2024Api, create: "createPersonalAccessTokenRequestV2024", patch: "jsonPatchOperationV2024" },
];

// rejects asserts that a call fails as an HTTP error with the status and ISC's detailCode.
async function rejects(promise, status, detailCode) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.response?.status, status, `status of ${err.message}`);
    if (detailCode) {
      assert.equal(err.response.data.detailCode, detailCode);
      assert.match(err.response.data.trackingId, /^[0-9a-f]{32}$/);
    }
    return true;
  });
}

for (const v of versions) {
  test(`${v.name}: create, list, patch, delete`, async () => {
    const api = new v.Api(configuration(ADMIN));
    const created = await api.createPersonalAccessToken({ [v.create]: { name: `sdk ${v.name}`, scope: ["sp:scopes:all"], accessTokenValiditySeconds: 3600 } });
    assert.equal(created.status, 200);
    assert.match(created.data.id, /^[0-9a-f]{32}$/);
    assert.match(created.data.secret, /^[0-9a-f]{64}$/);
    assert.equal(created.data.name, `sdk ${v.name}`);
    assert.equal(created.data.owner.name, "Sam Admin");
    assert.equal(created.data.accessTokenValiditySeconds, 3600);
    const id = created.data.id;

    const mine = await api.listPersonalAccessTokens({ ownerId: "me" });
    assert.ok(mine.data.some((p) => p.id === id), "owner-id=me lists the new token");
    assert.ok(mine.data.every((p) => p.secret === undefined), "no secret is listed");

    const unused = await api.listPersonalAccessTokens({ ownerId: "2c9180867b50d088017b554662fe0001", filters: "lastUsed isnull" });
    assert.ok(unused.data.some((p) => p.id === id), "a new token was never used");
    const stale = await api.listPersonalAccessTokens({ filters: "lastUsed le 2000-01-01T00:00:00.000Z" });
    assert.equal(stale.data.length, 0);

    const patched = await api.patchPersonalAccessToken({ id, [v.patch]: [{ op: "replace", path: "/name", value: `renamed ${v.name}` }] });
    assert.equal(patched.status, 200);
    assert.equal(patched.data.name, `renamed ${v.name}`);

    const deleted = await api.deletePersonalAccessToken({ id });
    assert.equal(deleted.status, 204);
    const after = await api.listPersonalAccessTokens({ ownerId: "me" });
    assert.ok(!after.data.some((p) => p.id === id), "the deleted token is gone");
  });

  test(`${v.name}: 400, 403 and 404 surface as errors with status and body`, async () => {
    const admin = new v.Api(configuration(ADMIN));
    await rejects(admin.createPersonalAccessToken({ [v.create]: { name: "bad", accessTokenValiditySeconds: 5 } }), 400, "400.1.3 Illegal value");
    await rejects(admin.listPersonalAccessTokens({ filters: "name eq \"x\"" }), 400, "400.1.3 Illegal value");
    await rejects(admin.patchPersonalAccessToken({ id: "ffffffffffffffffffffffffffffffff", [v.patch]: [{ op: "replace", path: "/name", value: "x" }] }), 404, "404 Not found");
    await rejects(admin.deletePersonalAccessToken({ id: "ffffffffffffffffffffffffffffffff" }), 404, "404 Not found");

    const narrow = new v.Api(configuration(NARROW));
    await rejects(narrow.listPersonalAccessTokens({}), 403, "403 Forbidden");
    await rejects(narrow.createPersonalAccessToken({ [v.create]: { name: "not allowed" } }), 403, "403 Forbidden");
    await rejects(narrow.deletePersonalAccessToken({ id: ADMIN.id }), 403, "403 Forbidden");
  });
}

test("a tool with a vanity URL finds the token endpoint at /oauth/info", async () => {
  // The SDK has no call for /oauth/info: read it as such tools do, then configure the SDK from it.
  const res = await fetch(`${base}/oauth/info`);
  assert.equal(res.status, 200);
  const info = await res.json();
  assert.deepEqual(Object.keys(info), ["tenantId", "tenantName", "authorizeEndpoint", "tokenEndpoint", "cloudDomainUrl", "logoutUrl", "pod"]);
  assert.equal(info.tokenEndpoint, `${base}/oauth/token`);
  const config = new sdk.Configuration({ baseurl: info.cloudDomainUrl, clientId: ADMIN.id, clientSecret: ADMIN.secret, tokenUrl: info.tokenEndpoint });
  const mine = await new sdk.PersonalAccessTokensApi(config).listPersonalAccessTokens({ ownerId: "me" });
  assert.equal(mine.status, 200);
});

test("the SDK's retry config gets through a scripted 429 by honouring Retry-After", async () => {
  const config = configuration(RETRY);
  const waits = [];
  config.retriesConfig = {
    retries: 3,
    retryCondition: (err) => err.response?.status === 429,
    retryDelay: (count, err) => {
      const seconds = Number(err.response.headers["retry-after"]);
      waits.push(seconds);
      return seconds * 1000;
    },
  };
  const api = new sdk.PersonalAccessTokensApi(config);
  const res = await api.listPersonalAccessTokens({ ownerId: "me" });
  assert.equal(res.status, 200);
  assert.deepEqual(waits, [1], "one 429, with Retry-After: 1");
  assert.deepEqual(res.data.map((p) => p.name), ["retry"]);
});
