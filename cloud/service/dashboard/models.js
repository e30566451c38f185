// Models and training (admin only): model versions side by side, promote and roll back
// (each confirmed first), start a retraining job and follow it (training.js).

import { confirmDialog } from "./dialog.js";
import { bytes, fixed, h, humanise, replaceChildren, timeEl } from "./dom.js";
import { ACTIVE, JobCard, trainingForm } from "./training.js";

const POLL_MS = 2000;

const METRICS = [
  ["Accuracy", (m) => m.accuracy_window ?? m.accuracy_clip ?? m.accuracy, (v) => fixed(v, 3), 1],
  ["Macro-F1", (m) => m.macro_f1, (v) => fixed(v, 3), 1],
  ["Fall recall", (m) => m.fall_recall, (v) => fixed(v, 3), 1],
  ["Latency", (m) => m.ort_latency_ms, (v) => (v == null ? "–" : `${fixed(v, 2)} ms`), -1],
];

export class ModelsView {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.models = [];
    this.jobs = new Map(); // job id -> JobCard
    this.timer = null;
    this.message = h("p", { role: "status", class: "saved" });
    this.table = h("div", { class: "table-wrap" });
    this.history = h("ol", { class: "history" });
    this.jobList = h("div", { class: "jobs" });
    this.form = trainingForm((body) => this.startJob(body));
    section.append(
      this.message,
      h(
        "div",
        { class: "section-head" },
        h("h2", { text: "Model versions" }),
        h("button", {
          type: "button",
          class: "secondary",
          "data-action": "rollback",
          text: "Roll back…",
          onclick: () => this.rollback(),
        }),
      ),
      this.table,
      h("details", {}, h("summary", { text: "Promotion history" }), this.history),
      h("h2", { text: "Retrain" }),
      this.form,
      h("h2", { text: "Training jobs" }),
      this.jobList,
    );
  }

  async show() {
    await Promise.all([this.loadModels(), this.loadJobs()]);
  }

  hide() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  async loadModels() {
    try {
      const [models, history] = await Promise.all([
        this.ctx.api.get("/models"),
        this.ctx.api.get("/models/history"),
      ]);
      this.models = models;
      this.renderModels();
      replaceChildren(
        this.history,
        history.length
          ? history.map((p) =>
              h(
                "li",
                {},
                timeEl(p.promoted_at),
                ` ${p.version} by ${p.promoted_by}`,
                p.previous_version ? ` (was ${p.previous_version})` : "",
                `: ${p.reason}`,
              ),
            )
          : h("li", { text: "No promotions yet." }),
      );
    } catch (err) {
      this.message.textContent = `Could not load models: ${err.message}`;
    }
  }

  renderModels() {
    if (this.models.length === 0) {
      replaceChildren(
        this.table,
        h("p", { class: "empty", text: "No model versions yet: train one below." }),
      );
      return;
    }
    const best = METRICS.map(([, get, , sign]) => {
      const values = this.models.map((m) => get(m.metrics)).filter((v) => typeof v === "number");
      return values.length ? (sign > 0 ? Math.max(...values) : Math.min(...values)) : null;
    });
    const head = ["Version", ...METRICS.map((m) => m[0]), "Size", ""];
    replaceChildren(
      this.table,
      h(
        "table",
        { class: "models" },
        h("caption", { text: "Test metrics of each version (best in bold)" }),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            head.map((t) => h("th", { scope: "col", text: t })),
          ),
        ),
        h(
          "tbody",
          {},
          this.models.map((m) => this.modelRow(m, best)),
        ),
      ),
    );
  }

  modelRow(model, best) {
    const production = model.status === "production";
    return h(
      "tr",
      { "data-version": model.version, class: production ? "production" : null },
      h(
        "th",
        { scope: "row" },
        h("span", { class: "version", text: model.version }),
        h(
          "span",
          { class: "version-meta" },
          h("span", {
            class: `pill ${production ? "ok" : "unknown"}`,
            text: humanise(model.status),
          }),
          " ",
          timeEl(model.created_at),
        ),
      ),
      METRICS.map(([, get, show], i) => {
        const value = get(model.metrics);
        return h("td", {
          class: value != null && value === best[i] ? "num best" : "num",
          text: show(value),
        });
      }),
      h("td", { class: "num", text: bytes(model.size_bytes) }),
      h(
        "td",
        {},
        production
          ? null
          : h("button", {
              type: "button",
              class: "secondary small",
              text: "Promote…",
              "aria-label": `Promote ${model.version}`,
              onclick: () => this.promote(model),
            }),
      ),
    );
  }

  async promote(model) {
    const answer = await confirmDialog({
      title: `Promote ${model.version}?`,
      message: "It becomes the production model and every site's devices are told to switch to it.",
      confirmText: "Promote",
      reason: "promoted by hand",
    });
    if (!answer) return;
    await this.registryCall(`/models/${encodeURIComponent(model.version)}/promote`, {
      reason: answer.reason || "promoted by hand",
    });
  }

  async rollback() {
    const answer = await confirmDialog({
      title: "Roll back the production model?",
      message: "The production model before the current one comes back, and devices are told.",
      confirmText: "Roll back",
    });
    if (!answer) return;
    await this.registryCall("/models/rollback", {});
  }

  async registryCall(path, body) {
    try {
      const result = await this.ctx.api.post(path, body);
      const told = result.announced_sites;
      this.message.textContent =
        `${result.model.version} is now in production. ` +
        (result.announce_error
          ? `Devices were NOT told: ${result.announce_error}`
          : `Announced to ${told && told.length ? told.join(", ") : "no sites yet"}.`);
    } catch (err) {
      this.message.textContent = `Not done: ${err.message}`;
    }
    await this.loadModels();
  }

  async startJob(body) {
    try {
      const job = await this.ctx.api.post("/training-jobs", body);
      this.message.textContent = `Training job ${job.id.slice(0, 8)} queued.`;
      await this.loadJobs();
      return null;
    } catch (err) {
      return err.message;
    }
  }

  async loadJobs() {
    clearTimeout(this.timer);
    let jobs = [];
    try {
      jobs = await this.ctx.api.get("/training-jobs", { limit: 10 });
    } catch (err) {
      this.message.textContent = `Could not load training jobs: ${err.message}`;
    }
    this.renderJobs(jobs);
    if (this.section.hidden) return;
    if (jobs.some((j) => ACTIVE.has(j.status))) {
      this.timer = setTimeout(() => this.loadJobs(), POLL_MS);
    }
  }

  renderJobs(jobs) {
    if (jobs.length === 0) {
      replaceChildren(this.jobList, h("p", { class: "empty", text: "No training jobs yet." }));
      this.jobs.clear();
      return;
    }
    const cards = jobs.map((job) => {
      let card = this.jobs.get(job.id);
      if (!card) {
        card = new JobCard(job, this.ctx, () => this.loadJobs());
        this.jobs.set(job.id, card);
      }
      if (card.update(job)) this.loadModels(); // it just finished: a new version may exist
      return card.el;
    });
    if (
      cards.some((el, i) => this.jobList.children[i] !== el) ||
      cards.length !== this.jobList.children.length
    ) {
      replaceChildren(this.jobList, cards);
    }
  }
}
