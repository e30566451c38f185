// The live stream (SSE at api/v1/stream?token=): `event`, `alert` and `device` messages.
//
// EventSource reconnects by itself when a stream ends or the network fails (Chromium
// waits 3 s). It gives up for good (readyState CLOSED) when an answer is not a 200 event
// stream, e.g. a proxy's 502 while the server restarts or a 401 for a revoked token:
// then we try again ourselves, backing off, after asking `checkToken` whether to.
// Whatever arrived while we were away is fetched by `resync` once the stream is back.

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;

export class LiveStream {
  /**
   * @param {() => string} url the stream's URL
   * @param {{onMessage, onState, resync, checkToken}} hooks onState("connecting" | "live"
   *   | "reconnecting"); resync() after a reconnect; checkToken() -> false to stop
   */
  constructor(url, hooks) {
    this.url = url;
    this.hooks = hooks;
    this.source = null;
    this.retryMs = RETRY_FIRST_MS;
    this.timer = null;
    this.lostSince = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.hooks.onState("connecting");
    this.open();
  }

  open() {
    const source = new EventSource(this.url());
    this.source = source;
    for (const kind of ["event", "alert", "device"]) {
      source.addEventListener(kind, (message) => this.receive(kind, message));
    }
    source.addEventListener("open", () => this.opened());
    source.addEventListener("error", () => this.failed(source));
  }

  receive(kind, message) {
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      return; // not ours to show; the next message will do
    }
    this.hooks.onMessage(kind, data);
  }

  opened() {
    this.retryMs = RETRY_FIRST_MS;
    const wasLost = this.lostSince !== null;
    this.lostSince = null;
    this.hooks.onState("live");
    if (wasLost) this.hooks.resync();
  }

  failed(source) {
    if (this.stopped || source !== this.source) return;
    if (this.lostSince === null) this.lostSince = Date.now();
    this.hooks.onState("reconnecting");
    if (source.readyState === EventSource.CLOSED) this.retryLater();
  }

  retryLater() {
    clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      if (this.stopped) return;
      if (!(await this.hooks.checkToken())) return this.stop();
      this.open();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
  }
}
