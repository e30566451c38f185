// DOM building and formatting. Server text only ever becomes a Text node or an attribute
// value here: nothing in the dashboard assigns innerHTML.

/**
 * h("a", {href: "#/x", class: "tile"}, "text", child) -> element.
 * Attributes: `class`, `text` (textContent), `style` (an object), `on<event>`
 * (listeners), booleans (present when true), everything else through setAttribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "style" && typeof value === "object") {
      Object.assign(el.style, value); // CSSOM: allowed by the page's CSP, unlike style=""
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

// -- words ---------------------------------------------------------------------------

/** "sitting_down" -> "Sitting down"; "fall_forward" -> "Fall forward". */
export function humanise(label) {
  if (!label) return "";
  const words = String(label).replaceAll("_", " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function isFall(action) {
  // shared/labels.py is_fall_label: `falling`, or UP-Fall's fall_* names.
  return action === "falling" || String(action).startsWith("fall");
}

/** What a caregiver calls an alert's action (at its stage, for a two-stage fall). */
export function alertTitle(action, stage = null) {
  if (stage === "possible") return "Possible fall";
  if (stage === "recovered") return "Possible fall, got up";
  if (isFall(action)) return "Fall";
  // edge/events.py: `long_lie` follows a fall; lying_on_floor alone is a warning.
  if (action === "long_lie" || action === "lying_on_floor") return "Long lie";
  return humanise(action);
}

/** A model's probability in the words a carer reads at a glance (the number in a hint). */
export function likelihood(value) {
  if (value === null || value === undefined) return "–";
  if (value >= 0.9) return "very likely";
  if (value >= 0.7) return "likely";
  return "possible";
}

export function percent(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)} %`;
}

export function fixed(value, digits = 2) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
}

export function bytes(size) {
  if (typeof size !== "number") return "–";
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} kB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

// -- time (always shown in the viewer's own time zone) -------------------------------

const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const dateAndTime = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "medium",
});
const shortTime = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

export function toDate(value) {
  return value instanceof Date ? value : new Date(value);
}

/** Today's times as a time only; older ones with their date. */
export function formatWhen(value) {
  if (!value) return "–";
  const date = toDate(value);
  const today = new Date();
  return date.toDateString() === today.toDateString()
    ? timeOnly.format(date)
    : dateAndTime.format(date);
}

export function formatFull(value) {
  return value ? dateAndTime.format(toDate(value)) : "";
}

export function formatShortTime(value) {
  return shortTime.format(toDate(value));
}

/** 75_000 -> "1 min 15 s"; rounded to what a person reads at a glance. */
export function formatDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function formatAgo(value, now = Date.now()) {
  if (!value) return "never";
  return `${formatDuration(now - toDate(value).getTime())} ago`;
}

/**
 * A <time> element showing `value` in local time; with `ago` it shows the time elapsed
 * since (prefix + "4 min 12 s" + suffix), kept current by tickRelativeTimes.
 */
export function timeEl(value, { ago = false, prefix = "", suffix = " ago" } = {}) {
  if (!value) return h("span", { text: ago ? "never" : "–" });
  const iso = toDate(value).toISOString();
  const el = h("time", { datetime: iso, title: formatFull(value) });
  if (ago) {
    el.dataset.ago = iso;
    el.dataset.prefix = prefix;
    el.dataset.suffix = suffix;
    el.textContent = relative(el, Date.now());
  } else {
    el.textContent = prefix + formatWhen(value);
  }
  return el;
}

function relative(el, now) {
  const elapsed = now - new Date(el.dataset.ago).getTime();
  return el.dataset.prefix + formatDuration(elapsed) + el.dataset.suffix;
}

export function tickRelativeTimes(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll("[data-ago]")) el.textContent = relative(el, now);
}

/** A row of toggle buttons (`.segmented`), one pressed: [[label, value], ...]; `pick(value)`
 * on a click. */
export function segmentedButtons(options, current, pick) {
  return options.map(([label, value]) =>
    h("button", {
      type: "button",
      class: "secondary",
      "aria-pressed": String(value === current),
      text: label,
      onclick: () => pick(value),
    }),
  );
}
