/**
 * A real scrape for the deploy tests: a gateway in process in front of a Triton emulator and the
 * in-process ONNX backend, driven through cache hits, batching, a shadow copy, fallbacks, an open
 * breaker, a backend error and load shedding, then `GET /metrics`. Most metric families then have
 * samples with their real labels, which the dashboard and alert expressions are checked against.
 */
import type { Registry } from "prom-client";
import { MODELS_DIR, postJson, startTestGateway } from "../e2e/harness.js";
import { ModelRunner } from "../emulators/runner.js";
import { startTritonEmulator } from "../emulators/triton/index.js";

const BODY = { inputs: { input: [[5.1, 3.5, 1.4, 0.2]] } };

function configFor(grpc: string): string {
  return `server: { host: 127.0.0.1, port: 0 }
backends:
  triton: { type: triton, grpc: "${grpc}" }
  local: { type: onnx, modelDir: ${MODELS_DIR} }
defaults:
  timeoutMs: 5000
  retry: { attempts: 1 }
models:
  iris:
    versions:
      "1": { backend: local, model: iris, version: "1" }
      "2": { backend: local, model: iris, version: "1" }
    default: "1"
    shadow: { version: "2", percent: 100 }
    cache: { ttlSeconds: 60 }
    batching: { maxBatchSize: 8, maxDelayMs: 2 }
  guarded:
    versions: { "1": { backend: triton, model: iris, version: "1" } }
    fallback: [{ backend: local, model: iris, version: "1" }]
    breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 600000 }
  bare:
    versions: { "1": { backend: triton, model: iris, version: "1" } }
    concurrency: { maxInFlight: 1, maxQueue: 0 }
`;
}

/** A scrape and the label names of each series name the gateway's registry defines. */
export interface BusyScrape {
  text: string;
  labels: Map<string, Set<string>>;
}

/** The `/metrics` text of a gateway that has served a varied mix of requests. */
export async function scrapeBusyGateway(): Promise<BusyScrape> {
  const runner = await ModelRunner.load(MODELS_DIR);
  const triton = await startTritonEmulator({ runner });
  const gateway = await startTestGateway(configFor(triton.grpcAddress ?? ""));
  const predict = (model: string) => postJson(`${gateway.url}/v1/models/${model}/predict`, BODY);
  try {
    // Memory cache miss then hit; the first also goes through the batcher and is shadowed.
    await predict("iris");
    await predict("iris");
    // Both Triton models answer once, so their metadata is known before the backend fails.
    await predict("guarded");
    await predict("bare");
    triton.setMode({ kind: "error" });
    // The failing primary trips its breaker; the fallback answers.
    for (let i = 0; i < 4; i++) await predict("guarded");
    // No fallback: BACKEND_ERROR reaches the client (and infergate_requests_total).
    await predict("bare");
    // One slot, no queue: while a slow call holds it, the rest are shed with OVERLOADED.
    triton.setMode({ kind: "ok", delayMs: 300 });
    await Promise.all([predict("bare"), predict("bare"), predict("bare")]);
    // A client error on a known model.
    await postJson(`${gateway.url}/v1/models/iris/predict`, "{not json");
    const res = await fetch(`${gateway.url}/metrics`);
    return { text: await res.text(), labels: registeredLabels(gateway.metrics.registry) };
  } finally {
    await gateway.stop();
    await triton.close();
    await runner.close();
  }
}

/** Every sample name in a Prometheus text exposition, plus the series names its TYPE lines imply. */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type !== null) {
      const [, name = "", kind] = type;
      names.add(name);
      if (kind === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
      if (kind === "summary") for (const s of ["_sum", "_count"]) names.add(name + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (sample?.[1] !== undefined) names.add(sample[1]);
  }
  return names;
}

/**
 * The label names of every series name a registry exposes, from the metrics' own definitions
 * (histograms: `_bucket` adds `le`; summaries: the series carry `quantile`).
 */
export function registeredLabels(registry: Registry): Map<string, Set<string>> {
  const labels = new Map<string, Set<string>>();
  for (const metric of registry.getMetricsAsArray()) {
    const own =
      "labelNames" in metric && Array.isArray(metric.labelNames)
        ? metric.labelNames.filter((l): l is string => typeof l === "string")
        : [];
    const type = String(metric.type);
    if (type === "histogram") {
      labels.set(`${metric.name}_bucket`, new Set([...own, "le"]));
      labels.set(`${metric.name}_sum`, new Set(own));
      labels.set(`${metric.name}_count`, new Set(own));
    } else if (type === "summary") {
      labels.set(metric.name, new Set([...own, "quantile"]));
      labels.set(`${metric.name}_sum`, new Set(own));
      labels.set(`${metric.name}_count`, new Set(own));
    } else labels.set(metric.name, new Set(own));
  }
  return labels;
}
