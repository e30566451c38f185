// Labelling queue: unsure clips, most uncertain first (the server's order). Watch the
// clip, see what the model thought, pick the label with a click or a key (1-9); the
// next clip is already loaded and shows at once, while the label is saved.
//
// Clips need the bearer token, so they are fetched as blobs and shown from object URLs.
// Edge clips are mp4v, which browsers do not decode: when the <video> refuses a clip, the
// page plays the clip's frame sheet (api/v1/clips/{id}/frames.png) on a canvas instead,
// and goes straight to frame sheets for the clips after it.

import { h, humanise, percent, replaceChildren, timeEl } from "./dom.js";

// Why the edge sent the clip (shared.messages.ClipReason), in words.
const REASONS = {
  unsure: "sent because the model was unsure",
  manual: "sent by hand",
  alert: "the clip of a confirmed fall",
};

const QUEUE_PAGE = 50;
const PREFETCH = 2;

export class LabellingView {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.queue = [];
    this.skipped = new Set();
    this.done = new Set(); // labelled here (saved or being saved): never shown again
    this.labels = [];
    this.media = new Map(); // clip id -> Promise<{kind, url, layout?}>
    this.preferFrames = false;
    this.playToken = 0;
    this.animation = null;
    this.status = h("p", { role: "status", class: "queue-status" });
    this.saved = h("p", { role: "status", class: "saved" });
    this.stage = h("div", { class: "player", "aria-live": "off" });
    this.details = h("div", { class: "clip-details" });
    this.buttons = h("div", { class: "label-buttons", role: "group", "aria-label": "Label" });
    this.workspace = h(
      "div",
      { class: "workspace" },
      h("div", { class: "clip-main" }, this.stage, this.details),
      h(
        "div",
        { class: "clip-actions" },
        h("h2", { text: "What is happening?" }),
        h("p", { class: "muted", text: "Press 1–9 for a label, S to skip." }),
        this.buttons,
        h("button", {
          type: "button",
          class: "secondary",
          "data-action": "skip",
          text: "Skip (S)",
          onclick: () => this.skip(),
        }),
      ),
    );
    section.append(this.status, this.saved, this.workspace);
    document.addEventListener("keydown", (e) => this.key(e));
  }

  get current() {
    return this.queue[0] || null;
  }

  async show() {
    this.saved.textContent = "";
    await Promise.all([this.loadLabels(), this.loadQueue()]);
    this.render();
  }

  async loadLabels() {
    try {
      const models = await this.ctx.api.get("/models");
      const production = models.find((m) => m.status === "production");
      this.labels = production ? production.labels : [];
    } catch {
      this.labels = []; // the clip's own labels still offer a choice
    }
  }

  async loadQueue() {
    this.status.textContent = "Loading clips…";
    try {
      const clips = await this.ctx.api.get("/clips", { labelled: false, limit: QUEUE_PAGE });
      this.queue = clips.filter((c) => !this.skipped.has(c.id) && !this.done.has(c.id));
    } catch (err) {
      this.queue = [];
      this.status.textContent = `Could not load clips: ${err.message}`;
      return false;
    }
    return true;
  }

  labelsFor(clip) {
    return [...new Set([...this.labels, ...Object.keys(clip.probabilities)])];
  }

  render() {
    const clip = this.current;
    this.stopAnimation();
    if (!clip) {
      this.workspace.hidden = true;
      this.status.textContent =
        this.skipped.size > 0
          ? `No more clips to label here (${this.skipped.size} skipped; they come back next time).`
          : "No clips to label. New unsure clips appear here when devices send them.";
      return;
    }
    this.workspace.hidden = false;
    this.workspace.dataset.clipId = clip.id;
    const left = this.queue.length;
    this.status.textContent = `${left} clip${left === 1 ? "" : "s"} to label, most uncertain first.`;
    this.renderDetails(clip);
    this.renderButtons(clip);
    this.play(clip);
    for (const next of this.queue.slice(1, 1 + PREFETCH)) this.mediaFor(next).catch(() => {});
  }

  renderDetails(clip) {
    const probabilities = Object.entries(clip.probabilities).sort((a, b) => b[1] - a[1]);
    replaceChildren(
      this.details,
      h(
        "p",
        { class: "predicted" },
        "Model's guess: ",
        h("strong", { text: humanise(clip.predicted) }),
        ` (${percent(clip.probabilities[clip.predicted])})`,
      ),
      h(
        "ul",
        { class: "probabilities", "aria-label": "Model's probabilities" },
        probabilities.map(([label, p]) =>
          h(
            "li",
            { "data-label": label },
            h("span", { class: "prob-label", text: humanise(label) }),
            h("span", { class: "bar" }, h("span", { style: { width: `${Math.round(p * 100)}%` } })),
            h("span", { class: "prob-value", text: percent(p) }),
          ),
        ),
      ),
      h(
        "p",
        { class: "muted" },
        `${this.ctx.store.roomName(clip.device_id)} · `,
        timeEl(clip.started_at),
        ` · ${REASONS[clip.reason] || clip.reason} · `,
        h("span", {
          class: "hint",
          title: `entropy ${clip.entropy.toFixed(2)}, margin ${clip.margin.toFixed(2)}`,
          text: clip.margin <= 0.15 ? "the model was torn between two answers" : "the model was unsure",
        }),
        ` · model ${clip.model_version}`,
      ),
    );
  }

  renderButtons(clip) {
    replaceChildren(
      this.buttons,
      this.labelsFor(clip).map((label, i) =>
        h(
          "button",
          {
            type: "button",
            class: "label-button",
            "data-label": label,
            "aria-keyshortcuts": i < 9 ? String(i + 1) : null,
            onclick: () => this.label(label),
          },
          i < 9 ? h("kbd", { text: String(i + 1) }) : null,
          humanise(label),
        ),
      ),
    );
  }

  /** Shortcuts act only here, and never on keys meant for a field or a dialog. */
  wantsKey(e) {
    if (!this.section.isConnected || this.section.hidden || !this.current) return false;
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    return !e.target.closest("input, textarea, select, [contenteditable], dialog");
  }

  key(e) {
    if (!this.wantsKey(e)) return;
    if (/^[1-9]$/.test(e.key)) {
      const label = this.labelsFor(this.current)[Number(e.key) - 1];
      if (label) {
        e.preventDefault();
        this.label(label);
      }
    } else if (e.key === "s" || e.key === "S") {
      e.preventDefault();
      this.skip();
    }
  }

  /** Save the label and move on at once; a failed save puts the clip back in front. */
  async label(label) {
    const clip = this.current;
    if (!clip) return;
    this.done.add(clip.id);
    this.advance();
    const room = this.ctx.store.roomName(clip.device_id);
    try {
      await this.ctx.api.put(`/clips/${clip.id}/label`, { label });
      this.saved.textContent = `Saved: the clip from ${room} is “${humanise(label)}”.`;
      this.forget(clip.id);
    } catch (err) {
      this.saved.textContent = `Could not save the label for the clip from ${room}: ${err.message}`;
      this.done.delete(clip.id);
      this.queue.unshift(clip);
      this.render();
    }
  }

  skip() {
    const clip = this.current;
    if (!clip) return;
    this.skipped.add(clip.id);
    this.forget(clip.id);
    this.advance();
  }

  async advance() {
    this.queue.shift();
    if (this.queue.length === 0) await this.loadQueue();
    this.render();
  }

  forget(clipId) {
    const media = this.media.get(clipId);
    this.media.delete(clipId);
    if (media) media.then((m) => URL.revokeObjectURL(m.url)).catch(() => {});
  }

  mediaFor(clip) {
    if (!this.media.has(clip.id)) {
      const loading = this.preferFrames ? this.fetchFrames(clip) : this.fetchVideo(clip);
      this.media.set(clip.id, loading);
      loading.catch(() => this.media.delete(clip.id));
    }
    return this.media.get(clip.id);
  }

  async fetchVideo(clip) {
    const { blob } = await this.ctx.api.blob(`/clips/${clip.id}/video`);
    return { kind: "video", url: URL.createObjectURL(blob) };
  }

  async fetchFrames(clip) {
    const { blob, headers } = await this.ctx.api.blob(`/clips/${clip.id}/frames.png`);
    const layout = {
      frames: Number(headers.get("X-Vigil-Frames")),
      columns: Number(headers.get("X-Vigil-Columns")),
      width: Number(headers.get("X-Vigil-Frame-Width")),
      height: Number(headers.get("X-Vigil-Frame-Height")),
      fps: Number(headers.get("X-Vigil-Fps")) || 10,
    };
    return { kind: "frames", url: URL.createObjectURL(blob), layout };
  }

  async play(clip) {
    const token = ++this.playToken;
    replaceChildren(this.stage, h("p", { class: "muted", text: "Loading the clip…" }));
    try {
      const media = await this.mediaFor(clip);
      if (token !== this.playToken) return;
      if (media.kind === "video") this.showVideo(clip, media, token);
      else await this.showFrames(media, token);
    } catch (err) {
      if (token === this.playToken) {
        replaceChildren(
          this.stage,
          h("p", { class: "error", text: `Could not load this clip: ${err.message}` }),
        );
      }
    }
  }

  showVideo(clip, media, token) {
    const video = h("video", {
      controls: true,
      loop: true,
      playsinline: true,
      "aria-label": `Clip from ${this.ctx.store.roomName(clip.device_id)}`,
    });
    video.muted = true;
    video.autoplay = true;
    video.addEventListener("error", async () => {
      if (token !== this.playToken) return;
      // The browser cannot decode this codec (edge clips are mp4v): use frame sheets.
      this.preferFrames = true;
      this.forget(clip.id);
      this.play(clip);
    });
    video.src = media.url;
    replaceChildren(this.stage, video);
  }

  async showFrames(media, token) {
    const image = new Image();
    image.src = media.url;
    await image.decode();
    if (token !== this.playToken) return;
    const { frames, columns, width, height, fps } = media.layout;
    const canvas = h("canvas", {
      width,
      height,
      role: "img",
      "aria-label": "The clip, played frame by frame",
      "data-player": "frames",
    });
    const context = canvas.getContext("2d");
    let frame = 0;
    const draw = () => {
      const x = (frame % columns) * width;
      const y = Math.floor(frame / columns) * height;
      context.drawImage(image, x, y, width, height, 0, 0, width, height);
      canvas.dataset.frame = String(frame);
      frame = (frame + 1) % frames;
    };
    const toggle = h("button", { type: "button", class: "secondary small", text: "Pause" });
    toggle.addEventListener("click", () => {
      if (this.animation) {
        this.stopAnimation();
        toggle.textContent = "Play";
      } else {
        this.animation = setInterval(draw, 1000 / fps);
        toggle.textContent = "Pause";
      }
    });
    draw();
    this.stopAnimation();
    this.animation = setInterval(draw, 1000 / fps);
    replaceChildren(this.stage, canvas, h("div", { class: "player-controls" }, toggle));
  }

  stopAnimation() {
    clearInterval(this.animation);
    this.animation = null;
  }
}
