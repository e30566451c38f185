// Alerts: the banners at the top of every page (one per open alert, until somebody
// acknowledges it) and the Alerts view (who acknowledged what, when, how fast).

import {
  alertTitle,
  formatDuration,
  h,
  isFall,
  likelihood,
  percent,
  replaceChildren,
  timeEl,
} from "./dom.js";
import { choiceDialog } from "./dialog.js";

const BANNERS_SHOWN = 3;
// Rooms gone dark (cloud/service/device_watch.py): what the banner says instead of a score.
const DARK = { device_offline: "No video", camera_fault: "The camera has failed" };
const TO_DO = { long_lie: "On the floor for a long time: go now, and call for help." };
// "What happened?", asked when a fall is acknowledged (cloud/service/outcomes.py): "real
// fall" and "not a fall" label the fall's clip for the next training job.
export const OUTCOMES = [
  { value: "real_fall", text: "Real fall" },
  { value: "got_up_unaided", text: "Got up unaided" },
  { value: "not_a_fall", text: "Not a fall" },
  { value: "staff_in_room", text: "Staff in the room" },
  { value: "other", text: "Other" },
];
const OUTCOME_TEXT = Object.fromEntries(OUTCOMES.map((o) => [o.value, o.text]));

/** The banners: kept by alert id, so a note being typed survives live updates. */
export class AlertBanners {
  constructor(container, ctx) {
    this.container = container;
    this.ctx = ctx;
    this.cards = new Map(); // alert id -> element
    this.expanded = false;
    this.list = h("div", { class: "banner-list" });
    this.more = h("button", { type: "button", class: "more", onclick: () => this.toggle() });
    this.sound = h("div", { class: "alarm-line" });
    container.append(this.sound, this.list, this.more);
    container.hidden = true;
    ctx.store.addEventListener("alerts", (e) => this.render(e.detail));
    ctx.store.addEventListener("devices", () => this.refreshTitles());
    ctx.alarm.addEventListener("change", () => this.renderSound());
  }

  sorted() {
    // Oldest first: the person on the floor longest is the first one to go to.
    return [...this.ctx.store.openAlerts.values()].sort(
      (a, b) => new Date(a.opened_at) - new Date(b.opened_at) || a.id - b.id,
    );
  }

  render(changed = null) {
    const open = this.sorted();
    const ids = new Set(open.map((a) => a.id));
    for (const [id, card] of this.cards) {
      if (!ids.has(id)) {
        card.remove();
        this.cards.delete(id);
      }
    }
    open.forEach((alert, i) => {
      let card = this.cards.get(alert.id);
      if (!card) {
        card = this.card(alert);
        this.cards.set(alert.id, card);
        if (changed && changed.id === alert.id) this.announceNew(alert);
      } else if (card.dataset.state !== cardState(alert)) {
        this.fillText(card, alert); // a possible fall confirmed, or a fall that ended
        if (alert.stage === "confirmed") this.announceNew(alert);
      }
      this.showEscalation(card, alert);
      card.hidden = !this.expanded && i >= BANNERS_SHOWN;
      if (this.list.children[i] !== card)
        this.list.insertBefore(card, this.list.children[i] || null);
    });
    const hidden = open.length - BANNERS_SHOWN;
    this.more.hidden = hidden <= 0;
    this.more.textContent = this.expanded ? "Show fewer alerts" : `Show ${hidden} more open alerts`;
    this.container.hidden = open.length === 0;
    this.container.classList.toggle("calm", !open.some((a) => a.severity === "critical"));
    this.ctx.alarm.setOpen(
      open.map(ringKey),
      open.filter((a) => a.escalated_at).map(ringKey),
      open.some((a) => a.severity === "critical"),
    );
    this.renderSound();
  }

  toggle() {
    this.expanded = !this.expanded;
    this.render();
  }

  /** An alert nobody answered in time: said on its banner, in words and in colour. */
  showEscalation(card, alert) {
    const line = card.querySelector(".escalated-line");
    const escalated = Boolean(alert.escalated_at);
    const state = `${escalated}|${Boolean(alert.oncall_at)}`;
    if (card.dataset.escalation === state) return;
    const fresh = escalated && !card.classList.contains("escalated");
    card.dataset.escalation = state;
    card.classList.toggle("escalated", escalated);
    line.hidden = !escalated;
    if (escalated) {
      replaceChildren(
        line,
        h("strong", { text: "Escalated: " }),
        timeEl(alert.opened_at, { ago: true, prefix: "nobody has answered for ", suffix: "" }),
        ". Go now, or call for help.",
        alert.oncall_at
          ? h("span", {}, " The on-call contact was called at ", timeEl(alert.oncall_at), ".")
          : null,
      );
    }
    if (fresh) {
      this.ctx.announce(
        `Escalated: ${alertTitle(alert.action, alert.stage)} in ${this.ctx.store.roomName(alert.device_id)}`,
      );
    }
  }

  announceNew(alert) {
    this.ctx.announce(`${alertTitle(alert.action, alert.stage)} in ${this.ctx.store.roomName(alert.device_id)}`);
  }

  refreshTitles() {
    for (const [id, card] of this.cards) {
      const alert = this.ctx.store.openAlerts.get(id);
      if (alert) card.querySelector(".room").textContent = this.ctx.store.roomName(alert.device_id);
    }
  }

  renderSound() {
    const { alarm } = this.ctx;
    // The button does what it says when it was drawn: a first tap on the page unlocks
    // the sound before the click arrives, and "Allow sound" must not then mute it.
    let text;
    let action;
    let act;
    if (alarm.muted) {
      const left = formatDuration(alarm.muteLeftMs);
      text = `Alarm muted: it rings again in ${left}, or at once for a new alert.`;
      [action, act] = ["Unmute", () => alarm.unmute()];
    } else if (alarm.blocked) {
      text = "This screen cannot ring yet: tap the button so it can sound the alarm.";
      [action, act] = ["Allow sound", () => alarm.unlock()];
    } else {
      text = alarm.urgent
        ? "Urgent alarm sounding: an alert has gone unanswered."
        : alarm.calm
          ? "A soft chime sounds every 10 s: a possible fall, or a room not watched."
          : "Alarm sounding.";
      [action, act] = ["Mute", () => alarm.mute()];
    }
    replaceChildren(
      this.sound,
      h("span", { text }),
      h("button", {
        type: "button",
        class: "secondary small",
        "data-action": "alarm-sound",
        text: action,
        onclick: act,
      }),
    );
  }

  card(alert) {
    const noteId = `ack-note-${alert.id}`;
    const titleId = `alert-title-${alert.id}`;
    const note = h("input", { id: noteId, name: "note", maxlength: 2000, autocomplete: "off" });
    const button = h("button", { type: "submit", class: "ack-button", text: "Acknowledge" });
    const error = h("p", { class: "error", role: "alert" });
    const form = h(
      "form",
      { class: "ack" },
      h("label", { for: noteId, text: "Note (optional)" }),
      note,
      button,
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      // A person may be hurt: ask what happened (a room gone dark asks nothing).
      const current = this.ctx.store.openAlerts.get(alert.id) || alert;
      let outcome = null;
      if (!DARK[current.action]) {
        outcome = await choiceDialog({
          title: "What happened?",
          message: `${alertTitle(current.action, current.stage)} in ${this.ctx.store.roomName(current.device_id)}`,
          choices: OUTCOMES,
        });
        if (outcome === null) return; // cancelled: still open
      }
      this.acknowledge(alert, note.value.trim(), outcome, button, error);
    });
    const card = h(
      "section",
      { class: "banner", "aria-labelledby": titleId, "data-alert-id": alert.id },
      h("div", { class: "banner-text" }),
      form,
      error,
    );
    this.fillText(card, alert);
    return card;
  }

  /** The banner's words: drawn again when the alert changes stage (the note typed stays). */
  fillText(card, alert) {
    card.dataset.state = cardState(alert);
    card.classList.toggle("warning", alert.severity === "warning");
    const escalated = card.querySelector(".escalated-line");
    replaceChildren(
      card.querySelector(".banner-text"),
      h(
        "h2",
        { id: `alert-title-${alert.id}` },
        h("span", { class: "what", text: alertTitle(alert.action, alert.stage) }),
        " – ",
        h("span", { class: "room", text: this.ctx.store.roomName(alert.device_id) }),
      ),
      h("p", { class: "what-happened" }, ...whatHappened(alert)),
      escalated || h("p", { class: "escalated-line", hidden: true }),
    );
  }

  async acknowledge(alert, note, outcome, button, error) {
    const { api, store, announce } = this.ctx;
    button.disabled = true;
    button.textContent = "Acknowledging…";
    error.textContent = "";
    try {
      const done = await api.post(`/alerts/${alert.id}/acknowledge`, {
        note: note || null,
        outcome,
      });
      store.upsertAlert(done);
      announce(`${alertTitle(alert.action, alert.stage)} in ${store.roomName(alert.device_id)} acknowledged.`);
    } catch (err) {
      if (err.status === 409 || err.status === 404) {
        const fresh = await api.get(`/alerts/${alert.id}`).catch(() => null);
        if (fresh && fresh.acknowledged_at) {
          store.upsertAlert(fresh);
          announce(`Already acknowledged by ${fresh.acknowledged_by}.`);
          return;
        }
      }
      error.textContent = `Could not acknowledge: ${err.message}. Please try again.`;
      button.disabled = false;
      button.textContent = "Acknowledge";
    }
  }
}

/** What changes a banner's words: its stage, whether it ended, its severity. */
function cardState(alert) {
  return `${alert.stage}|${Boolean(alert.ended_at)}|${alert.severity}`;
}

/** What the alarm rings for: a confirmation is news even for a screen that muted the
 * possible fall. */
function ringKey(alert) {
  return alert.stage === "confirmed" ? `${alert.id}/confirmed` : String(alert.id);
}

function likely(alert) {
  return h("span", {
    class: "likelihood",
    title: `${percent(alert.confidence)} by the model · ${alert.site} / ${alert.camera}`,
    text: likelihood(alert.confidence),
  });
}

/** The banner's sentence: what happened, since when, what to do. */
function whatHappened(alert) {
  if (DARK[alert.action]) {
    return [
      `${DARK[alert.action]} since `,
      timeEl(alert.started_at),
      " (",
      timeEl(alert.started_at, { ago: true, suffix: "" }),
      "): this room is not watched. Check the camera's power and network.",
    ];
  }
  if (alert.stage === "possible") {
    return [
      timeEl(alert.started_at, { ago: true, prefix: "Seen going down " }),
      " (",
      likely(alert),
      "). Checking whether they get up: the alarm follows in seconds if they stay down. " +
        "Look in if you are near.",
    ];
  }
  if (isFall(alert.action) && !alert.ended_at) {
    return [
      timeEl(alert.started_at, { ago: true, prefix: "On the floor for ", suffix: "" }),
      " · fell at ",
      timeEl(alert.started_at),
      " · ",
      likely(alert),
      ". Go to the room now.",
    ];
  }
  return [
    timeEl(alert.opened_at, { ago: true, prefix: "Fired " }),
    " · at ",
    timeEl(alert.opened_at),
    " · ",
    likely(alert),
    `. ${TO_DO[alert.action] || "Go to the room now."}`,
  ];
}

/** The Alerts view: a count of open alerts, and the acknowledged ones with response times. */
export class AlertsView {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.history = [];
    this.status = h("p", { class: "muted" });
    this.summary = h("p", {});
    this.body = h("tbody", {});
    this.table = h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "acknowledged" },
        h("caption", { text: "Acknowledged alerts, newest first" }),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [
              "Room",
              "Alert",
              "Fired",
              "Acknowledged by",
              "At",
              "Time to acknowledge",
              "Escalated",
              "What happened",
              "Note",
            ].map((t) => h("th", { scope: "col", text: t })),
          ),
        ),
        this.body,
      ),
    );
    this.filter = h(
      "select",
      { id: "alerts-outcome", name: "outcome", onchange: () => this.show() },
      h("option", { value: "", text: "Every answer" }),
      OUTCOMES.map(({ value, text }) => h("option", { value, text })),
    );
    const filterLine = h(
      "p",
      { class: "filter" },
      h("label", { for: "alerts-outcome", text: "What happened: " }),
      this.filter,
    );
    section.append(this.summary, filterLine, this.table, this.status);
    ctx.store.addEventListener("alerts", () => this.visible && this.render());
    ctx.store.addEventListener("devices", () => this.visible && this.render());
  }

  get visible() {
    return !this.section.hidden;
  }

  async show() {
    this.render();
    this.status.textContent = "Loading…";
    try {
      const query = { state: "acknowledged", limit: 200 };
      if (this.filter.value) query.outcome = this.filter.value;
      this.history = await this.ctx.api.get("/alerts", query);
      this.status.textContent = "";
    } catch (err) {
      this.status.textContent = `Could not load acknowledged alerts: ${err.message}`;
    }
    this.render();
  }

  render() {
    const { store } = this.ctx;
    const open = store.openAlerts.size;
    this.summary.textContent =
      open === 0
        ? "No open alerts."
        : `${open} open alert${open === 1 ? "" : "s"}: shown at the top of every page until acknowledged.`;
    const wanted = this.filter.value;
    const mine = store.acknowledged.filter((a) => !wanted || a.outcome === wanted);
    const byId = new Map([...this.history, ...mine].map((a) => [a.id, a]));
    const rows = [...byId.values()].sort(
      (a, b) => new Date(b.acknowledged_at) - new Date(a.acknowledged_at),
    );
    replaceChildren(
      this.body,
      rows.length
        ? rows.map((a) => this.row(a))
        : h("tr", {}, h("td", { colspan: 9, class: "empty", text: "Nothing acknowledged yet." })),
    );
  }

  row(alert) {
    const took = new Date(alert.acknowledged_at) - new Date(alert.opened_at);
    return h(
      "tr",
      { "data-alert-id": alert.id },
      h("td", { text: this.ctx.store.roomName(alert.device_id) }),
      h("td", { text: alertTitle(alert.action, alert.stage) }),
      h("td", {}, timeEl(alert.opened_at)),
      h("td", { class: "who", text: alert.acknowledged_by || "–" }),
      h("td", {}, timeEl(alert.acknowledged_at)),
      h("td", { class: "took", text: formatDuration(took) }),
      h(
        "td",
        { class: "escalated-at" },
        alert.escalated_at
          ? h(
              "span",
              {},
              timeEl(alert.escalated_at, { prefix: "yes, at " }),
              alert.oncall_at ? timeEl(alert.oncall_at, { prefix: "; on call at " }) : null,
            )
          : h("span", { text: "no" }),
      ),
      h("td", { class: "outcome", text: OUTCOME_TEXT[alert.outcome] || "–" }),
      h("td", { class: "note", text: alert.ack_note || "" }),
    );
  }
}
