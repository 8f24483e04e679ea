/**
 * deploy/kubernetes, rendered per overlay (test/support/kustomize.ts) and checked offline: every
 * object against the Kubernetes OpenAPI schemas (kubernetes-models), then what the gateway
 * relies on: probes, drain timing, security context, what the public Service exposes, the admin
 * port's NetworkPolicy, autoscaling bounds, and a ConfigMap the gateway itself accepts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Deployment, Deployment as DeploymentModel } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Namespace, Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfigFile, parseConfigText } from "../../src/config/load.js";
import type { GatewayConfig } from "../../src/config/schema.js";
import { createMetrics } from "../../src/metrics/registry.js";
import { type KObject, renderKustomization } from "../support/kustomize.js";

const ROOT = join(import.meta.dirname, "../../deploy/kubernetes");
const MODELS_DIR = join(import.meta.dirname, "../../models");

/** The schema-checked model class of every kind the manifests may contain. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": DeploymentModel,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
};

interface Rendered {
  objects: KObject[];
  /** The object of this kind and name, as its schema-checked type. */
  get<T>(kind: string, name: string): T;
  all<T>(kind: string): T[];
  gateway: Deployment;
  config: GatewayConfig;
}

function render(overlay: string): Rendered {
  const objects = renderKustomization(join(ROOT, "overlays", overlay));
  const all = <T>(kind: string) => objects.filter((o) => o.kind === kind) as unknown as T[];
  const get = <T>(kind: string, name: string): T => {
    const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
    expect(found, `${kind}/${name}`).toHaveLength(1);
    return found[0] as unknown as T;
  };
  const configMap = get<ConfigMap>("ConfigMap", "infergate-config");
  const parsed = parseConfigText(configMap.data?.["gateway.yaml"] ?? "", { env: {} });
  if (!parsed.ok)
    throw new Error(`ConfigMap gateway.yaml is invalid:\n${parsed.errors.join("\n")}`);
  return { objects, get, all, gateway: get("Deployment", "infergate"), config: parsed.config };
}

const gatewayContainer = (d: Deployment) => {
  const c = d.spec?.template.spec?.containers.find((x) => x.name === "gateway");
  if (c === undefined) throw new Error("no gateway container");
  return c;
};
/** A probe's or Service's port, named or numbered, as the container port number. */
const portNumber = (d: Deployment, port: number | string | undefined) => {
  if (typeof port === "number") return port;
  return gatewayContainer(d).ports?.find((p) => p.name === port)?.containerPort;
};

describe.each(["staging", "production"])("deploy/kubernetes/overlays/%s", (overlay) => {
  const r = render(overlay);

  it("holds only objects that pass the Kubernetes schemas", () => {
    expect(r.objects.length).toBeGreaterThanOrEqual(10);
    for (const o of r.objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `${o.apiVersion}/${o.kind} has a schema`).toBeDefined();
      expect(
        () => Model && new Model(o as never).validate(),
        `${o.kind}/${o.metadata.name}`,
      ).not.toThrow();
      if (o.kind !== "Namespace") expect(o.metadata.namespace).toMatch(/^infergate/);
    }
  });

  it("runs the gateway directly on the mounted config, with the ports the config opens", () => {
    const c = gatewayContainer(r.gateway);
    expect(c.command).toEqual([
      "node",
      "dist/cli.js",
      "serve",
      "--config",
      "/etc/infergate/gateway.yaml",
    ]);
    expect(c.args).toBeUndefined();
    const mount = c.volumeMounts?.find((m) => m.mountPath === "/etc/infergate");
    // A subPath mount never sees ConfigMap updates, and watchConfig would have nothing to see.
    expect(mount?.subPath).toBeUndefined();
    const volume = r.gateway.spec?.template.spec?.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.configMap?.name).toBe("infergate-config");
    const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]));
    expect(ports).toEqual({ http: 8080, grpc: 8081, admin: 8082 });
    const { server } = r.config;
    expect([server.port, server.grpcPort, server.adminPort]).toEqual([8080, 8081, 8082]);
    expect(server.adminHost).toBe("0.0.0.0");
    expect(server.watchConfig).toBe(true);
    expect(r.gateway.spec?.replicas).toBeUndefined(); // the HPA owns it
  });

  it("probes /readyz on the public port and /healthz for liveness", () => {
    const c = gatewayContainer(r.gateway);
    expect(c.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(portNumber(r.gateway, c.readinessProbe?.httpGet?.port)).toBe(r.config.server.port);
    expect(c.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect([8080, 8082]).toContain(portNumber(r.gateway, c.livenessProbe?.httpGet?.port));
  });

  it("gives the drain time to finish: grace period > drainTimeoutMs + preStop", () => {
    const c = gatewayContainer(r.gateway);
    const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(preStop).toBeGreaterThanOrEqual(3);
    const grace = r.gateway.spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
    expect(grace).toBeGreaterThan(r.config.server.drainTimeoutMs / 1000 + preStop);
  });

  it("runs every container unprivileged on a read-only root filesystem", () => {
    for (const d of r.all<Deployment>("Deployment")) {
      const pod = d.spec?.template.spec;
      expect(pod?.securityContext?.runAsNonRoot, d.metadata?.name).toBe(true);
      for (const c of pod?.containers ?? []) {
        expect(c.securityContext?.readOnlyRootFilesystem, c.name).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
        expect(c.securityContext?.capabilities?.drop, c.name).toEqual(["ALL"]);
        expect(c.resources?.requests?.cpu, c.name).toBeDefined();
        expect(c.resources?.limits?.memory, c.name).toBeDefined();
      }
    }
    expect(r.gateway.spec?.template.spec?.securityContext?.runAsUser).toBe(1000);
  });

  it("exposes http and grpc in the public Service, and the admin port in no Service", () => {
    const svc = r.get<Service>("Service", "infergate");
    const ports = svc.spec?.ports ?? [];
    expect(ports.map((p) => [p.port, portNumber(r.gateway, p.targetPort)])).toEqual([
      [8080, 8080],
      [8081, 8081],
    ]);
    expect(ports.find((p) => p.port === 8081)?.appProtocol).toBe("grpc");
    const podLabels = r.gateway.spec?.template.metadata?.labels ?? {};
    expect(podLabels).toMatchObject(svc.spec?.selector ?? { missing: "selector" });
    for (const s of r.all<Service>("Service")) {
      for (const p of s.spec?.ports ?? []) {
        expect([p.port, p.targetPort], s.metadata?.name).not.toContain(8082);
        expect(p.targetPort, s.metadata?.name).not.toBe("admin");
      }
    }
  });

  it("admits the admin port only from pods of the same namespace", () => {
    const podLabels = r.gateway.spec?.template.metadata?.labels ?? {};
    const policies = r
      .all<NetworkPolicy>("NetworkPolicy")
      .filter((p) =>
        Object.entries(p.spec?.podSelector.matchLabels ?? {}).every(([k, v]) => podLabels[k] === v),
      );
    expect(policies).toHaveLength(1);
    const rules = policies[0]?.spec?.ingress ?? [];
    // A rule without ports admits every port, the admin port included.
    for (const rule of rules) expect(rule.ports?.length).toBeGreaterThan(0);
    const admin = rules.filter((rule) => rule.ports?.some((p) => p.port === 8082));
    expect(admin).toHaveLength(1);
    expect(admin[0]?.from).toEqual([{ podSelector: {} }]);
    const publicPorts = rules.filter((rule) => rule.from === undefined).flatMap((x) => x.ports);
    expect(publicPorts.map((p) => p?.port)).toEqual([8080, 8081]);
  });

  it("autoscales the gateway on CPU and requests per second", () => {
    const hpa = r.get<HorizontalPodAutoscaler>("HorizontalPodAutoscaler", "infergate");
    expect(hpa.spec?.scaleTargetRef).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "infergate",
    });
    const metrics = hpa.spec?.metrics ?? [];
    expect(metrics.find((m) => m.type === "Resource")?.resource?.name).toBe("cpu");
    expect(metrics.find((m) => m.type === "Pods")?.pods?.metric.name).toBe(
      "infergate_requests_per_second",
    );
    const bounds = [hpa.spec?.minReplicas, hpa.spec?.maxReplicas];
    expect(bounds).toEqual(overlay === "production" ? [3, 12] : [1, 2]);
  });

  it("keeps enough pods through voluntary disruptions", () => {
    const pdb = r.get<PodDisruptionBudget>("PodDisruptionBudget", "infergate");
    expect(r.gateway.spec?.template.metadata?.labels).toMatchObject(
      pdb.spec?.selector?.matchLabels ?? { missing: "selector" },
    );
    if (overlay === "production") {
      expect(pdb.spec?.minAvailable).toBe(2);
      expect(pdb.spec?.maxUnavailable).toBeUndefined();
    } else {
      expect(pdb.spec?.maxUnavailable).toBe(1);
    }
  });

  it("points the gateway at an in-namespace noeviction Redis", () => {
    expect(r.config.redis?.url).toBe("redis://redis:6379");
    const svc = r.get<Service>("Service", "redis");
    expect(svc.spec?.ports?.map((p) => p.port)).toEqual([6379]);
    const redis = r.get<Deployment>("Deployment", "redis");
    const args = redis.spec?.template.spec?.containers[0]?.args ?? [];
    expect(args[args.indexOf("--maxmemory-policy") + 1]).toBe("noeviction");
  });

  it("serves models whose ONNX files the image carries (the repository's models/)", async () => {
    const cm = r.get<ConfigMap>("ConfigMap", "infergate-config");
    const text = cm.data?.["gateway.yaml"] ?? "";
    expect(text).toContain("modelDir: /app/models");
    const dir = mkdtempSync(join(tmpdir(), "infergate-k8s-"));
    try {
      const path = join(dir, "gateway.yaml");
      writeFileSync(path, text.replace("modelDir: /app/models", `modelDir: ${MODELS_DIR}`));
      const loaded = await loadConfigFile(path, { env: {} });
      expect(loaded.ok ? [] : loaded.errors).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sets an image from a registry", () => {
    expect(gatewayContainer(r.gateway).image).toMatch(/^registry\.example\.com\/infergate:.+/);
  });
});

/** The part of prometheus-adapter's Helm values the rules file sets. */
interface AdapterValues {
  rules: {
    custom: Array<{
      seriesQuery: string;
      resources: { overrides: Record<string, { resource: string }> };
      name: { matches: string; as: string };
      metricsQuery: string;
    }>;
  };
}

describe("deploy/kubernetes/prometheus-adapter-rules.yaml", () => {
  it("turns the gateway's request counter into the HPA's per-pod rate", () => {
    const text = readFileSync(join(ROOT, "prometheus-adapter-rules.yaml"), "utf8");
    const rule = (parse(text) as AdapterValues).rules.custom[0];
    expect(rule?.name.as).toBe("infergate_requests_per_second");
    expect(rule?.seriesQuery).toMatch(/^infergate_requests_total\{/);
    expect(rule?.metricsQuery).toContain("rate(<<.Series>>{<<.LabelMatchers>>}[1m])");
    expect(rule?.resources.overrides.pod?.resource).toBe("pod");
    // The counter the rule reads is one the gateway exports.
    expect(createMetrics().registry.getSingleMetric("infergate_requests_total")).toBeDefined();
  });
});
