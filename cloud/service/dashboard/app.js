// The Vigil dashboard: sign-in, the views (routed by the URL's #hash), the live stream.

import { AlertBanners, AlertsView } from "./alerts.js";
import { Api, probeRole } from "./api.js";
import { DeviceView } from "./device.js";
import { $, formatDuration, h, replaceChildren, tickRelativeTimes } from "./dom.js";
import { LabellingView } from "./labelling.js";
import { LiveStream } from "./live.js";
import { ModelsView } from "./models.js";
import { OverviewView } from "./overview.js";
import { ReportsView } from "./reports.js";
import { Alarm } from "./sound.js";
import { Store } from "./store.js";
import { TimelineView } from "./timeline.js";

const SESSION_KEY = "vigil.session";
// Why the last session ended (a revoked token), kept so that a reload still says it.
const NOTICE_KEY = "vigil.signed-out";

const VIEWS = [
  { name: "overview", title: "Overview", View: OverviewView },
  { name: "alerts", title: "Alerts", View: AlertsView },
  { name: "timeline", title: "Live timeline", View: TimelineView },
  { name: "devices", title: "Device", View: DeviceView, hiddenInNav: true, ownHeading: true },
  { name: "labelling", title: "Labelling", View: LabellingView },
  { name: "reports", title: "Reports", View: ReportsView },
  { name: "models", title: "Models and training", View: ModelsView, adminOnly: true },
];

// -- session ---------------------------------------------------------------------------

function savedSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    return session && session.token && session.role ? session : null;
  } catch {
    return null;
  }
}

function showSignIn(message = "") {
  $("#shell").hidden = true;
  $("#signin").hidden = false;
  $("#signin-error").textContent = message;
  $("#token").value = "";
  $("#token").focus();
}

async function signIn(event) {
  event.preventDefault();
  const token = $("#token").value.trim();
  const error = $("#signin-error");
  const button = $("#signin button[type=submit]");
  if (!token) {
    error.textContent = "Enter your access token.";
    return;
  }
  error.textContent = "";
  button.disabled = true;
  try {
    const role = await probeRole(token);
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token, role }));
    sessionStorage.removeItem(NOTICE_KEY);
    start({ token, role }, { gesture: true });
  } catch (err) {
    error.textContent = err.message;
    $("#token").select();
  } finally {
    button.disabled = false;
  }
}

// -- the signed-in page ------------------------------------------------------------------

let running = null;

function start(session, { gesture = false } = {}) {
  const alarm = new Alarm();
  const store = new Store();
  const api = new Api(session.token, {
    onUnauthorised: () => signOut("Your token is no longer accepted. Please sign in again."),
  });
  const ctx = { api, store, alarm, role: session.role, announce };
  if (gesture) {
    alarm.unlock(); // the sign-in click lets the page make sound
  } else {
    unlockOnFirstTouch(alarm);
  }
  $("#signin").hidden = true;
  $("#shell").hidden = false;
  $("#role").textContent = session.role === "admin" ? "Admin" : "Viewer";
  buildNav(session.role);
  const views = buildViews(ctx);
  const banners = new AlertBanners($("#alert-banners"), ctx);
  wireSoundToggle(alarm);
  loadPageSettings(ctx);
  const live = liveStream(ctx);
  const ticker = setInterval(() => tickRelativeTimes(), 1000);
  running = { live, ticker, alarm, views, banners };
  window.addEventListener("hashchange", route);
  live.start();
  route();
  if (gesture) running.views.get(currentName()).heading.focus();
  resync(ctx);
}

function liveStream(ctx) {
  const { api, store } = ctx;
  return new LiveStream(() => api.streamUrl(), {
    onMessage: (kind, data) => receive(store, kind, data),
    onState: (state) => showConnection(state),
    resync: () => resync(ctx),
    // Whether to keep trying: not when the token itself is refused.
    checkToken: () =>
      api.get("/alerts", { limit: 1 }).then(
        () => true,
        (err) => err.status !== 401,
      ),
  });
}

// The sound button in the header says what this screen will really do for an alert:
// ring, stay muted for a while longer, or nothing until somebody taps it.
function wireSoundToggle(alarm) {
  const toggle = $("#sound-toggle");
  const show = () => {
    const on = !alarm.muted && !alarm.blocked;
    toggle.setAttribute("aria-pressed", String(on));
    toggle.dataset.state = alarm.blocked ? "blocked" : alarm.muted ? "muted" : "on";
    if (alarm.blocked) {
      toggle.textContent = "Tap for sound";
      toggle.title = "This screen cannot ring for alerts until it is tapped";
    } else if (alarm.muted) {
      toggle.textContent = `Muted ${formatDuration(alarm.muteLeftMs)}`;
      toggle.title = "Unmute: ring again for the open alerts";
    } else {
      toggle.textContent = "Sound on";
      toggle.title = alarm.active ? "Mute the open alerts for a while" : "Play the alarm once";
    }
  };
  // As shown, not as now: the page's first tap may unlock the sound before this click.
  toggle.onclick = () => {
    const shown = toggle.dataset.state;
    if (shown === "blocked") alarm.unlock();
    else if (shown === "muted") alarm.unmute();
    else if (alarm.active) alarm.mute();
    else alarm.chime(); // no alert open: a test of the sound
  };
  alarm.addEventListener("change", show);
  show();
}

/** The service's settings the page follows; the built-in defaults until they arrive. */
async function loadPageSettings(ctx) {
  try {
    const settings = await ctx.api.get("/dashboard/settings");
    ctx.alarm.muteMaxMs = settings.mute_max_s * 1000;
  } catch (err) {
    console.warn("dashboard settings not loaded; using defaults", err);
  }
}

function currentName() {
  const name = location.hash.split("/")[1];
  return running && running.views.has(name) ? name : "overview";
}

function signOut(message = "") {
  if (running) {
    running.live.stop();
    running.alarm.setOpen([]);
    clearInterval(running.ticker);
    for (const { view } of running.views.values()) if (view.hide) view.hide();
    window.removeEventListener("hashchange", route);
    replaceChildren($("#alert-banners"));
    replaceChildren($("#views"));
    running = null;
  }
  sessionStorage.removeItem(SESSION_KEY);
  if (message) sessionStorage.setItem(NOTICE_KEY, message);
  showSignIn(message);
}

function unlockOnFirstTouch(alarm) {
  const unlock = () => {
    alarm.unlock();
    document.removeEventListener("pointerdown", unlock);
    document.removeEventListener("keydown", unlock);
  };
  document.addEventListener("pointerdown", unlock);
  document.addEventListener("keydown", unlock);
}

function buildNav(role) {
  const links = VIEWS.filter((v) => !v.hiddenInNav && (!v.adminOnly || role === "admin")).map((v) =>
    h("li", {}, h("a", { href: `#/${v.name}`, "data-view": v.name, text: v.title })),
  );
  replaceChildren($("#nav-links"), links);
}

function buildViews(ctx) {
  const views = new Map();
  const container = $("#views");
  replaceChildren(container);
  for (const spec of VIEWS) {
    if (spec.adminOnly && ctx.role !== "admin") continue;
    const id = `heading-${spec.name}`;
    const heading = spec.ownHeading ? null : h("h1", { id, tabindex: -1, text: spec.title });
    const section = h(
      "section",
      { id: `view-${spec.name}`, "aria-labelledby": id, hidden: true },
      heading,
    );
    container.append(section);
    const view = new spec.View(section, ctx);
    views.set(spec.name, { spec, section, heading: view.focusTarget || heading, view });
  }
  return views;
}

/** #/name[/argument] -> that view; unknown or forbidden names go to the overview. */
function route() {
  if (!running) return;
  const [, name, argument] = location.hash.split("/").map(decodeURIComponent);
  const target = running.views.get(currentName());
  if (name !== target.spec.name && location.hash) history.replaceState(null, "", "#/overview");
  for (const entry of running.views.values()) {
    if (entry !== target && !entry.section.hidden) {
      entry.section.hidden = true;
      if (entry.view.hide) entry.view.hide();
    }
  }
  target.section.hidden = false;
  for (const link of document.querySelectorAll("#nav-links a")) {
    const current = link.dataset.view === target.spec.name;
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${target.spec.title} · Vigil`;
  target.view.show(argument);
  // Move focus to the new view's heading (not on the first load: nothing was chosen yet).
  if (location.hash && document.activeElement !== target.heading) target.heading.focus();
}

// -- live data ---------------------------------------------------------------------------

function receive(store, kind, data) {
  if (kind === "event") store.addEvents([data]);
  else if (kind === "alert") store.upsertAlert(data);
  else if (kind === "device") store.upsertDevice(data);
}

/** Everything the page shows, from REST: at start and after the stream reconnects. */
async function resync(ctx) {
  const { api, store } = ctx;
  store.beginSync();
  try {
    const [devices, alerts, events] = await Promise.all([
      api.get("/devices"),
      api.get("/alerts", { state: "open", limit: 1000 }),
      api.get("/events", { limit: 500 }),
    ]);
    store.addEvents(events);
    const quiet = devices.filter((d) => !store.latest.has(d.id)).slice(0, 100);
    const latest = await Promise.all(
      quiet.map((d) => api.get("/events", { device_id: d.id, limit: 1 }).catch(() => [])),
    );
    latest.flat().forEach((e) => store.setLatest(e));
    store.endSync(devices, alerts);
  } catch (err) {
    store.endSync([...store.devices.values()], [...store.openAlerts.values()]);
    if (err.status !== 401) announce(`Could not load the latest data: ${err.message}`);
  }
}

function showConnection(state) {
  const indicator = $("#connection");
  const bar = $("#connection-lost");
  indicator.dataset.state = state;
  indicator.textContent = {
    live: "Live",
    connecting: "Connecting…",
    reconnecting: "Reconnecting…",
  }[state];
  bar.hidden = state !== "reconnecting";
}

function announce(text) {
  const region = $("#announcer");
  region.textContent = "";
  // A fresh text node, a moment later: screen readers announce a repeated message too.
  setTimeout(() => (region.textContent = text), 50);
}

// -- boot --------------------------------------------------------------------------------

$("#signin-form").addEventListener("submit", signIn);
$("#signout").addEventListener("click", () => signOut());
const session = savedSession();
if (session) start(session);
else showSignIn(sessionStorage.getItem(NOTICE_KEY) || "");
