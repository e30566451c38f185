// Device detail: status, model, last error, and heartbeat charts over the last hours.

import { lineChart } from "./chart.js";
import { formatDuration, h, replaceChildren, segmentedButtons, timeEl } from "./dom.js";

const RANGES = [
  ["1 h", 1],
  ["6 h", 6],
  ["24 h", 24],
];

const CHARTS = [
  {
    id: "fps",
    title: "Frames per second",
    series: [
      ["camera", "fps_in"],
      ["inference", "fps_out"],
    ],
  },
  {
    id: "latency",
    title: "Inference latency",
    unit: " ms",
    series: [
      ["p50", "latency_ms_p50"],
      ["p95", "latency_ms_p95"],
    ],
  },
  { id: "cpu", title: "CPU", unit: " %", series: [["CPU", "cpu_percent"]] },
  {
    id: "outbox",
    title: "Waiting to be sent (outbox)",
    digits: 0,
    series: [["queued", "outbox_depth"]],
  },
];

export class DeviceView {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.deviceId = null;
    this.hours = 6;
    this.heartbeats = []; // payloads, oldest first
    this.heading = h("h1", { id: "heading-devices", tabindex: -1 });
    this.facts = h("div", { class: "device-facts" });
    this.learning = h("section", { class: "learning", "aria-labelledby": "learning-title" });
    this.ranges = h("div", { class: "segmented", role: "group", "aria-label": "Period" });
    this.charts = h("div", { class: "charts" });
    this.status = h("p", { class: "muted", role: "status" });
    section.append(
      h("p", {}, h("a", { href: "#/overview", text: "← All rooms" })),
      this.heading,
      this.facts,
      this.learning,
      h("div", { class: "chart-head" }, h("h2", { text: "Health" }), this.ranges),
      this.status,
      this.charts,
    );
    ctx.store.addEventListener("devices", () => this.deviceChanged());
  }

  get focusTarget() {
    return this.heading;
  }

  async show(deviceId) {
    this.deviceId = deviceId;
    this.heartbeats = [];
    replaceChildren(this.learning);
    this.renderFacts();
    this.renderRanges();
    this.loadLearning();
    await this.load();
  }

  /** The room's learning phase (cloud/service/calibration.py): its threshold, how much it
   * has seen, its last calibration and the false alarms it really had. */
  async loadLearning(message = "") {
    const device = this.ctx.store.devices.get(this.deviceId);
    if (!device) return;
    let room = null;
    let error = "";
    try {
      const rooms = await this.ctx.api.get(`/sites/${encodeURIComponent(device.site)}/learning`);
      room = rooms.find((r) => r.device_id === device.id) || null;
    } catch (err) {
      error = `Could not load the learning phase: ${err.message}`;
    }
    this.renderLearning(device, room, message || error);
  }

  renderLearning(device, room, message) {
    const title = h("h2", { id: "learning-title", text: "Learning phase" });
    if (!room) {
      replaceChildren(this.learning, title, h("p", { class: "muted", text: message || "–" }));
      return;
    }
    const cal = room.calibration;
    const rows = [
      [
        h("abbr", { title: "events.thresholds.fall_enter", text: "Fall threshold" }),
        room.threshold === null ? "–" : room.threshold.toFixed(2),
      ],
      [
        "Seen so far",
        room.learning_since
          ? h(
              "span",
              {},
              `${room.observed_h.toFixed(1)} h of video (${room.windows} windows) since `,
              timeEl(room.learning_since),
            )
          : "Nothing yet: the device has not reported its scores",
      ],
      [
        "Last calibrated",
        cal
          ? h(
              "span",
              { "data-field": "calibration" },
              `to ${cal.threshold.toFixed(2)} for ${cal.budget_per_week} false alarm` +
                `${cal.budget_per_week === 1 ? "" : "s"} a week (at most ` +
                `${cal.expected_per_week.toFixed(1)} expected${cal.reachable ? "" : ": over budget even at the highest threshold"}), `,
              timeEl(cal.at),
              ` by ${cal.by}`,
            )
          : "Never: the room keeps the shipped threshold",
      ],
      ["False alarms, last 7 days", String(room.false_alarms_7d)],
    ];
    const parts = [
      title,
      h("dl", { class: "facts wide" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    ];
    if (this.ctx.role === "admin") {
      const button = h("button", {
        type: "button",
        class: "secondary",
        "data-action": "calibrate",
        text: `Calibrate every room of ${device.site}`,
        onclick: () => this.calibrate(device, button),
      });
      parts.push(h("p", {}, button));
    }
    if (message) parts.push(h("p", { class: "notice", role: "status", text: message }));
    replaceChildren(this.learning, ...parts);
  }

  async calibrate(device, button) {
    button.disabled = true;
    button.textContent = "Calibrating…";
    let message;
    try {
      const rooms = await this.ctx.api.post(
        `/sites/${encodeURIComponent(device.site)}/calibrate`,
        {},
      );
      const done = rooms.filter((r) => r.calibration).length;
      message =
        `Done: ${done} of the site's ${rooms.length} rooms have a calibrated threshold` +
        (done < rooms.length ? "; the others are still learning." : ".");
    } catch (err) {
      message = `Could not calibrate: ${err.message}`;
    }
    await this.loadLearning(message);
  }

  async load() {
    const since = new Date(Date.now() - this.hours * 3600_000).toISOString();
    this.status.textContent = "Loading heartbeats…";
    try {
      const rows = await this.ctx.api.get(
        `/devices/${encodeURIComponent(this.deviceId)}/heartbeats`,
        { since, limit: 5000 },
      );
      this.heartbeats = rows.reverse().map((r) => r.payload);
      this.status.textContent = "";
    } catch (err) {
      this.status.textContent = `Could not load heartbeats: ${err.message}`;
    }
    this.renderCharts();
  }

  deviceChanged() {
    if (this.section.hidden || !this.deviceId) return;
    const device = this.ctx.store.devices.get(this.deviceId);
    this.renderFacts();
    // Opened by its address before the devices had loaded: its learning phase now.
    if (device && !this.learning.hasChildNodes()) this.loadLearning();
    const beat = device && device.last_heartbeat;
    const last = this.heartbeats[this.heartbeats.length - 1];
    const newer = !last || new Date(beat && beat.sent_at) > new Date(last.sent_at);
    if (beat && beat.status === "online" && newer) {
      this.heartbeats.push(beat);
      this.renderCharts();
    }
  }

  renderRanges() {
    replaceChildren(
      this.ranges,
      segmentedButtons(RANGES, this.hours, (hours) => {
        this.hours = hours;
        this.renderRanges();
        this.load();
      }),
    );
  }

  renderFacts() {
    const { store } = this.ctx;
    const device = store.devices.get(this.deviceId);
    if (!device) {
      this.heading.textContent = this.deviceId;
      const text = store.synced ? "No device has this id." : "Loading…";
      replaceChildren(this.facts, h("p", { class: store.synced ? "error" : "muted", text }));
      return;
    }
    this.heading.textContent = store.roomName(device.id);
    const beat = device.last_heartbeat || {};
    const online = device.status === "online";
    const rows = [
      [
        "Status",
        h("span", { class: `pill ${online ? "ok" : "bad"}`, text: online ? "Online" : "Offline" }),
      ],
      ["Device", device.id],
      ["Site", device.site],
      ["Model version", device.model_version || beat.model_version || "–"],
      ["Last seen", timeEl(device.last_seen_at, { ago: true })],
      ["Last heartbeat", timeEl(device.last_heartbeat_at)],
      ["Camera", beat.camera_ok === false ? "Not working" : beat.camera_ok ? "Working" : "–"],
      ["Up for", beat.uptime_s ? formatDuration(beat.uptime_s * 1000) : "–"],
      ["Memory", beat.memory_mb ? `${Math.round(beat.memory_mb)} MB` : "–"],
      ["Frames dropped", beat.dropped ?? "–"],
    ];
    replaceChildren(
      this.facts,
      h(
        "dl",
        { class: "facts wide" },
        rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", {}, v)]),
      ),
      beat.last_error
        ? h(
            "div",
            { class: "notice warn", "data-field": "last-error" },
            h("strong", { text: "Last error" }),
            h("pre", { text: beat.last_error }),
          )
        : h("p", { class: "notice ok", text: "No error reported." }),
    );
  }

  renderCharts() {
    const to = Date.now();
    const from = to - this.hours * 3600_000;
    const beats = this.heartbeats.filter((b) => b.status === "online");
    replaceChildren(
      this.charts,
      CHARTS.map((chart) =>
        lineChart({
          ...chart,
          from,
          to,
          series: chart.series.map(([name, key]) => ({
            name,
            points: beats.map((b) => [new Date(b.sent_at).getTime(), Number(b[key]) || 0]),
          })),
        }),
      ),
    );
  }
}
