// The alarm: a two-tone chime made with WebAudio (no sound file), repeated while any
// alert is open and the alarm is not muted. Browsers start audio only after a person
// has touched the page (autoplay policy), so `blocked` tells the page to ask for a tap.
//
// A mute silences the alerts open when it was pressed, for `muteMaxMs` at most: a new
// alert, a possible fall confirmed (the banners ring for it as a new key), one escalating, the time running out, the last of them closing or a
// reload ends it. Nothing is stored, so no tablet stays silent because somebody muted it
// yesterday. While an open alert is escalated (nobody answered in time) the chime is the
// urgent one: higher, louder, three times as often; while only warnings are open (a
// possible fall not confirmed yet, a room gone dark) it is a single soft tone every 10 s.

const REPEAT_MS = 4000;
const URGENT_REPEAT_MS = 1500;
const CALM_REPEAT_MS = 10000;
const CHIME = { tones: [880, 660, 880], gain: 0.35 };
const URGENT = { tones: [1320, 990, 1320, 990], gain: 0.6 };
const CALM = { tones: [660], gain: 0.2 };
export const DEFAULT_MUTE_MAX_S = 300;

export class Alarm extends EventTarget {
  constructor() {
    super();
    this.muteMaxMs = DEFAULT_MUTE_MAX_S * 1000;
    this.mutedUntil = 0; // Date.now() when the mute ends; 0: not muted
    this.mutedAlerts = new Set(); // the alerts the mute was for
    this.openAlerts = new Set();
    this.escalated = new Set(); // open alerts nobody answered in time
    this.critical = false; // a critical alert is open (not only rooms gone dark)
    this.muteEnd = null; // the timeout that ends the mute
    this.muteTick = null; // the interval that counts it down
    this.context = null;
    this.timer = null;
    this.active = false;
  }

  get muted() {
    return this.mutedUntil > 0;
  }

  /** Milliseconds the mute has left (0 when not muted). */
  get muteLeftMs() {
    return this.muted ? Math.max(0, this.mutedUntil - Date.now()) : 0;
  }

  /** Silence the alerts open now, for `muteMaxMs` at most. */
  mute() {
    if (this.openAlerts.size === 0) return; // nothing to silence: the next alert rings
    this.clearMute();
    this.mutedUntil = Date.now() + this.muteMaxMs;
    this.mutedAlerts = new Set(this.openAlerts);
    this.muteEnd = setTimeout(() => this.unmute(), this.muteMaxMs);
    this.muteTick = setInterval(() => this.changed(), 1000); // the countdown
    this.changed();
  }

  unmute() {
    const was = this.muted;
    this.clearMute();
    this.unlock();
    if (was && this.active) this.chime();
    this.changed();
  }

  clearMute() {
    clearTimeout(this.muteEnd);
    clearInterval(this.muteTick);
    this.muteEnd = this.muteTick = null;
    this.mutedUntil = 0;
    this.mutedAlerts = new Set();
  }

  get urgent() {
    return this.escalated.size > 0;
  }

  get calm() {
    return !this.critical && !this.urgent;
  }

  get cadence() {
    if (this.urgent) return URGENT_REPEAT_MS;
    return this.calm ? CALM_REPEAT_MS : REPEAT_MS;
  }

  /** The open alerts' ids and the escalated ones among them: ring while there are any;
   * a new alert, or one that escalates, ends a mute. */
  setOpen(ids, escalatedIds = [], critical = true) {
    const before = this.escalated;
    const cadence = this.cadence;
    this.openAlerts = new Set(ids);
    this.escalated = new Set(escalatedIds);
    this.critical = critical;
    const fresh = [...this.openAlerts].some((id) => !this.mutedAlerts.has(id));
    const newlyEscalated = [...this.escalated].some((id) => !before.has(id));
    if (this.muted && this.openAlerts.size === 0) this.clearMute(); // nothing left to ring for
    else if (this.muted && (fresh || newlyEscalated)) this.unmute();
    if (this.active && this.cadence !== cadence) this.setActive(false); // a new cadence
    this.setActive(this.openAlerts.size > 0);
  }

  /** Call from a user gesture: creates or resumes the audio context. */
  unlock() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!this.context) {
      this.context = new Context();
      this.context.addEventListener("statechange", () => this.changed());
    }
    if (this.context.state === "suspended") this.context.resume().catch(() => {});
  }

  get blocked() {
    return !this.context || this.context.state !== "running";
  }

  get sounding() {
    return this.active && !this.muted && !this.blocked;
  }

  /** Ring (repeating) while `active`; silence otherwise (use `setOpen`). */
  setActive(active) {
    if (active === this.active) return;
    this.active = active;
    clearInterval(this.timer);
    this.timer = null;
    if (active) {
      this.chime();
      this.timer = setInterval(() => this.chime(), this.cadence);
    }
    this.changed();
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  /** One chime now (unless muted or blocked): the alarm's, or a test of the sound. */
  chime() {
    if (this.muted || this.blocked) return;
    const ctx = this.context;
    const start = ctx.currentTime + 0.02;
    const { tones, gain } = this.urgent ? URGENT : this.calm ? CALM : CHIME;
    tones.forEach((frequency, i) => this.tone(frequency, start + i * 0.25, 0.2, gain));
  }

  tone(frequency, at, length, level) {
    const ctx = this.context;
    const oscillator = ctx.createOscillator();
    const gain = ctx.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = frequency;
    // A short attack and release: no clicks at the edges of the tone.
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(level, at + 0.02);
    gain.gain.setValueAtTime(level, at + length - 0.05);
    gain.gain.linearRampToValueAtTime(0, at + length);
    oscillator.connect(gain).connect(ctx.destination);
    oscillator.start(at);
    oscillator.stop(at + length);
  }
}
