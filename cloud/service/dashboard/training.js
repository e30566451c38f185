// Retraining: the form that starts a job, and a job's card (progress, losses, result,
// training curves), updated in place while the Models view polls.

import { confirmDialog } from "./dialog.js";
import { fixed, formatDuration, h, humanise, replaceChildren, timeEl } from "./dom.js";

// cloud/pipeline.py: a sweep trains the KD student once per (T, lam) in
// SWEEP_TEMPERATURES x SWEEP_LAMBDAS, 4 x 2.
const SWEEP_RUNS = 8;
const STAGES = {
  teacher: "teacher",
  student_scratch: "student without distillation",
  student_kd: "student with distillation",
};
export const ACTIVE = new Set(["queued", "running"]);

/** "student_kd(T=4,lam=0.1)" (a sweep's model name) -> "student with distillation (T=4,lam=0.1)". */
function stageName(name) {
  if (!name) return "";
  const [base, ...rest] = String(name).split("(");
  return `${STAGES[base] || humanise(base)}${rest.length ? ` (${rest.join("(")}` : ""}`;
}

/** Progress as (epochs done, epochs planned) over every model the pipeline trains. */
export function jobProgress(job) {
  const p = job.params;
  // A fourth student when there are unlabelled clips (none: the bar jumps to done at the end).
  const students = 1 + (p.sweep ? SWEEP_RUNS : 1) + (p.unlabeled_clips ? 1 : 0);
  const planned = (p.teacher_epochs || p.epochs) + p.epochs * students;
  if (job.status === "succeeded") return { done: planned, planned };
  const done = Math.min(planned - 1, (job.progress.history || []).length);
  return { done, planned };
}

export class JobCard {
  constructor(job, ctx, reload) {
    this.ctx = ctx;
    this.reload = reload;
    this.status = null;
    this.pill = h("span", { class: "pill" });
    this.bar = h("progress", { "aria-labelledby": `job-${job.id}-progress` });
    this.progressText = h("span", { id: `job-${job.id}-progress`, class: "progress-text" });
    this.losses = h("p", { class: "losses" });
    this.result = h("div", { class: "job-result" });
    this.curves = h("div", { class: "curves" });
    this.cancel = h("button", {
      type: "button",
      class: "secondary small",
      text: "Cancel job",
      onclick: () => this.cancelJob(job),
    });
    this.el = h(
      "article",
      { class: "job", "data-job-id": job.id },
      h(
        "header",
        {},
        h("h3", { text: `Job ${job.id.slice(0, 8)}` }),
        this.pill,
        h("span", { class: "muted" }, "by ", job.created_by, ", ", timeEl(job.created_at)),
        this.cancel,
      ),
      h("p", { class: "muted", text: describeParams(job.params) }),
      h("div", { class: "progress-line" }, this.bar, this.progressText),
      this.losses,
      this.result,
      this.curves,
    );
  }

  /** Show the job's state; returns true when it has just finished. */
  update(job) {
    const finished = this.status !== null && ACTIVE.has(this.status) && !ACTIVE.has(job.status);
    this.status = job.status;
    this.el.dataset.status = job.status;
    this.pill.className = `pill ${{ succeeded: "ok", failed: "bad", cancelled: "bad" }[job.status] || "busy"}`;
    this.pill.textContent = humanise(job.status);
    this.cancel.hidden = !ACTIVE.has(job.status) || job.cancel_requested;
    this.renderProgress(job);
    this.renderResult(job);
    if (job.status === "succeeded" && !this.curves.firstChild) this.loadCurves(job);
    return finished;
  }

  renderProgress(job) {
    const { done, planned } = jobProgress(job);
    const progress = job.progress || {};
    if (job.status === "queued") {
      this.bar.removeAttribute("value");
      this.progressText.textContent = "Waiting for a worker…";
    } else {
      this.bar.max = planned;
      this.bar.value = done;
      this.progressText.textContent = progressLine(job, progress, done, planned);
    }
    const latest = progress.latest;
    this.losses.textContent = latest
      ? `Last epoch (${stageName(latest.model)}): training loss ${fixed(latest.train_loss, 3)}, ` +
        `validation macro-F1 ${fixed(latest.val_macro_f1, 3)}, accuracy ${fixed(latest.val_accuracy, 3)}`
      : "";
  }

  renderResult(job) {
    const parts = [];
    if (job.error) parts.push(h("pre", { class: "notice warn", text: job.error }));
    if (job.model_version)
      parts.push(h("p", {}, "New version: ", h("strong", { text: job.model_version })));
    if (job.promotion) {
      const decision = job.promotion.promote ? "Promoted" : "Not promoted";
      parts.push(h("p", { text: `${decision}: ${job.promotion.reason || ""}` }));
    }
    if (job.started_at && job.finished_at) {
      const took = new Date(job.finished_at) - new Date(job.started_at);
      parts.push(h("p", { class: "muted", text: `Took ${formatDuration(took)}.` }));
    }
    replaceChildren(this.result, parts);
  }

  async loadCurves(job) {
    this.curves.append(h("p", { class: "muted", text: "Loading the training curves…" }));
    try {
      const { blob } = await this.ctx.api.blob(`/training-jobs/${job.id}/curves.png`);
      const img = h("img", {
        alt: `Training curves of job ${job.id.slice(0, 8)}: loss and validation scores per epoch`,
      });
      const url = URL.createObjectURL(blob);
      img.src = url;
      const full = h("a", {
        href: url,
        target: "_blank",
        rel: "noopener",
        text: "Open the curves full size",
      });
      replaceChildren(this.curves, img, h("p", {}, full));
    } catch (err) {
      replaceChildren(
        this.curves,
        h("p", { class: "muted", text: `No training curves: ${err.message}` }),
      );
    }
  }

  async cancelJob(job) {
    const answer = await confirmDialog({
      title: `Cancel job ${job.id.slice(0, 8)}?`,
      message: "A running job is stopped; what it trained so far is discarded.",
      confirmText: "Cancel the job",
    });
    if (!answer) return;
    try {
      await this.ctx.api.post(`/training-jobs/${job.id}/cancel`);
    } catch (err) {
      this.result.prepend(h("p", { class: "error", text: `Could not cancel: ${err.message}` }));
    }
    this.reload();
  }
}

function progressLine(job, progress, done, planned) {
  if (job.status === "succeeded") return `Done: ${planned} of ${planned} epochs`;
  if (job.status !== "running") return `Stopped after ${done} of ${planned} epochs`;
  if (!progress.latest) return progress.stage === "dataset" ? "Training…" : "Preparing the data…";
  const last = `${stageName(progress.latest.model)}, epoch ${progress.epoch}`;
  return `${done} of ${planned} epochs done · last: ${last}`;
}

function describeParams(p) {
  const data =
    p.dataset.kind === "synthetic"
      ? `synthetic scenes, ${p.dataset.clips_per_class} clips per class at ${p.dataset.size} px`
      : `folder ${p.dataset.path}`;
  const kd = p.sweep
    ? "distillation settings tried in a sweep"
    : `distillation softness ${p.temperature} (T), label weight ${p.lam} (λ)`;
  const epochs = `${p.epochs} epoch${p.epochs === 1 ? "" : "s"}`;
  const teacher = `${p.teacher === "pose" ? "pose" : "3D CNN"} teacher`;
  const clips = [
    p.include_labelled_clips ? "labelled clips added" : "",
    p.unlabeled_clips ? "distilled on unlabelled clips" : "",
    p.student_crop === "motion" ? "student on the motion crop" : "",
  ].filter(Boolean);
  return [data, ...clips, epochs, teacher, kd, `promotion: ${humanise(p.promotion)}`].join(" · ");
}

// -- the retraining form ---------------------------------------------------------------

function field(id, label, input, hint = null) {
  input.id = id;
  input.name = id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id, text: label }),
    input,
    hint ? h("small", { id: `${id}-hint`, text: hint }) : null,
  );
}

function number(value, { min, max, step = 1 }) {
  return h("input", {
    type: "number",
    value,
    min,
    max,
    step,
    inputmode: step === 1 ? "numeric" : "decimal",
  });
}

export function trainingForm(submit) {
  const kind = (value, label, checked) =>
    h(
      "label",
      { class: "choice" },
      h("input", { type: "radio", name: "dataset-kind", value, checked }),
      label,
    );
  const synthetic = h(
    "div",
    { class: "field-row", "data-dataset": "synthetic" },
    field("clips_per_class", "Clips per class", number(12, { min: 2, max: 200 })),
    field("size", "Frame size (px)", number(112, { min: 32, max: 320 })),
    field("seconds", "Seconds per clip", number(4, { min: 1, max: 30, step: 0.5 })),
    field("fps", "Frames per second", number(15, { min: 5, max: 30 })),
  );
  const folder = h(
    "div",
    { class: "field-row", "data-dataset": "folder", hidden: true },
    field(
      "path",
      "Folder",
      h("input", { type: "text", autocomplete: "off" }),
      "Under one of the server's dataset roots",
    ),
  );
  const error = h("p", { class: "error", role: "alert" });
  const button = h("button", { type: "submit", class: "primary", text: "Start training" });
  const form = h(
    "form",
    { class: "training-form", novalidate: true },
    h(
      "fieldset",
      {},
      h("legend", { text: "Dataset" }),
      h(
        "div",
        { class: "choices" },
        kind("synthetic", "Synthetic scenes", true),
        kind("folder", "Video folder", false),
      ),
      synthetic,
      folder,
    ),
    h(
      "fieldset",
      {},
      h("legend", { text: "Training" }),
      h(
        "div",
        { class: "field-row" },
        field("epochs", "Epochs", number(30, { min: 1, max: 500 })),
        field(
          "temperature",
          "Softness of the teacher's answers (temperature T)",
          number(4, { min: 0.1, max: 50, step: 0.1 }),
        ),
        field(
          "lam",
          "Weight of the labels against the teacher (λ)",
          number(0.1, { min: 0, max: 1, step: 0.05 }),
        ),
        field(
          "teacher",
          "Teacher",
          select([
            ["cnn3d", "3D CNN (learns from the frames)"],
            ["pose", "Pose (pretrained MediaPipe; real footage)"],
          ]),
        ),
        field(
          "promotion",
          "Promotion policy",
          select([
            ["if_better", "If better than production"],
            ["never", "Never (keep as candidate)"],
            ["always", "Always"],
          ]),
        ),
      ),
      h(
        "div",
        { class: "choices" },
        h(
          "label",
          { class: "choice" },
          h("input", { type: "checkbox", id: "sweep", name: "sweep" }),
          "Sweep T and λ (8 students, keeps the best)",
        ),
        h(
          "label",
          { class: "choice" },
          h("input", {
            type: "checkbox",
            id: "include_labelled_clips",
            name: "include_labelled_clips",
          }),
          "Add the labelled clips",
        ),
        h(
          "label",
          { class: "choice" },
          h("input", { type: "checkbox", id: "unlabeled_clips", name: "unlabeled_clips" }),
          "Distil on the clips nobody has labelled yet (the teacher labels them)",
        ),
      ),
      h(
        "details",
        {},
        h("summary", { text: "More settings" }),
        h(
          "div",
          { class: "field-row" },
          field(
            "teacher_epochs",
            "Teacher epochs",
            h("input", { type: "number", min: 1, max: 500, placeholder: "as epochs" }),
          ),
          field("teacher_size", "Teacher frame size", number(112, { min: 32, max: 224 })),
          field("student_size", "Student frame size", number(32, { min: 16, max: 112 })),
          field(
            "student_crop",
            "Student sees",
            select([
              ["none", "The whole frame"],
              ["motion", "A box around what moves (experimental)"],
            ]),
          ),
          field("seed", "Seed", number(0, { min: 0 })),
        ),
      ),
    ),
    error,
    button,
  );
  form.addEventListener("change", (e) => {
    if (e.target.name !== "dataset-kind") return;
    const isFolder = form.elements["dataset-kind"].value === "folder";
    synthetic.hidden = isFolder;
    folder.hidden = !isFolder;
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    button.disabled = true;
    button.textContent = "Starting…";
    const problem = await submit(formBody(form));
    button.disabled = false;
    button.textContent = "Start training";
    if (problem) error.textContent = `The job was not started: ${problem}`;
  });
  return form;
}

/** A <select> of [value, text] pairs, the first chosen. */
function select(options) {
  return h("select", {}, ...options.map(([value, text]) => h("option", { value, text })));
}

function formBody(form) {
  const el = form.elements;
  const num = (name) => Number(el[name].value);
  const dataset =
    el["dataset-kind"].value === "folder"
      ? { kind: "folder", path: el.path.value.trim() }
      : {
          kind: "synthetic",
          clips_per_class: num("clips_per_class"),
          size: num("size"),
          seconds: num("seconds"),
          fps: num("fps"),
        };
  return {
    dataset,
    epochs: num("epochs"),
    teacher_epochs: el.teacher_epochs.value ? num("teacher_epochs") : null,
    temperature: num("temperature"),
    lam: num("lam"),
    sweep: el.sweep.checked,
    include_labelled_clips: el.include_labelled_clips.checked,
    unlabeled_clips: el.unlabeled_clips.checked,
    teacher: el.teacher.value,
    promotion: el.promotion.value,
    teacher_size: num("teacher_size"),
    student_size: num("student_size"),
    student_crop: el.student_crop.value,
    seed: num("seed"),
  };
}
