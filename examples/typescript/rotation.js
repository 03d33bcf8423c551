// @ts-check
// A personal access token (PAT) rotation job on SailPoint's official TypeScript SDK: authenticate with the
// current PAT, list the owner's tokens that went stale, create a new token, delete the stale ones.
//
// Plain JavaScript checked as TypeScript (see README.md): the types below come from the SDK's own .d.ts.
import { Configuration, PersonalAccessTokensApi } from "sailpoint-api-client";
import { pathToFileURL } from "node:url";

/** @typedef {import("sailpoint-api-client").GetPersonalAccessTokenResponse} Token */
/** @typedef {import("sailpoint-api-client").CreatePersonalAccessTokenResponse} CreatedToken */
/** @typedef {import("sailpoint-api-client").ErrorResponseDto} ErrorResponse */
/** @typedef {NonNullable<Configuration["retriesConfig"]>} RetryConfig */
// The SDK's HTTP error (an AxiosError), named through the SDK's retry types so that no axios import is needed.
/** @typedef {Parameters<NonNullable<RetryConfig["retryCondition"]>>[0]} HttpError */

/**
 * @typedef {object} RotationOptions
 * @property {string} baseUrl tenant API URL without a version, e.g. https://acme.api.identitynow.com
 * @property {string} clientId the PAT the job runs as
 * @property {string} clientSecret
 * @property {string} [tokenUrl] default: `${baseUrl}/oauth/token`
 * @property {number} maxIdleMs a token unused for this long is stale; so is a never-used token this old
 * @property {Date} [now] the time the idle period counts back from (default: this machine's clock)
 * @property {string} [name] the new token's name, unique per owner (default: "rotated <now>")
 * @property {string[]} [scope] the new token's scope (default: the server's, sp:scopes:all)
 * @property {string} [ownerId] whose stale tokens to delete: "me" (default), or an identity id, which needs
 *   the rights to read and delete every identity's tokens (an org admin's), even for the caller's own id
 * @property {number} [retries] how often a throttled (429) call is tried again (default 3)
 * @property {number} [maxWaitMs] the longest wait a Retry-After may impose (default 60 s)
 * @property {number} [timeoutMs] per HTTP attempt (default 30 s)
 */

/**
 * @typedef {object} RetryEvent
 * @property {string} method
 * @property {string} path
 * @property {number | undefined} status
 * @property {number} attempt 1 for the first retry
 * @property {number} waitMs what the job waited before it
 */

/**
 * @typedef {object} RotationResult
 * @property {CreatedToken} created the new token; its secret is shown only here, store it first
 * @property {Token[]} deleted
 * @property {RetryEvent[]} retries
 */

/** @typedef {"token" | "list" | "create" | "delete"} Step */

/** A failed step of the rotation, with what ISC answered. */
export class RotationError extends Error {
  /**
   * @param {Step} step
   * @param {string} message
   * @param {{status?: number, detailCode?: string, trackingId?: string, created?: CreatedToken, deleted?: Token[]}} [details]
   */
  constructor(step, message, details = {}) {
    super(message);
    this.name = "RotationError";
    this.step = step;
    this.status = details.status;
    this.detailCode = details.detailCode;
    this.trackingId = details.trackingId;
    /** @type {Token[]} deleted before the failure */
    this.deleted = details.deleted ?? [];
    /**
     * The token made before a later step failed: the caller must still store or delete it. Not enumerable,
     * so that logging the error does not print its secret.
     * @type {CreatedToken | undefined}
     */
    this.created = undefined;
    Object.defineProperty(this, "created", { value: details.created, enumerable: false });
  }
}

/**
 * Rotates the caller's PAT: lists the owner's stale tokens, creates a new token, deletes the stale ones
 * (never the token the job runs as, and never managed tokens, which belong to ISC's own features).
 * @param {RotationOptions} opts
 * @returns {Promise<RotationResult>}
 */
export async function rotate(opts) {
  const now = opts.now ?? new Date();
  const ownerId = opts.ownerId ?? "me";
  const baseUrl = opts.baseUrl.replace(/\/+$/, ""); // the SDK appends "/v3": a trailing slash would make "//v3"
  const tokenUrl = opts.tokenUrl ?? `${baseUrl}/oauth/token`;
  /** @type {RetryEvent[]} */
  const retries = [];

  // The SDK starts the client-credentials exchange in this constructor and keeps the promise as accessToken.
  const config = new Configuration({ baseurl: baseUrl, clientId: opts.clientId, clientSecret: opts.clientSecret, tokenUrl });
  config.retriesConfig = retryConfig(opts.retries ?? 3, opts.maxWaitMs ?? 60_000, retries);
  config.baseOptions = { timeout: opts.timeoutMs ?? 30_000 };
  // Await it here, so a bad credential fails as its own step rather than inside the first API call.
  try {
    await config.accessToken;
  } catch (err) {
    // The SDK keeps only the text of the failure ("Error: AxiosError: Request failed with status code 401").
    throw new RotationError("token", `token exchange at ${tokenUrl} failed (check clientId, clientSecret and tokenUrl): ${messageOf(err)}`);
  }
  const api = new PersonalAccessTokensApi(config);

  // List first: a caller without the rights learns it before anything is made.
  const cutoff = new Date(now.getTime() - opts.maxIdleMs);
  const filters = `lastUsed le ${cutoff.toISOString()} or lastUsed isnull`;
  /** @type {Token[]} */
  let candidates;
  try {
    candidates = (await api.listPersonalAccessTokens({ ownerId, filters })).data;
  } catch (err) {
    const hint = ownerId === "me" ? "" : ` (listing by identity id, even your own, needs idn:all-personal-access-tokens:read; ownerId "me" does not)`;
    throw failure("list", `listing the stale tokens of owner ${ownerId}`, err, {}, hint);
  }
  // The API filters on lastUsed only: a never-used token younger than the cutoff is fresh, not stale.
  const stale = candidates.filter(
    (t) => t.id !== opts.clientId && !t.managed && (t.lastUsed != null || new Date(t.created) <= cutoff),
  );

  /** @type {CreatedToken} */
  let created;
  try {
    const res = await api.createPersonalAccessToken({
      createPersonalAccessTokenRequest: { name: opts.name ?? `rotated ${now.toISOString()}`, ...(opts.scope && { scope: opts.scope }) },
    });
    created = res.data;
  } catch (err) {
    throw failure("create", "creating the new token", err);
  }

  /** @type {Token[]} */
  const deleted = [];
  for (const t of stale) {
    try {
      await api.deletePersonalAccessToken({ id: t.id });
    } catch (err) {
      // Gone already (another run, a person): the goal is reached.
      if (/** @type {HttpError} */ (err).response?.status !== 404) {
        throw failure("delete", `deleting stale token ${t.id} (${JSON.stringify(t.name)})`, err, { created, deleted });
      }
    }
    deleted.push(t);
  }
  return { created, deleted, retries };
}

/**
 * The SDK hands this to axios-retry. Only 429s are retried: ISC did not act on them, so even a POST is safe to
 * repeat, and the wait is the server's Retry-After (seconds or an HTTP date), at most maxWaitMs.
 * @param {number} retries
 * @param {number} maxWaitMs
 * @param {RetryEvent[]} log
 * @returns {RetryConfig}
 */
function retryConfig(retries, maxWaitMs, log) {
  return {
    retries,
    shouldResetTimeout: true, // each attempt gets the whole timeout, whatever the wait before it
    retryCondition: (err) => err.response?.status === 429,
    retryDelay: (attempt, err) => {
      const waitMs = Math.min(retryAfterMs(err.response?.headers?.["retry-after"]) ?? 1000 * 2 ** (attempt - 1), maxWaitMs);
      const url = new URL(err.config?.url ?? "", "http://unknown");
      log.push({ method: (err.config?.method ?? "").toUpperCase(), path: url.pathname, status: err.response?.status, attempt, waitMs });
      return waitMs;
    },
  };
}

/**
 * @param {unknown} header
 * @returns {number | undefined} milliseconds, or undefined when the header is absent or unreadable
 */
export function retryAfterMs(header) {
  if (typeof header !== "string" || header.trim() === "") return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Turns the SDK's error into a RotationError that says what failed and what ISC answered. It keeps no
 * reference to the axios error, whose config holds the bearer token.
 * @param {Step} step
 * @param {string} doing
 * @param {unknown} err
 * @param {{created?: CreatedToken, deleted?: Token[]}} [partial]
 * @param {string} [hint]
 */
function failure(step, doing, err, partial = {}, hint = "") {
  const res = /** @type {HttpError} */ (err).response;
  if (!res) {
    return new RotationError(step, `${doing} failed: ${messageOf(err)}`, partial);
  }
  // ISC's ErrorResponseDto; a 429 has {"message": ...} instead.
  const body = /** @type {(ErrorResponse & {message?: unknown}) | undefined} */ (typeof res.data === "object" && res.data !== null ? res.data : undefined);
  const text = body?.messages?.find((m) => m.locale === "en-US")?.text ?? body?.messages?.[0]?.text ?? (typeof body?.message === "string" ? body.message.trim() : "");
  const detailCode = body?.detailCode;
  const requestId = res.headers?.["slpt-request-id"]; // ISC's id of the request, also on answers without a body
  const trackingId = body?.trackingId ?? (typeof requestId === "string" ? requestId : undefined);
  const what = [detailCode, text].filter(Boolean).join(": ") || `HTTP ${res.status}`;
  const tracking = trackingId ? ` [trackingId ${trackingId}]` : "";
  return new RotationError(step, `${doing} was refused with ${res.status}: ${what}${hint}${tracking}`, {
    ...partial,
    status: res.status,
    detailCode,
    trackingId,
  });
}

/** @param {unknown} err */
function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}

// As a job: `node rotation.js` with SAIL_BASE_URL, SAIL_CLIENT_ID and SAIL_CLIENT_SECRET (the SDK's own
// variable names) and optionally ROTATION_MAX_IDLE_DAYS (default 30). It prints the new token as one JSON line
// on stdout, for the step that stores the secret; the rest goes to stderr.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = process.env;
  const missing = ["SAIL_BASE_URL", "SAIL_CLIENT_ID", "SAIL_CLIENT_SECRET"].filter((k) => !env[k]);
  const maxIdleDays = Number(env.ROTATION_MAX_IDLE_DAYS ?? 30);
  if (missing.length > 0 || !(maxIdleDays > 0)) {
    console.error(missing.length > 0 ? `rotation: set ${missing.join(", ")}` : "rotation: ROTATION_MAX_IDLE_DAYS must be a number of days above 0");
    process.exit(2);
  }
  try {
    const result = await rotate({
      baseUrl: String(env.SAIL_BASE_URL),
      clientId: String(env.SAIL_CLIENT_ID),
      clientSecret: String(env.SAIL_CLIENT_SECRET),
      maxIdleMs: maxIdleDays * 24 * 3600 * 1000,
    });
    const { id, name, secret } = result.created;
    console.log(JSON.stringify({ id, name, secret }));
    for (const t of result.deleted) console.error(`rotation: deleted ${t.id} ${JSON.stringify(t.name)} (last used ${t.lastUsed ?? "never"})`);
  } catch (err) {
    console.error(`rotation: ${messageOf(err)}`);
    if (err instanceof RotationError && err.created) {
      // The new token exists: print it anyway, or its secret is lost.
      const { id, name, secret } = err.created;
      console.log(JSON.stringify({ id, name, secret }));
    }
    process.exit(1);
  }
}
