// @ts-check
// The rotation job against a running iscmock (ISCMOCK_URL, default http://127.0.0.1:8080). Each test works in
// a tenant of its own at ${ISCMOCK_URL}/tenants/<random name>, set up and inspected through the admin API, and
// dropped at the end, so tests neither see each other nor fill the server's tenant slots.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { execFile } from "node:child_process";
import { inspect, promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { rotate, retryAfterMs, RotationError } from "./rotation.js";

const server = (process.env.ISCMOCK_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
const adminToken = process.env.ISCMOCK_ADMIN_TOKEN; // when the server runs with --admin-token

// The default tenant (fixtures/default.yaml): an org admin and an end user, each with a PAT.
const ALICE = { identity: "2c9180867b50d088017b554662fb281e", id: "86f1dc6fe8f54414950454cbb11278fa", secret: "1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9" };
const BOB = { identity: "2c9180867b50d088017b554662fb282f", id: "348aa283bdc67879ef654fb8906f6f35", secret: "f9c1fa39cb546fe1d7417123a7e9139ff21ef5ebaa12ba9b08f7fd4e4b249398" };

const DAY = 24 * 3600 * 1000;
const T0 = "2026-12-01T12:00:00Z"; // every test but the CLI's starts its tenant's clock here: fixture dates are absolute

/**
 * @typedef {{id: string, name: string, owner: string, created: string, lastUsed: string | null, managed: boolean}} AdminPat
 * @typedef {{seq: number, time: string, method: string, path: string, query: string, operation: string, status: number, identityId: string, rule: string, requestId: string}} JournalEntry
 */

/**
 * Calls the admin API and asserts the status.
 * @param {string} base a tenant's URL
 * @param {string} method
 * @param {string} path under /__admin
 * @param {unknown} [body] sent as JSON
 * @param {number} [want]
 * @returns {Promise<any>} the parsed answer, if any
 */
async function admin(base, method, path, body, want = 200) {
  /** @type {Record<string, string>} */
  const headers = { "Content-Type": "application/json" };
  if (adminToken) headers.Authorization = `Bearer ${adminToken}`;
  const res = await fetch(`${base}/__admin${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  assert.equal(res.status, want, `${method} ${base}/__admin${path}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * A tenant of its own for the test t, its clock set to T0 unless told otherwise.
 * @param {import("node:test").TestContext} t
 * @param {{clock?: boolean}} opts
 * @returns {Promise<{url: string, name: string, now: Date}>} now: the tenant's clock
 */
async function freshTenant(t, { clock = true } = {}) {
  const name = `ts-example-${randomUUID()}`;
  const url = `${server}/tenants/${name}`;
  t.after(() => admin(server, "DELETE", `/tenants/${name}`, undefined, 204));
  const { now } = clock ? await admin(url, "POST", "/clock", { set: T0 }) : await admin(url, "GET", "/clock");
  return { url, name, now: new Date(now) };
}

/**
 * @param {string} url
 * @param {string} owner
 * @returns {Promise<AdminPat[]>} oldest first
 */
const patsOf = (url, owner) => admin(url, "GET", `/pats?owner=${owner}`);

/**
 * @param {string} url
 * @returns {Promise<JournalEntry[]>} the tenant's API requests, oldest first
 */
const journal = (url) => admin(url, "GET", "/requests");

/** @param {JournalEntry[]} entries */
const calls = (entries) => entries.map((e) => `${e.method} ${e.operation} ${e.status}`);

/**
 * A fixture token of Alice's (or another owner's) for POST /__admin/fixtures.
 * @param {number} n makes the id and secret
 * @param {string} name
 * @param {string} created
 * @param {string | null} lastUsed
 * @param {{owner?: string, managed?: boolean}} more
 */
function seedToken(n, name, created, lastUsed, { owner = ALICE.identity, managed = false } = {}) {
  const hex = n.toString(16).padStart(4, "0");
  return { id: `5eed${"0".repeat(24)}${hex}`, secret: `5eed${"0".repeat(56)}${hex}`, name, owner, created, lastUsed, managed };
}

/** @param {number} n */
const seedId = (n) => seedToken(n, "", "", null).id;

/** @param {string} url @param {{id: string, secret: string}} pat */
function job(url, pat) {
  return { baseUrl: url, clientId: pat.id, clientSecret: pat.secret };
}

before(async () => {
  const res = await fetch(`${server}/__admin/health`).catch((err) => {
    throw new Error(`no iscmock answers at ${server} (${err.cause?.code ?? err.cause?.message ?? err.message}): start \`iscmock serve\` or the container, or set ISCMOCK_URL`);
  });
  assert.equal(res.status, 200, `${server}/__admin/health`);
});

test("rotation creates a token and deletes only the owner's stale ones", async (t) => {
  const { url, now } = await freshTenant(t);
  await admin(url, "POST", "/fixtures", {
    personalAccessTokens: [
      seedToken(1, "used long ago", "2026-06-01T00:00:00Z", "2026-09-15T08:00:00Z"),
      seedToken(2, "never used, old", "2026-10-01T00:00:00Z", null),
      seedToken(3, "used last week", "2026-06-01T00:00:00Z", "2026-11-24T08:00:00Z"),
      seedToken(4, "never used, new", "2026-11-28T00:00:00Z", null),
      seedToken(5, "Workflow: nightly", "2026-02-01T00:00:00Z", null, { managed: true }),
    ],
  }, 204);

  const result = await rotate({ ...job(url, ALICE), now, maxIdleMs: 30 * DAY, name: "ci rotation" });

  assert.match(result.created.id, /^[0-9a-f]{32}$/);
  assert.match(result.created.secret, /^[0-9a-f]{64}$/);
  assert.equal(result.created.name, "ci rotation");
  assert.equal(result.created.owner.id, ALICE.identity);
  assert.deepEqual(result.deleted.map((p) => p.name), ["used long ago", "never used, old"]);
  assert.deepEqual(result.retries, []);

  // The request the SDK sent, as the server saw it.
  const log = await journal(url);
  assert.deepEqual(calls(log), [
    "POST token 200",
    "GET listPersonalAccessTokens 200",
    "POST createPersonalAccessToken 200",
    "DELETE deletePersonalAccessToken 204",
    "DELETE deletePersonalAccessToken 204",
  ]);
  const query = new URLSearchParams(log[1].query);
  assert.equal(query.get("owner-id"), "me");
  assert.equal(query.get("filters"), `lastUsed le ${new Date(now.getTime() - 30 * DAY).toISOString()} or lastUsed isnull`);

  // Kept: the job's own token, recent ones, a never-used one younger than the cutoff, the managed one.
  const names = (await patsOf(url, ALICE.identity)).map((p) => p.name).sort();
  assert.deepEqual(names, ["CI pipeline", "Workflow: nightly", "ci rotation", "never used, new", "used last week"]);
  assert.equal((await patsOf(url, BOB.identity)).length, 2, "another owner's tokens are not touched");

  // The new secret works.
  const res = await fetch(`${url}/oauth/token`, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: result.created.id, client_secret: result.created.secret }),
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).identity_id, ALICE.identity);
});

test("each run authenticates with the token the last one made, and the old one goes a day later", async (t) => {
  const { url, now: t0 } = await freshTenant(t);
  const maxIdleMs = DAY;

  const run1 = await rotate({ ...job(url, ALICE), now: t0, maxIdleMs });
  assert.equal(run1.created.name, `rotated ${t0.toISOString()}`);
  assert.deepEqual(run1.deleted, [], "the job's own token was just used");

  // 25 hours on the mock clock, no sleeping: the fixture token, last used by run 1, is now stale.
  const t1 = new Date((await admin(url, "POST", "/clock", { advance: "25h" })).now);
  const run2 = await rotate({ ...job(url, run1.created), now: t1, maxIdleMs });
  assert.deepEqual(run2.deleted.map((p) => p.id), [ALICE.id]);
  const lastUsed = Date.parse(run2.deleted[0].lastUsed ?? "");
  assert.ok(lastUsed >= t0.getTime() && lastUsed < t0.getTime() + 60_000, `last used by run 1, at ${run2.deleted[0].lastUsed}`);

  const t2 = new Date((await admin(url, "POST", "/clock", { advance: "25h" })).now);
  const run3 = await rotate({ ...job(url, run2.created), now: t2, maxIdleMs });
  assert.deepEqual(run3.deleted.map((p) => p.id), [run1.created.id]);

  assert.deepEqual((await patsOf(url, ALICE.identity)).map((p) => p.id), [run2.created.id, run3.created.id]);
});

test("the job never deletes the token it runs as, whose lastUsed moves only once a day", async (t) => {
  const { url, now: t0 } = await freshTenant(t);
  const maxIdleMs = 3600 * 1000; // shorter than a day: the job's own token looks stale to the filter

  const run1 = await rotate({ ...job(url, ALICE), now: t0, maxIdleMs });
  const t1 = new Date((await admin(url, "POST", "/clock", { advance: "12h" })).now);
  const run2 = await rotate({ ...job(url, ALICE), now: t1, maxIdleMs });

  // Run 2's exchange left lastUsed at run 1's time, which the filter matches; the job skipped it all the same.
  const cutoff = new Date(t1.getTime() - maxIdleMs).toISOString();
  const matched = await admin(url, "GET", `/pats?owner=${ALICE.identity}&filters=${encodeURIComponent(`lastUsed le ${cutoff}`)}`);
  assert.deepEqual(matched.map((/** @type {AdminPat} */ p) => p.id), [ALICE.id], "the filter matches the job's own token");
  const own = (await patsOf(url, ALICE.identity)).find((p) => p.id === ALICE.id);
  assert.ok(own, "the job's own token is kept");
  assert.ok(own.lastUsed && Date.parse(own.lastUsed) < t0.getTime() + 60_000, `lastUsed ${own.lastUsed} is still run 1's`);
  assert.deepEqual(run2.deleted.map((p) => p.id), [run1.created.id], "only run 1's never-used token went");
});

test("a 429 is retried after the server's Retry-After, through the SDK's retry configuration", async (t) => {
  const { url, name } = await freshTenant(t);
  await admin(url, "PUT", "/scenario", {
    name: "throttle-first-list",
    rules: [{
      name: "first-list-429",
      match: { operation: "listPersonalAccessTokens" },
      when: { calls: [1] },
      respond: { status: 429, headers: { "Retry-After": "1" } },
    }],
  }, 204);

  const started = performance.now();
  const result = await rotate({ ...job(url, ALICE), maxIdleMs: 30 * DAY });
  const elapsed = performance.now() - started;

  assert.deepEqual(result.retries, [{ method: "GET", path: `/tenants/${name}/v3/personal-access-tokens`, status: 429, attempt: 1, waitMs: 1000 }]);
  assert.ok(elapsed >= 1000, `the job took ${elapsed.toFixed(0)} ms, less than the 1 s Retry-After`);

  const scenario = await admin(url, "GET", "/scenario");
  assert.deepEqual(scenario.rules, [{ name: "first-list-429", matched: 2, fired: 1 }]);
  const lists = (await journal(url)).filter((e) => e.operation === "listPersonalAccessTokens");
  assert.deepEqual(lists.map((e) => [e.status, e.rule]), [[429, "first-list-429"], [200, ""]]);
  const gap = Date.parse(lists[1].time) - Date.parse(lists[0].time);
  assert.ok(gap >= 990, `the retry came ${gap} ms after the 429`); // server-side times, rounded to the ms
  assert.equal((await patsOf(url, ALICE.identity)).length, 2, "one token made, not one per attempt");
});

test("a 429 that does not relent stops the job with a clear error that still hands over the new token", async (t) => {
  const { url, now } = await freshTenant(t);
  await admin(url, "POST", "/fixtures", { personalAccessTokens: [seedToken(1, "stale", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")] }, 204);
  await admin(url, "PUT", "/scenario", {
    name: "deletes-throttled",
    rules: [{ name: "every-delete-429", match: { operation: "deletePersonalAccessToken" }, when: { from: 1 }, respond: { status: 429, headers: { "Retry-After": "0" } } }],
  }, 204);

  /** @type {unknown} */
  let caught;
  await assert.rejects(rotate({ ...job(url, ALICE), now, maxIdleMs: 30 * DAY, retries: 2 }), (err) => {
    caught = err;
    return err instanceof RotationError;
  });
  const err = /** @type {RotationError} */ (caught);
  assert.equal(err.step, "delete");
  assert.equal(err.status, 429);
  assert.match(err.message, new RegExp(`^deleting stale token ${seedId(1)} \\("stale"\\) was refused with 429: Rate Limit Exceeded \\[trackingId [0-9a-f]{32}\\]$`));
  assert.deepEqual(err.deleted, []);
  assert.ok(err.created, "the error carries the token made before the failure");
  assert.match(err.created.secret, /^[0-9a-f]{64}$/);
  assert.doesNotMatch(inspect(err), new RegExp(err.created.secret), "logging the error does not print the secret");

  const deletes = (await journal(url)).filter((e) => e.operation === "deletePersonalAccessToken");
  assert.deepEqual(calls(deletes), [
    "DELETE deletePersonalAccessToken 429",
    "DELETE deletePersonalAccessToken 429",
    "DELETE deletePersonalAccessToken 429",
  ], "the first try and two retries");
  assert.equal(err.trackingId, deletes[2].requestId, "the trackingId is the last attempt's");
  const ids = (await patsOf(url, ALICE.identity)).map((p) => p.id);
  assert.ok(ids.includes(err.created.id), "the new token exists");
  assert.ok(ids.includes(seedId(1)), "the stale token is still there");
});

test("an end user listing by identity id gets a clear 403 before anything is made; by \"me\" the job runs", async (t) => {
  const { url, now } = await freshTenant(t);

  /** @type {unknown} */
  let caught;
  await assert.rejects(rotate({ ...job(url, BOB), now, maxIdleMs: 30 * DAY, ownerId: BOB.identity }), (err) => {
    caught = err;
    return err instanceof RotationError;
  });
  const err = /** @type {RotationError} */ (caught);
  assert.equal(err.step, "list");
  assert.equal(err.status, 403);
  assert.equal(err.detailCode, "403 Forbidden");
  assert.match(err.message, new RegExp(`^listing the stale tokens of owner ${BOB.identity} was refused with 403: 403 Forbidden: `));
  assert.match(err.message, /needs idn:all-personal-access-tokens:read/);
  assert.equal(err.created, undefined);

  const log = await journal(url);
  assert.deepEqual(calls(log), ["POST token 200", "GET listPersonalAccessTokens 403"], "nothing created");
  assert.equal(log[1].identityId, BOB.identity);
  assert.equal(err.trackingId, log[1].requestId, "the error's trackingId finds the request in ISC's logs");
  assert.match(err.message, new RegExp(`\\[trackingId ${log[1].requestId}\\]$`));

  const result = await rotate({ ...job(url, BOB), now, maxIdleMs: 30 * DAY });
  assert.equal(result.created.owner.id, BOB.identity);
  // Bob's never-used managed token is not his to see, so not deleted; his own PAT was just used.
  assert.deepEqual(result.deleted, []);
  assert.deepEqual((await patsOf(url, BOB.identity)).map((p) => p.name), ["Local development", "Workflow: onboarding", result.created.name]);
});

test("a wrong secret fails at the token exchange, as its own step", async (t) => {
  const { url } = await freshTenant(t);
  t.mock.method(console, "error", () => {}); // the SDK prints "Unable to fetch access token" itself

  await assert.rejects(rotate({ ...job(url, { id: ALICE.id, secret: "0".repeat(64) }), maxIdleMs: DAY }), (err) => {
    assert.ok(err instanceof RotationError);
    assert.equal(err.step, "token");
    assert.match(err.message, new RegExp(`^token exchange at ${url}/oauth/token failed .*status code 401`));
    return true;
  });
  assert.deepEqual(calls(await journal(url)), ["POST token 401"]);
});

test("node rotation.js: the job from the command line", async (t) => {
  const { url } = await freshTenant(t, { clock: false }); // the CLI counts from this machine's clock
  await admin(url, "POST", "/fixtures", { personalAccessTokens: [seedToken(1, "from 2001", "2001-01-01T00:00:00Z", "2001-02-01T00:00:00Z")] }, 204);

  const { stdout, stderr } = await promisify(execFile)(process.execPath, [fileURLToPath(new URL("rotation.js", import.meta.url))], {
    env: { ...process.env, SAIL_BASE_URL: `${url}/`, SAIL_CLIENT_ID: ALICE.id, SAIL_CLIENT_SECRET: ALICE.secret, ROTATION_MAX_IDLE_DAYS: "30" },
  });
  const created = JSON.parse(stdout);
  assert.deepEqual(Object.keys(created), ["id", "name", "secret"]);
  assert.match(stderr, /^rotation: deleted 5eed0{24}0001 "from 2001" \(last used 2001-02-01T00:00:00.000Z\)\n$/);
  assert.deepEqual((await patsOf(url, ALICE.identity)).map((p) => p.id), [ALICE.id, created.id]);
});

test("Retry-After is read as seconds or as an HTTP date", () => {
  assert.equal(retryAfterMs("1"), 1000);
  assert.equal(retryAfterMs(" 0 "), 0);
  const inTwoSeconds = retryAfterMs(new Date(Date.now() + 2500).toUTCString()) ?? -1; // whole seconds
  assert.ok(inTwoSeconds > 500 && inTwoSeconds <= 2500, `${inTwoSeconds} ms`);
  assert.equal(retryAfterMs(new Date(Date.now() - 60_000).toUTCString()), 0, "a date past is no wait");
  assert.equal(retryAfterMs(undefined), undefined);
  assert.equal(retryAfterMs("soon"), undefined);
});
