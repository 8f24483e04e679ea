/**
 * The shipped Grafana dashboard and alert rules against a real gateway: every metric name their
 * PromQL uses is one its scrape exposes, every label they match or group on is one the metric is
 * defined with in its registry, and the dashboard is wired to its template variables.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  allExpressions,
  groupingLabels,
  loadAlertGroups,
  loadDashboard,
  metricNames,
  selectorLabels,
} from "./expressions.js";
import { exposedNames, scrapeBusyGateway } from "./scrape.js";

/**
 * Metrics of the async jobs, registered only where the job engine is built in: absent from a
 * scrape of a build without it, so the tests take their names and labels from here instead.
 */
const JOB_METRICS: Readonly<Record<string, readonly string[]>> = {
  infergate_jobs: ["kind", "status"],
  infergate_jobs_total: ["kind", "outcome"],
  infergate_job_duration_seconds_bucket: ["kind", "outcome", "le"],
  infergate_webhook_deliveries_total: ["outcome"],
};

/** How panels name the datasource: Grafana's `${datasource}` variable, not a fixed uid. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, meant literally.
const DATASOURCE_UID = "${datasource}";

/** Labels Prometheus adds to every scraped series, and the ones the alerts' `up` carries. */
const TARGET_LABELS = ["job", "instance"];

let names: Set<string>;
let labels: Map<string, Set<string>>;
beforeAll(async () => {
  const scrape = await scrapeBusyGateway();
  names = exposedNames(scrape.text);
  labels = scrape.labels;
});

function labelsOf(metric: string): Set<string> | undefined {
  const known = JOB_METRICS[metric];
  if (known !== undefined && !names.has(metric)) return new Set(known);
  return labels.get(metric);
}

describe("dashboard and alert expressions", () => {
  it("use only metric names a real scrape exposes (or the job metrics)", () => {
    const unknown = allExpressions().flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !names.has(n) && !Object.hasOwn(JOB_METRICS, n))
        .map((n) => `${where}: ${n}`),
    );
    expect(unknown).toEqual([]);
    // The scrape was parsed: the core names are there.
    expect(names).toContain("infergate_requests_total");
    expect(names).toContain("infergate_request_duration_seconds_bucket");
  });

  it("use every job metric of the allow-list, so the list does not outlive its reason", () => {
    const used = new Set(allExpressions().flatMap(({ expr }) => metricNames(expr)));
    expect(Object.keys(JOB_METRICS).filter((n) => !used.has(n))).toEqual([]);
  });

  it("match and group only on labels the metrics carry", () => {
    const wrong: string[] = [];
    for (const { where, expr } of allExpressions()) {
      for (const { metric, labels: matched } of selectorLabels(expr)) {
        const carried = labelsOf(metric) ?? new Set<string>();
        for (const l of matched)
          if (!carried.has(l) && !TARGET_LABELS.includes(l))
            wrong.push(`${where}: ${metric}{${l}}`);
      }
      // A grouping label must be carried by at least one metric of the expression.
      const carriedByAny = new Set(metricNames(expr).flatMap((m) => [...(labelsOf(m) ?? [])]));
      for (const l of groupingLabels(expr))
        if (!carriedByAny.has(l) && !TARGET_LABELS.includes(l)) wrong.push(`${where}: by/on ${l}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("dashboard", () => {
  const dashboard = loadDashboard();
  const panels = dashboard.panels.filter((p) => p.type !== "row");

  it("has the datasource, job, instance and model variables", () => {
    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(dashboard.schemaVersion).toBe(39);
    expect(variables.get("datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
    for (const name of ["job", "instance", "model"])
      expect(variables.get(name)?.type, name).toBe("query");
  });

  it("queries through the datasource variable and filters every selector by job and instance", () => {
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).toBe(DATASOURCE_UID);
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.datasource?.uid, p.title).toBe(DATASOURCE_UID);
        for (const s of t.expr.matchAll(/\b(?:infergate_[a-zA-Z0-9_]+|up)\{([^}]*)\}/g)) {
          expect(s[1], `${p.title}: ${t.expr}`).toContain('job=~"$job"');
          expect(s[1], `${p.title}: ${t.expr}`).toContain('instance=~"$instance"');
        }
      }
    }
  });

  it("lays panels out on the 24-column grid without overlaps and with unique ids", () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${p.title} overlaps at ${i},${j}`).toBe(false);
          cells.add(`${i},${j}`);
        }
    }
  });

  it("charts each area the gateway measures", () => {
    const used = new Set(
      panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr))),
    );
    for (const metric of [
      "infergate_requests_total",
      "infergate_request_duration_seconds_bucket",
      "infergate_cache_requests_total",
      "infergate_batch_size_bucket",
      "infergate_breaker_state",
      "infergate_fallbacks_total",
      "infergate_backend_requests_total",
      "infergate_shed_total",
      "infergate_queue_depth",
      "infergate_process_cpu_seconds_total",
      "infergate_process_resident_memory_bytes",
      "infergate_nodejs_eventloop_lag_p99_seconds",
      "infergate_jobs",
      "infergate_jobs_total",
      "infergate_job_duration_seconds_bucket",
      "infergate_webhook_deliveries_total",
    ])
      expect(used, metric).toContain(metric);
  });
});

describe("alert rules", () => {
  it("each has a for:, a severity and a summary and description", () => {
    const groups = loadAlertGroups();
    expect(groups.map((g) => g.name)).toEqual(["infergate"]);
    for (const rule of groups.flatMap((g) => g.rules)) {
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(["critical", "warning", "info"], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
  });
});
