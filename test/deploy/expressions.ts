/**
 * The PromQL of the shipped Grafana dashboard and Prometheus alert rules, and what the deploy
 * tests read out of it: the metric names, the label matchers on each selector and the `by (...)`
 * labels.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";

/** The repo's deploy/ directory, absolute. */
export const DEPLOY_DIR = resolve(import.meta.dirname, "../../deploy");
export const DASHBOARD_PATH = resolve(DEPLOY_DIR, "grafana/infergate.json");
export const ALERTS_PATH = resolve(DEPLOY_DIR, "prometheus/alerts.yml");

/** One expression and where it comes from (a panel or variable title, an alert name). */
export interface Expression {
  where: string;
  expr: string;
}

/** A Grafana panel as far as the tests read it. */
export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ expr: string; refId: string; datasource?: { uid?: string } }>;
}

/** The dashboard JSON as far as the tests read it. */
export interface Dashboard {
  schemaVersion: number;
  uid: string;
  templating: { list: Array<{ name: string; type: string; query: unknown; definition?: string }> };
  panels: Panel[];
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_PATH, "utf8")) as Dashboard;
}

/** An alert rule as far as the tests read it. */
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function loadAlertGroups(): Array<{ name: string; rules: AlertRule[] }> {
  return (
    parse(readFileSync(ALERTS_PATH, "utf8")) as {
      groups: Array<{ name: string; rules: AlertRule[] }>;
    }
  ).groups;
}

/** Every PromQL expression of the dashboard (panel targets and variable queries) and the alerts. */
export function allExpressions(): Expression[] {
  const dashboard = loadDashboard();
  const panels = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })),
  );
  const variables = dashboard.templating.list
    .filter((v) => v.type === "query" && v.definition !== undefined)
    .map((v) => ({ where: `variable $${v.name}`, expr: v.definition ?? "" }));
  const alerts = loadAlertGroups().flatMap((g) =>
    g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
  );
  return [...panels, ...variables, ...alerts];
}

/** The gateway's metric names an expression uses (series names, `_bucket` etc. as written). */
export function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/\binfergate_[a-zA-Z0-9_]+/g) ?? [])];
}

/** Each `infergate_*{...}` selector's metric name with the label names it matches on. */
export function selectorLabels(expr: string): Array<{ metric: string; labels: string[] }> {
  return [...expr.matchAll(/\b(infergate_[a-zA-Z0-9_]+)\{([^}]*)\}/g)].map((m) => ({
    metric: m[1] ?? "",
    labels: [...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map(
      (l) => l[1] ?? "",
    ),
  }));
}

/** The label names of every `by (...)` and `on (...)` clause in an expression. */
export function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|on)\s*\(([^)]*)\)/g)].flatMap((m) =>
    (m[1] ?? "")
      .split(",")
      .map((l) => l.trim())
      .filter((l) => l !== ""),
  );
}

/**
 * A dashboard query as Prometheus receives it from Grafana: template variables matched against
 * everything, `$__rate_interval` as a fixed window.
 */
export function grafanaToPromql(expr: string): string {
  return expr.replaceAll("$__rate_interval", "5m").replaceAll(/\$(job|instance|model)\b/g, ".*");
}
