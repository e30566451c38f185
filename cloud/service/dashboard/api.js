// The REST API under api/v1, called with the signed-in bearer token. URLs are relative
// to the page, so the dashboard also works behind a proxy that serves it under a prefix.

export const API = "api/v1";

export class ApiError extends Error {
  constructor(status, detail) {
    super(describe(status, detail));
    this.status = status;
    this.detail = detail;
  }
}

/** FastAPI's `detail`: a string, or a list of validation errors; as one readable line. */
function describe(status, detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((e) => `${(e.loc || []).filter((p) => p !== "body").join(".")}: ${e.msg}`)
      .join("; ");
  }
  return status === 0 ? "the server could not be reached" : `the server answered ${status}`;
}

export class Api {
  constructor(token, { onUnauthorised = () => {} } = {}) {
    this.token = token;
    this.onUnauthorised = onUnauthorised;
  }

  url(path, params = {}) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
    }
    const qs = query.toString();
    return `${API}${path}${qs ? `?${qs}` : ""}`;
  }

  async request(method, path, { params, body } = {}) {
    let response;
    try {
      response = await fetch(this.url(path, params), {
        method,
        headers: {
          Authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, null);
    }
    if (!response.ok) {
      const detail = await response
        .json()
        .then((b) => b.detail)
        .catch(() => null);
      if (response.status === 401) this.onUnauthorised();
      throw new ApiError(response.status, detail);
    }
    return response;
  }

  async get(path, params) {
    return (await this.request("GET", path, { params })).json();
  }

  async post(path, body = {}) {
    return (await this.request("POST", path, { body })).json();
  }

  async put(path, body) {
    return (await this.request("PUT", path, { body })).json();
  }

  /** A protected file (clip, curves image) as a Blob; `<video>`/`<img>` cannot send headers. */
  async blob(path) {
    const response = await this.request("GET", path);
    return { blob: await response.blob(), headers: response.headers };
  }

  /** The live stream's URL: EventSource cannot set headers, so the token rides as ?token=. */
  streamUrl() {
    return this.url("/stream", { token: this.token });
  }
}

/**
 * Who a token belongs to: "admin" or "viewer". Throws ApiError with a message for people
 * (a device token, an unknown one, an unreachable server).
 */
export async function probeRole(token) {
  const api = new Api(token);
  try {
    await api.get("/alerts", { limit: 1 });
  } catch (err) {
    if (err.status === 401) {
      throw new ApiError(401, "This token was not recognised: it may be mistyped or revoked.");
    }
    if (err.status === 403) {
      throw new ApiError(403, "This is a device's token. Sign in with a viewer or admin token.");
    }
    throw new ApiError(err.status, `Could not sign in: ${err.message}.`);
  }
  try {
    await api.get("/tokens"); // only the admin may list tokens
    return "admin";
  } catch (err) {
    if (err.status === 403) return "viewer";
    throw err;
  }
}
