/**
 * promtool over what deploy/ ships: the alert rules and the Prometheus config load, the rules'
 * unit tests (deploy/prometheus/alerts.test.yml) pass, and a real scrape of a gateway that has
 * served a varied mix of requests passes `promtool check metrics` but for the known problems below.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { DEPLOY_DIR, grafanaToPromql, loadAlertGroups, loadDashboard } from "./expressions.js";
import { findPromtool, INSTALL_HINT, runPromtool } from "./promtool.js";
import { scrapeBusyGateway } from "./scrape.js";

/**
 * Lint problems of the current scrape, each line exactly as promtool prints it. prom-client's
 * default metrics include three gauges named `*_total` (`nodejs_active_handles_total` and its
 * kin); the per-type gauges beside them carry the same numbers. Nothing else may appear.
 */

const bin = findPromtool();
const required = process.env.CI !== undefined && process.env.CI !== "";
if (bin === undefined && !required)
  console.warn(`test/deploy/promtool.test.ts skipped: no promtool on PATH (${INSTALL_HINT})`);

describe.skipIf(bin === undefined && !required)("promtool", () => {
  let promtool: string;
  beforeAll(() => {
    if (bin === undefined) throw new Error(`promtool is required under CI: ${INSTALL_HINT}`);
    promtool = bin;
  });
  const inDeploy = (path: string) => resolve(DEPLOY_DIR, path);

  it("check rules: every alert rule loads", () => {
    const rules = loadAlertGroups().flatMap((g) => g.rules);
    const result = runPromtool(promtool, ["check", "rules", inDeploy("prometheus/alerts.yml")]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it("check rules: every dashboard query is valid PromQL (as recording rules)", () => {
    const queries = loadDashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const rules = queries.map((expr, i) => ({
      record: `dashboard:query_${i}`,
      expr: grafanaToPromql(expr),
    }));
    const dir = mkdtempSync(join(tmpdir(), "infergate-dashboard-"));
    const path = join(dir, "queries.yml");
    writeFileSync(path, stringify({ groups: [{ name: "dashboard", rules }] }));
    const result = runPromtool(promtool, ["check", "rules", path]);
    rmSync(dir, { recursive: true, force: true });
    expect(result.stdout + result.stderr).not.toContain("FAILED");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it("check config: the shipped prometheus.yml and the rule file it loads", () => {
    const result = runPromtool(promtool, [
      "check",
      "config",
      inDeploy("prometheus/prometheus.yml"),
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("SUCCESS: 1 rule files found");
  });

  it("test rules: the alerts' unit tests pass", () => {
    const result = runPromtool(promtool, ["test", "rules", inDeploy("prometheus/alerts.test.yml")]);
    expect(result.stdout + result.stderr).not.toContain("FAILED");
    expect(result.status).toBe(0);
  });

  it("check metrics: a real scrape has no lint problems", async () => {
    const scrape = (await scrapeBusyGateway()).text;
    // The scrape is the rich one the tests rely on: errors, shedding, breakers, fallbacks.
    expect(scrape).toMatch(/infergate_requests_total\{[^}]*code="BACKEND_ERROR"\} 1\n/);
    expect(scrape).toMatch(/infergate_shed_total\{backend="triton"\} [1-9]/);
    const result = runPromtool(promtool, ["check", "metrics"], scrape);
    const problems = (result.stdout + result.stderr)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "");
    expect(problems).toEqual([]);
    expect(result.status).toBe(0);
  });
});
