// The alarm: a two-tone chime made with WebAudio (no sound file), repeated while any
// alert is open and the alarm is not muted. Browsers start audio only after a person
// has touched the page (autoplay policy), so `blocked` tells the page to ask for a tap.

const REPEAT_MS = 4000;
const MUTED_KEY = "vigil.alarmMuted";

export class Alarm extends EventTarget {
  constructor() {
    super();
    this.muted = localStorage.getItem(MUTED_KEY) === "1";
    this.context = null;
    this.timer = null;
    this.active = false;
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

  setMuted(muted) {
    this.muted = muted;
    localStorage.setItem(MUTED_KEY, muted ? "1" : "0");
    if (!muted) this.unlock();
    this.changed();
  }

  /** Ring (repeating) while `active`; silence otherwise. */
  setActive(active) {
    if (active === this.active) return;
    this.active = active;
    clearInterval(this.timer);
    this.timer = null;
    if (active) {
      this.chime();
      this.timer = setInterval(() => this.chime(), REPEAT_MS);
    }
    this.changed();
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  chime() {
    if (this.muted || this.blocked) return;
    const ctx = this.context;
    const start = ctx.currentTime + 0.02;
    [880, 660, 880].forEach((frequency, i) => this.tone(frequency, start + i * 0.25, 0.2));
  }

  tone(frequency, at, length) {
    const ctx = this.context;
    const oscillator = ctx.createOscillator();
    const gain = ctx.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = frequency;
    // A short attack and release: no clicks at the edges of the tone.
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(0.35, at + 0.02);
    gain.gain.setValueAtTime(0.35, at + length - 0.05);
    gain.gain.linearRampToValueAtTime(0, at + length);
    oscillator.connect(gain).connect(ctx.destination);
    oscillator.start(at);
    oscillator.stop(at + length);
  }
}
