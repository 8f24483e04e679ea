/**
 * deploy/grafana/compose.yml and its provisioning files agree with each other and with
 * docker-compose.yml: the data source is the project's Prometheus, the dashboard is mounted where
 * the provider reads, and every mounted path exists.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DEPLOY_DIR } from "./expressions.js";

describe("Grafana provisioning (deploy/grafana/compose.yml)", () => {
  const read = (path: string) => parse(readFileSync(resolve(DEPLOY_DIR, path), "utf8")) as unknown;
  const compose = read("grafana/compose.yml") as {
    services: { grafana: { volumes: string[]; depends_on: Record<string, unknown> } };
  };
  const mounts = new Map(
    compose.services.grafana.volumes.map((v) => {
      const [from = "", to = ""] = v.split(":");
      return [from, to];
    }),
  );

  it("points the data source at the compose project's Prometheus", () => {
    const sources = read("grafana/provisioning/datasources/prometheus.yml") as {
      datasources: Array<{ type: string; url: string }>;
    };
    const main = parse(readFileSync(resolve(DEPLOY_DIR, "../docker-compose.yml"), "utf8")) as {
      services: { prometheus: { ports: string[] } };
    };
    expect(sources.datasources).toMatchObject([
      { type: "prometheus", url: "http://prometheus:9090" },
    ]);
    expect(main.services.prometheus.ports.some((p) => p.endsWith(":9090"))).toBe(true);
    expect(Object.keys(compose.services.grafana.depends_on)).toEqual(["prometheus"]);
  });

  it("mounts the dashboard where the dashboard provider reads", () => {
    const providers = read("grafana/provisioning/dashboards/infergate.yml") as {
      providers: Array<{ options: { path: string } }>;
    };
    const target = mounts.get("./deploy/grafana/infergate.json");
    expect(target).toBe(`${providers.providers[0]?.options.path}/infergate.json`);
    expect(mounts.get("./deploy/grafana/provisioning")).toBe("/etc/grafana/provisioning");
    // The mounted paths are relative to the project directory, where docker-compose.yml is.
    for (const from of mounts.keys())
      expect(existsSync(resolve(DEPLOY_DIR, "..", from))).toBe(true);
  });
});
