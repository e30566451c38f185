// Live timeline: events as they arrive over the stream, newest first, filterable by room
// and action. A filter also asks the server for that room's or action's older events.

import { h, humanise, percent, replaceChildren, timeEl } from "./dom.js";

// A two-stage fall's events (edge/events.py): what each stage means to a carer.
const STAGE_PHASE = {
  "start possible": "Possible fall",
  "update confirmed": "Confirmed: still down",
  "start confirmed": "Confirmed: still down",
  "end recovered": "Got up",
};

const ROWS_SHOWN = 200;

/** When an event happened: an end when the action ended, an update when it was sent (its
 * arrival), a start when it started. Rows sort by it, not by arrival order. */
function eventTime(event) {
  if (event.type === "end" && event.ended_at) return event.ended_at;
  if (event.type === "update") return event.received_at || event.started_at;
  return event.started_at;
}

export class TimelineView {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.room = h("select", { id: "filter-room", name: "room" });
    this.action = h("select", { id: "filter-action", name: "action" });
    this.room.addEventListener("change", () => this.filtered());
    this.action.addEventListener("change", () => this.filtered());
    this.count = h("p", { class: "muted", role: "status" });
    this.body = h("tbody", {});
    section.append(
      h(
        "form",
        { class: "filters", onsubmit: (e) => e.preventDefault() },
        h("label", { for: "filter-room", text: "Room" }),
        this.room,
        h("label", { for: "filter-action", text: "Action" }),
        this.action,
      ),
      this.count,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "timeline" },
          h("caption", { class: "visually-hidden", text: "Events, newest first" }),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Time", "Room", "Action", "Phase", "Severity", "Confidence"].map((t) =>
                h("th", { scope: "col", text: t }),
              ),
            ),
          ),
          this.body,
        ),
      ),
    );
    ctx.store.addEventListener("events", (e) => this.arrived(e.detail));
    ctx.store.addEventListener("devices", () => {
      if (this.section.hidden) return;
      this.fillFilters();
      this.render(); // room names may have arrived
    });
  }

  show() {
    this.fillFilters();
    this.render();
  }

  fillFilters() {
    const { store } = this.ctx;
    const rooms = [...store.devices.values()].map((d) => [d.id, store.roomName(d.id)]);
    rooms.sort((a, b) => a[1].localeCompare(b[1]));
    setOptions(this.room, [["", "All rooms"], ...rooms]);
    const actions = [...new Set(store.events.map((e) => e.action))].sort();
    if (this.action.value && !actions.includes(this.action.value)) actions.push(this.action.value);
    setOptions(this.action, [["", "All actions"], ...actions.map((a) => [a, humanise(a)])]);
  }

  matches(event) {
    return (
      (!this.room.value || event.device_id === this.room.value) &&
      (!this.action.value || event.action === this.action.value)
    );
  }

  async filtered() {
    this.render();
    if (!this.room.value && !this.action.value) return;
    try {
      const older = await this.ctx.api.get("/events", {
        device_id: this.room.value,
        action: this.action.value,
        limit: ROWS_SHOWN,
      });
      this.ctx.store.addEvents(older); // re-renders through the "events" listener
    } catch (err) {
      this.count.textContent = `Could not load older events: ${err.message}`;
    }
  }

  arrived(fresh) {
    if (!this.section.hidden) {
      if (
        fresh.some((e) => !this.action.querySelector(`option[value="${CSS.escape(e.action)}"]`))
      ) {
        this.fillFilters();
      }
      this.render(new Set(fresh.map((e) => e.id)));
    }
  }

  render(fresh = new Set()) {
    const shown = this.ctx.store.events
      .filter((e) => this.matches(e))
      .sort((a, b) => new Date(eventTime(b)) - new Date(eventTime(a)) || b.id - a.id)
      .slice(0, ROWS_SHOWN);
    this.count.textContent = `${shown.length} event${shown.length === 1 ? "" : "s"} shown, newest first. New events appear as they happen.`;
    replaceChildren(
      this.body,
      shown.length
        ? shown.map((e) => this.row(e, fresh.has(e.id)))
        : h("tr", {}, h("td", { colspan: 6, class: "empty", text: "No events yet." })),
    );
  }

  row(event, fresh) {
    return h(
      "tr",
      { "data-event-id": event.event_id, class: fresh ? "fresh" : null },
      // data-label: on a phone each row is a small card whose cells say what they are.
      h("td", { "data-label": "Time" }, timeEl(eventTime(event))),
      h("td", { "data-label": "Room", text: this.ctx.store.roomName(event.device_id) }),
      h("td", { class: "action", "data-label": "Action", text: humanise(event.action) }),
      h(
        "td",
        { "data-label": "Phase" },
        STAGE_PHASE[`${event.type} ${event.stage}`] ||
          { start: "Started", update: "Ongoing", end: "Ended" }[event.type] ||
          event.type,
        // An end row says when its action began too: "Ended" alone hides how long it lasted.
        event.type === "end" ? h("span", { class: "since" }, " (from ", timeEl(event.started_at), ")") : null,
      ),
      h(
        "td",
        { "data-label": "Severity" },
        h("span", { class: `severity ${event.severity}`, text: humanise(event.severity) }),
      ),
      h("td", { "data-label": "Confidence", text: percent(event.confidence) }),
    );
  }
}

function setOptions(select, options) {
  const key = JSON.stringify(options);
  if (select.dataset.options === key) return; // unchanged: leave an open list alone
  select.dataset.options = key;
  const value = select.value;
  replaceChildren(
    select,
    options.map(([v, label]) => h("option", { value: v, text: label })),
  );
  select.value = options.some(([v]) => v === value) ? value : "";
}
