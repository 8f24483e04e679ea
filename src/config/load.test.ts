// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are ${ENV} config text, not JS templates.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobsSchema } from "../jobs/config.js";
import { type ConfigResult, loadConfigFile, parseConfigText } from "./load.js";
import { grpcServerSchema, limitsSchema } from "./schema.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../..");
const exampleFull = join(repoRoot, "config/example-full.yaml");
const allErrors = join(here, "fixtures/all-errors.yaml");

const MINIMAL = `
backends:
  local:
    type: onnx
    modelDir: /opt/models
models:
  fraud:
    versions:
      "1": { backend: local }
`;

function errorsOf(result: ConfigResult): string[] {
  if (result.ok) throw new Error("expected the config to be rejected");
  return result.errors;
}

function configOf(result: ConfigResult) {
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.join("\n")}`);
  return result.config;
}

describe("loadConfigFile", () => {
  it("reads the documented full example with every key", async () => {
    const text = await readFile(exampleFull, "utf8");
    const config = configOf(parseConfigText(text, { baseDir: dirname(exampleFull) }));
    expect(config).toEqual({
      server: {
        host: "0.0.0.0",
        port: 8080,
        grpcPort: 8081,
        adminPort: 8082,
        adminHost: "127.0.0.1",
        bodyLimitBytes: 8388608,
        drainTimeoutMs: 10000,
        cacheMaxBytes: 67108864,
        watchConfig: false,
        workers: 1,
        name: "infergate",
        limits: limitsSchema.parse({}),
        grpc: grpcServerSchema.parse({}),
      },
      redis: { url: "redis://127.0.0.1:6379", keyPrefix: "infergate:" },
      // Defaults (pinned in src/jobs/config.test.ts), paths relative to the file.
      jobs: {
        ...jobsSchema.parse({}),
        dir: resolve(dirname(exampleFull), "data/jobs"),
        dataDir: resolve(dirname(exampleFull), "data/files"),
      },
      backends: {
        tfs: {
          type: "tfserving",
          url: "http://tfserving:8501",
          grpc: "tfserving:8500",
          protocol: "grpc",
        },
        torch: {
          type: "torchserve",
          url: "http://torchserve:8080",
          grpc: "torchserve:7070",
          protocol: "rest",
        },
        triton: {
          type: "triton",
          grpc: "triton:8001",
          url: "http://triton:8000",
          protocol: "grpc",
        },
        // Relative to the config file's directory, not the working directory.
        local: { type: "onnx", modelDir: join(repoRoot, "config/models") },
      },
      defaults: {
        timeoutMs: 1000,
        retry: { attempts: 2, backoffMs: 25, budgetPercent: 20 },
        breaker: {
          errorThresholdPercentage: 50,
          volumeThreshold: 20,
          rollingWindowMs: 10000,
          resetTimeoutMs: 5000,
        },
        batching: { maxBatchSize: 32, maxDelayMs: 2, maxQueue: 1024 },
        cache: { ttlSeconds: 60 },
      },
      models: {
        fraud: {
          versions: {
            "1": { backend: "tfs", model: "fraud_tf", version: "3", signature: "serving_default" },
            "2": { backend: "triton", model: "fraud_onnx", version: "1" },
          },
          labels: { stable: "1", canary: "2" },
          default: "1",
          traffic: [
            { version: "1", weight: 90 },
            { version: "2", weight: 10 },
          ],
          sticky: { header: "x-user-id" },
          fallback: [{ backend: "local", model: "fraud", version: "1" }],
          timeoutMs: 300,
          batching: { maxBatchSize: 64, maxDelayMs: 1 },
          cache: { ttlSeconds: 300 },
        },
      },
    });
  });

  it("reports every kind of error of one file in one run", async () => {
    const errors = errorsOf(await loadConfigFile(allErrors));
    const expected = [
      "server.port: expected number, received string",
      "backends.local.url: unknown key",
      "models.fraud.colour: unknown key",
      'models.fraud.versions.2.backend: unknown backend "trtion"',
      'models.fraud.labels.canary: unknown version "9"',
      'models.fraud.traffic[1].version: unknown version "3"',
      "models.fraud.versions.4: model file ../../../models/iris/7/model.onnx not found",
    ];
    for (const line of expected) expect(errors).toContain(line);
    expect(errors).toHaveLength(expected.length);
  });

  it("reports a missing file as one error naming it", async () => {
    const missing = join(here, "fixtures/no-such-file.yaml");
    const errors = errorsOf(await loadConfigFile(missing));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/no-such-file\.yaml: cannot read config file \(ENOENT/);
  });

  describe("with a temporary directory", () => {
    let dir = "";
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "infergate-config-"));
      // Only existence is checked at load, so empty files stand in for models.
      for (const version of ["1", "3", "10"]) {
        await mkdir(join(dir, "models/fraud", version), { recursive: true });
        await writeFile(join(dir, "models/fraud", version, "model.onnx"), "");
      }
      await mkdir(join(dir, "models/fraud/11"));
      await mkdir(join(dir, "conf"));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("resolves a relative modelDir against the file's directory", async () => {
      const file = join(dir, "conf/gateway.yaml");
      await writeFile(file, MINIMAL.replace("/opt/models", "../models"));
      const config = configOf(await loadConfigFile(file));
      expect(config.backends.local).toEqual({ type: "onnx", modelDir: join(dir, "models") });
    });

    it("names the file, line and column of a YAML syntax error", async () => {
      const file = join(dir, "broken.yaml");
      await writeFile(file, "server:\n  port: [8080\nbackends: {}\n");
      const errors = errorsOf(await loadConfigFile(file));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`^${file.replaceAll(".", "\\.")}:3:1: .*\\]`));
    });

    it("interpolates from the env option", async () => {
      const file = join(dir, "env.yaml");
      await writeFile(file, MINIMAL.replace("/opt/models", "${MODEL_DIR}"));
      const modelDir = join(dir, "models");
      const config = configOf(await loadConfigFile(file, { env: { MODEL_DIR: modelDir } }));
      expect(config.backends.local).toEqual({ type: "onnx", modelDir });
    });

    it("reports an onnx target whose model file is missing, as the backend would look for it", async () => {
      const file = join(dir, "conf/files.yaml");
      await writeFile(
        file,
        `backends:
  local: { type: onnx, modelDir: ../models }
models:
  fraud:
    versions:
      "1": { backend: local }
      "2": { backend: local, version: 7 }
      "3": { backend: local, version: "3" }
      "4": { backend: local, version: "11" }
      "5": { backend: local, version: latest }
      "6": { backend: local, model: iris }
    fallback:
      - { backend: local, model: fraud, version: "10" }
      - { backend: local, model: fraud, version: "2" }
`,
      );
      expect(errorsOf(await loadConfigFile(file))).toEqual([
        "models.fraud.versions.2: model file ../models/fraud/7/model.onnx not found",
        // A version directory without model.onnx is not loaded.
        "models.fraud.versions.4: model file ../models/fraud/11/model.onnx not found",
        'models.fraud.versions.5.version: an onnx version is a numbered directory; "latest" is not a number',
        "models.fraud.versions.6: no model file ../models/iris/<version>/model.onnx found",
        "models.fraud.fallback[1]: model file ../models/fraud/2/model.onnx not found",
      ]);
    });

    it("reports a missing modelDir once, at the backend", async () => {
      const file = join(dir, "conf/no-dir.yaml");
      await writeFile(file, MINIMAL.replace("/opt/models", "./models"));
      expect(errorsOf(await loadConfigFile(file))).toEqual([
        "backends.local.modelDir: directory ./models not found",
      ]);
    });

    it("does not repeat a modelDir whose variable is unset as a missing directory", async () => {
      const file = join(dir, "conf/unset.yaml");
      await writeFile(file, MINIMAL.replace("/opt/models", "${MODEL_DIR}"));
      expect(errorsOf(await loadConfigFile(file, { env: {} }))).toEqual([
        "backends.local.modelDir: environment variable MODEL_DIR is not set",
      ]);
    });
  });
});

describe("parseConfigText", () => {
  it("applies the defaults", () => {
    const config = configOf(parseConfigText(MINIMAL));
    expect(config.server).toEqual({
      host: "0.0.0.0",
      port: 8080,
      bodyLimitBytes: 8388608,
      drainTimeoutMs: 10000,
      cacheMaxBytes: 67108864,
      watchConfig: false,
      workers: 1,
      name: "infergate",
      limits: limitsSchema.parse({}),
      grpc: grpcServerSchema.parse({}),
    });
    expect(config.defaults).toEqual({ timeoutMs: 1000 });
    expect(config.redis).toBeUndefined();
  });

  it("resolves a relative modelDir against baseDir and keeps an absolute one", () => {
    const relative = MINIMAL.replace("/opt/models", "models");
    expect(
      configOf(parseConfigText(relative, { baseDir: "/etc/infergate" })).backends.local,
    ).toEqual({
      type: "onnx",
      modelDir: "/etc/infergate/models",
    });
    expect(configOf(parseConfigText(MINIMAL, { baseDir: "/etc" })).backends.local).toEqual({
      type: "onnx",
      modelDir: "/opt/models",
    });
  });

  it("reads integer version keys and ids as strings", () => {
    const text = `
backends:
  local: { type: onnx, modelDir: /m }
models:
  fraud:
    versions:
      1: { backend: local, version: 3 }
      2: { backend: local }
    labels: { stable: 1 }
    default: 2
    traffic:
      - { version: 1, weight: 1 }
      - { version: "2", weight: 1 }
`;
    const fraud = configOf(parseConfigText(text)).models.fraud;
    expect(fraud).toBeDefined();
    expect(Object.keys(fraud?.versions ?? {})).toEqual(["1", "2"]);
    expect(fraud?.versions["1"]?.version).toBe("3");
    expect(fraud?.labels).toEqual({ stable: "1" });
    expect(fraud?.default).toBe("2");
    expect(fraud?.traffic).toEqual([
      { version: "1", weight: 1 },
      { version: "2", weight: 1 },
    ]);
  });

  it("interpolates ${ENV} and types unquoted numbers", () => {
    const text = `
server:
  port: \${PORT}
  host: "\${HOST}"
backends:
  tfs: { type: tfserving, url: "http://\${TFS_HOST}:8501" }
models:
  m: { versions: { "1": { backend: tfs, signature: "$\${literal}" } } }
`;
    const config = configOf(
      parseConfigText(text, { env: { PORT: "9000", HOST: "127.0.0.1", TFS_HOST: "tfs.internal" } }),
    );
    expect(config.server.port).toBe(9000);
    expect(config.server.host).toBe("127.0.0.1");
    expect(config.backends.tfs).toEqual({ type: "tfserving", url: "http://tfs.internal:8501" });
    expect(config.models.m?.versions["1"]?.signature).toBe("${literal}");
  });

  it("reports an unset variable at its path, without a follow-on type error", () => {
    const text = `
server:
  port: \${PORT}
backends:
  tfs: { type: tfserving, url: "\${TFS_URL}" }
models:
  m: { versions: { "1": { backend: tfs } } }
`;
    expect(errorsOf(parseConfigText(text, { env: {} }))).toEqual([
      "server.port: environment variable PORT is not set",
      "backends.tfs.url: environment variable TFS_URL is not set",
    ]);
  });

  it("reports a YAML syntax error with its line and column", () => {
    const errors = errorsOf(parseConfigText("server:\n  port: [8080\nbackends: {}\n"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^line 3, column 1: .*\]/);
  });

  it('rejects duplicate keys, including 1 and "1"', () => {
    expect(errorsOf(parseConfigText(`${MINIMAL}models: {}\n`))).toEqual([
      "line 10, column 1: Map keys must be unique",
    ]);
    const twice = MINIMAL.replace(
      '"1": { backend: local }',
      '"1": { backend: local }\n      1: { backend: local }',
    );
    expect(errorsOf(parseConfigText(twice))).toEqual(["models.fraud.versions.1: duplicate key"]);
  });

  it("rejects url on an onnx backend as an unknown key", () => {
    const text = MINIMAL.replace(
      "modelDir: /opt/models",
      "modelDir: /opt/models\n    url: http://x:1",
    );
    expect(errorsOf(parseConfigText(text))).toEqual(["backends.local.url: unknown key"]);
  });

  it("rejects protocol: grpc without a grpc address", () => {
    const text = `
backends:
  tfs: { type: tfserving, url: "http://tfs:8501", protocol: grpc }
models:
  m: { versions: { "1": { backend: tfs } } }
`;
    expect(errorsOf(parseConfigText(text))).toEqual([
      "backends.tfs.grpc: required when protocol is grpc",
    ]);
  });

  it("rejects an unknown backend type by listing the types", () => {
    const text = MINIMAL.replace("type: onnx", "type: tensorrt");
    expect(errorsOf(parseConfigText(text))).toEqual([
      "backends.local.type: expected one of tfserving|torchserve|triton|onnx",
    ]);
  });

  it("hints at quoting when ${ breaks a flow collection", () => {
    const errors = errorsOf(parseConfigText("server: { port: ${PORT} }\n"));
    expect(errors).toEqual([
      "line 1, column 18: Unexpected flow-map-start at node end (inside { } or [ ], quote a value that contains ${...})",
    ]);
  });

  it("rejects an empty file", () => {
    expect(errorsOf(parseConfigText(""))).toEqual(["(root): expected object, received null"]);
  });

  it("rejects pathologically deep nesting without parsing it, and keeps working", () => {
    const deep = `x: ${"[".repeat(5000)}1${"]".repeat(5000)}`;
    expect(errorsOf(parseConfigText(deep))).toEqual([
      "(root): config is nested deeper than 128 levels",
    ]);
    expect(parseConfigText(MINIMAL).ok).toBe(true);
  });
});
