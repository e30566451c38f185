// Overview: one tile per room (device) with what is happening there now. Rooms with an
// open alert come first. Tiles are kept by device id and updated in place, so that a
// keyboard user's focus is not lost every time an event arrives.

import { alertTitle, h, humanise, isFall, percent, replaceChildren, timeEl } from "./dom.js";

export class OverviewView {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.tiles = new Map(); // device id -> element
    this.grid = h("ul", { class: "tiles", "aria-label": "Rooms" });
    this.empty = h("p", { class: "empty", text: "No devices are registered yet." });
    section.append(this.empty, this.grid);
    for (const kind of ["devices", "events", "alerts"]) {
      ctx.store.addEventListener(kind, () => this.render());
    }
  }

  show() {
    this.render();
  }

  order() {
    const { store } = this.ctx;
    const rank = (d) => (store.openAlertFor(d.id) ? 0 : d.status === "online" ? 1 : 2);
    return [...store.devices.values()].sort(
      (a, b) =>
        rank(a) - rank(b) ||
        a.site.localeCompare(b.site) ||
        store.roomName(a.id).localeCompare(store.roomName(b.id)),
    );
  }

  render() {
    const devices = this.order();
    this.empty.hidden = devices.length > 0;
    this.empty.textContent = this.ctx.store.synced ? "No devices are registered yet." : "Loading…";
    const ids = new Set(devices.map((d) => d.id));
    for (const [id, tile] of this.tiles) {
      if (!ids.has(id)) {
        tile.remove();
        this.tiles.delete(id);
      }
    }
    devices.forEach((device, i) => {
      let tile = this.tiles.get(device.id);
      if (!tile) {
        tile = this.newTile(device);
        this.tiles.set(device.id, tile);
      }
      this.fill(tile, device);
      if (this.grid.children[i] !== tile)
        this.grid.insertBefore(tile, this.grid.children[i] || null);
    });
  }

  newTile(device) {
    const link = h("a", { class: "tile-link", href: `#/devices/${encodeURIComponent(device.id)}` });
    return h("li", { class: "tile", "data-device-id": device.id }, link);
  }

  fill(tile, device) {
    const { store } = this.ctx;
    const alert = store.openAlertFor(device.id);
    const event = store.latest.get(device.id);
    tile.classList.toggle("has-alert", Boolean(alert));
    tile.classList.toggle("offline", device.status !== "online");
    tile.classList.toggle("dark", device.status === "offline" || cameraFault(device));
    const link = tile.firstElementChild;
    link.setAttribute(
      "aria-label",
      `${store.roomName(device.id)}: ${activityText(event)}, ${statusText(device)}` +
        (alert ? `, open alert: ${alertTitle(alert.action, alert.stage)}` : ""),
    );
    replaceChildren(
      link,
      h(
        "div",
        { class: "tile-head" },
        h("h2", { class: "room", text: store.roomName(device.id) }),
        h("span", { class: `pill ${statusClass(device)}`, text: statusText(device) }),
      ),
      alert ? h("p", { class: "tile-alert", text: `Alert: ${alertTitle(alert.action, alert.stage)}` }) : null,
      // The open alert comes first: "Walking (ended)" under "Alert: Fall" contradicts it.
      ...(alert ? alertNow(alert) : [
        h("p", { class: `activity ${activityClass(event)}`, text: activityText(event) }),
        activityTime(event),
      ]),
      h("dl", { class: "facts" }, ...facts(device, event)),
    );
  }
}

/** What a room's card says while it has an open alert: what happened, since when. */
function alertNow(alert) {
  const critical = alert.severity === "critical";
  const line = (text, prefix) => [
    h("p", { class: `activity ${critical ? "critical" : "warning"}`, text }),
    h(
      "p",
      { class: "activity-time" },
      timeEl(alert.started_at, { ago: true, prefix, suffix: "" }),
      ", since ",
      timeEl(alert.started_at),
    ),
  ];
  if (alert.stage === "possible") return line("Possible fall: checking", "Down for ");
  if (isFall(alert.action) && !alert.ended_at) {
    return line(`${alertTitle(alert.action, alert.stage)}: not acknowledged yet`, "On the floor for ");
  }
  if (critical) return line(`${alertTitle(alert.action, alert.stage)}: not acknowledged yet`, "For ");
  return line("Not watched", "For ");
}

function activityText(event) {
  if (!event) return "No activity yet";
  if (event.stage === "recovered") return "Up again after a possible fall";
  if (event.type === "end") return `${humanise(event.action)} (ended)`;
  // A fall whose alert somebody acknowledged is still shown, but as seen to, not as news.
  if (event.severity === "critical") return `${alertTitle(event.action, event.stage)} (acknowledged)`;
  return humanise(event.action);
}

function activityClass(event) {
  // An ongoing warning (lying on the floor) stands out; its name says it. A critical one
  // here was acknowledged (an open alert takes the card's place), so it is not red news.
  return event && event.type !== "end" && event.severity !== "critical" ? event.severity : "";
}

function activityTime(event) {
  if (!event) return null;
  const line = (...parts) => h("p", { class: "activity-time" }, ...parts);
  if (event.type === "end") {
    const ended = event.ended_at || event.started_at;
    return line("Ended ", timeEl(ended, { ago: true }), ", started ", timeEl(event.started_at));
  }
  const running = timeEl(event.started_at, { ago: true, prefix: "For ", suffix: "" });
  return line(running, ", since ", timeEl(event.started_at));
}

// A room whose camera failed is not fine because its agent still answers: red, not green.
function cameraFault(device) {
  return device.status === "online" && device.last_heartbeat?.camera_ok === false;
}

function statusText(device) {
  if (cameraFault(device)) return "Camera fault";
  return { online: "Online", offline: "Offline" }[device.status] || "Unknown";
}

function statusClass(device) {
  if (cameraFault(device)) return "bad";
  return { online: "ok", offline: "bad" }[device.status] || "unknown";
}

function fact(term, ...value) {
  return [h("dt", { text: term }), h("dd", {}, ...value)];
}

function facts(device, event) {
  const items = [];
  if (event) items.push(...fact("Confidence", percent(event.confidence)));
  items.push(...fact("Last seen", timeEl(device.last_seen_at, { ago: true })));
  items.push(...fact("Site", device.site));
  return items;
}
