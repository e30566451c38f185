// Reports: what each room's alerts came to over a period (cloud/service/reports.py), a
// chart of falls and false alarms per room, and the same table as a CSV download.

import { barChart } from "./chart.js";
import { formatDuration, h, replaceChildren, segmentedButtons } from "./dom.js";

const PERIODS = [
  ["7 days", 7],
  ["30 days", 30],
  ["90 days", 90],
];
const COLUMNS = [
  ["Room", (r) => r.room],
  ["Possible falls", (r) => r.possible_falls],
  ["Got up", (r) => r.got_up],
  ["Falls (alarm)", (r) => r.falls],
  ["Long lies", (r) => r.long_lies],
  ["Real falls", (r) => r.real_falls],
  ["False alarms", (r) => r.false_alarms],
  ["Unanswered", (r) => r.unanswered],
  ["Time to acknowledge (median)", (r) => seconds(r.ack_p50_s)],
  ["(90th percentile)", (r) => seconds(r.ack_p90_s)],
  ["On the floor (median)", (r) => seconds(r.on_floor_median_s)],
  ["(longest)", (r) => seconds(r.on_floor_max_s)],
];

function seconds(value) {
  return value === null || value === undefined ? "–" : formatDuration(value * 1000);
}

export class ReportsView {
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.days = 30;
    this.rows = [];
    this.periods = h("div", { class: "segmented", role: "group", "aria-label": "Period" });
    this.download = h("button", {
      type: "button",
      class: "secondary",
      text: "Download CSV",
      onclick: () => this.downloadCsv(),
    });
    this.status = h("p", { class: "muted", role: "status" });
    this.chart = h("div", { class: "charts" });
    this.body = h("tbody", {});
    this.table = h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "report" },
        h("caption", { text: "Alerts per room over the period" }),
        h("thead", {}, h("tr", {}, COLUMNS.map(([t]) => h("th", { scope: "col", text: t })))),
        this.body,
      ),
    );
    section.append(
      h("div", { class: "chart-head" }, this.periods, this.download),
      this.status,
      this.chart,
      this.table,
    );
  }

  query() {
    const until = new Date();
    const since = new Date(until.getTime() - this.days * 86_400_000);
    return { since: since.toISOString(), until: until.toISOString() };
  }

  async show() {
    this.renderPeriods();
    this.status.textContent = "Loading…";
    try {
      this.rows = await this.ctx.api.get("/reports/rooms", this.query());
      const n = this.rows.length;
      this.status.textContent = `The last ${this.days} days, ${n} room${n === 1 ? "" : "s"}.`;
    } catch (err) {
      this.status.textContent = `Could not load the report: ${err.message}`;
    }
    this.render();
  }

  renderPeriods() {
    replaceChildren(
      this.periods,
      segmentedButtons(PERIODS, this.days, (days) => {
        this.days = days;
        this.show();
      }),
    );
  }

  render() {
    replaceChildren(
      this.chart,
      barChart({
        id: "report-falls",
        title: "Falls and false alarms per room",
        series: ["Falls (alarm)", "False alarms", "Possible falls"],
        rows: this.rows.map((r) => ({
          label: r.room,
          values: [r.falls, r.false_alarms, r.possible_falls],
        })),
      }),
    );
    replaceChildren(
      this.body,
      this.rows.length
        ? this.rows.map((r) =>
            h(
              "tr",
              { "data-device-id": r.device_id },
              COLUMNS.map(([, cell]) => h("td", { text: String(cell(r)) })),
            ),
          )
        : h("tr", {}, h("td", { colspan: COLUMNS.length, class: "empty", text: "No rooms." })),
    );
  }

  /** The CSV through the API (a plain link cannot carry the token), saved as a file. */
  async downloadCsv() {
    try {
      const params = new URLSearchParams(this.query());
      const { blob, headers } = await this.ctx.api.blob(`/reports/rooms.csv?${params}`);
      const name = /filename="([^"]+)"/.exec(headers.get("content-disposition") || "");
      const link = h("a", {
        href: URL.createObjectURL(blob),
        download: name ? name[1] : "vigil-rooms.csv",
      });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (err) {
      this.status.textContent = `Could not download the CSV: ${err.message}`;
    }
  }
}
