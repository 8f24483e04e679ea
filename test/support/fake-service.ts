/**
 * An in-memory InferenceService for the HTTP front's tests: a few small models with real arithmetic
 * so tests can check that tensors travel both ways, plus a model whose versions throw each
 * GatewayError. Not used by the gateway itself.
 */
import type { ModelMetadata } from "../../src/backends/types.js";
import {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  InternalError,
  InvalidRequestError,
  ModelNotFoundError,
  OverloadedError,
  VersionNotFoundError,
} from "../../src/errors.js";
import type {
  BreakerInfo,
  HeaderLookup,
  InferenceService,
  InferRequest,
  InferResponse,
  ModelRoutes,
  RequestContext,
  Route,
  RoutesTable,
  ServerInfo,
} from "../../src/gateway/types.js";
import type { SplitEntry } from "../../src/routing/split.js";
import { TrafficInvalidError } from "../../src/routing/versions.js";
import type { NamedTensor, TensorSpec } from "../../src/tensor/types.js";

interface FakeModel {
  versions: Record<string, { backend: string; fallback?: boolean }>;
  labels?: Record<string, string>;
  default: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  run: (inputs: Map<string, NamedTensor>, version: string) => NamedTensor[];
}

function input(inputs: Map<string, NamedTensor>, name: string): NamedTensor {
  const tensor = inputs.get(name);
  if (tensor === undefined) throw new InvalidRequestError(`missing input "${name}"`);
  return tensor;
}

function float32(tensor: NamedTensor): Float32Array {
  if (!(tensor.data instanceof Float32Array))
    throw new InvalidRequestError(`"${tensor.name}" must be FP32`);
  return tensor.data;
}

const FAILURES: Record<string, () => Error> = {
  overloaded: () => new OverloadedError("queue full", 2),
  unavailable: () => new BackendUnavailableError("every target is down"),
  timeout: () => new BackendTimeoutError("deadline passed after 300 ms"),
  backend: () => new BackendError("backend answered 500"),
  internal: () => new InternalError(new Error("secret internal detail")),
  crash: () => new TypeError("secret crash detail"),
  invalid: () => new InvalidRequestError("backend says: wrong shape"),
};

const MODELS: Record<string, FakeModel> = {
  iris: {
    versions: { "1": { backend: "local" }, "2": { backend: "tfs", fallback: true } },
    labels: { stable: "1", canary: "2" },
    default: "1",
    inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
    outputs: [
      { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
      { name: "rowsum", datatype: "FP32", shape: [-1] },
    ],
    run: (inputs) => {
      const x = input(inputs, "features");
      const data = float32(x);
      const rows = x.shape[0] ?? 0;
      const probabilities = new Float32Array(rows * 3);
      const rowsum = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        probabilities.set([0.5, 0.25, 0.25], r * 3);
        let sum = 0;
        for (let k = 0; k < 4; k++) sum += data[r * 4 + k] ?? 0;
        rowsum[r] = sum;
      }
      return [
        { name: "probabilities", datatype: "FP32", shape: [rows, 3], data: probabilities },
        { name: "rowsum", datatype: "FP32", shape: [rows], data: rowsum },
      ];
    },
  },
  double: {
    versions: { "1": { backend: "triton" } },
    default: "1",
    inputs: [
      { name: "a", datatype: "INT64", shape: [-1] },
      { name: "b", datatype: "INT64", shape: [-1] },
    ],
    outputs: [{ name: "sum", datatype: "INT64", shape: [-1] }],
    run: (inputs) => {
      const a = input(inputs, "a");
      const b = input(inputs, "b");
      if (!(a.data instanceof BigInt64Array) || !(b.data instanceof BigInt64Array)) {
        throw new InvalidRequestError("a and b must be INT64");
      }
      const sum = new BigInt64Array(a.data.length);
      for (let i = 0; i < sum.length; i++) sum[i] = (a.data[i] ?? 0n) + (b.data[i] ?? 0n);
      return [{ name: "sum", datatype: "INT64", shape: [...a.shape], data: sum }];
    },
  },
  pixels: {
    versions: { "1": { backend: "local" } },
    default: "1",
    inputs: [{ name: "img", datatype: "UINT8", shape: [-1] }],
    outputs: [{ name: "total", datatype: "INT32", shape: [1] }],
    run: (inputs) => {
      const img = input(inputs, "img");
      let total = 0;
      for (const v of img.data as Uint8Array) total += v;
      return [{ name: "total", datatype: "INT32", shape: [1], data: Int32Array.of(total) }];
    },
  },
  half: {
    versions: { "1": { backend: "triton" } },
    default: "1",
    inputs: [{ name: "x", datatype: "FP16", shape: [-1] }],
    outputs: [{ name: "y", datatype: "FP16", shape: [-1] }],
    run: (inputs) => {
      const x = input(inputs, "x");
      return [{ name: "y", datatype: "FP16", shape: [...x.shape], data: x.data }];
    },
  },
  echo: {
    versions: { "1": { backend: "torch" } },
    default: "1",
    inputs: [{ name: "text", datatype: "BYTES", shape: [-1] }],
    outputs: [{ name: "text", datatype: "BYTES", shape: [-1] }],
    run: (inputs) => {
      const text = input(inputs, "text");
      return [{ name: "text", datatype: "BYTES", shape: [...text.shape], data: text.data }];
    },
  },
  // An input named "data": an inputs object {"data": ...} must not be taken for an explicit tensor.
  named: {
    versions: { "1": { backend: "local" } },
    default: "1",
    inputs: [{ name: "data", datatype: "FP32", shape: [-1] }],
    outputs: [{ name: "out", datatype: "FP32", shape: [-1] }],
    run: (inputs) => {
      const x = input(inputs, "data");
      return [{ name: "out", datatype: "FP32", shape: [...x.shape], data: float32(x) }];
    },
  },
  fail: {
    versions: Object.fromEntries(Object.keys(FAILURES).map((v) => [v, { backend: "tfs" }])),
    default: "overloaded",
    inputs: [{ name: "x", datatype: "FP32", shape: [-1] }],
    outputs: [{ name: "y", datatype: "FP32", shape: [-1] }],
    run: (_inputs, version) => {
      const failure = FAILURES[version];
      throw failure === undefined ? new TypeError(`no failure "${version}"`) : failure();
    },
  },
};

/** One recorded infer call. */
export interface InferCall {
  route: Route;
  request: InferRequest;
  context: RequestContext;
}

/** The test double; inspect `calls`, set `readinessState` and `notReady`. */
export class FakeService implements InferenceService {
  readonly info: ServerInfo = {
    name: "infergate",
    version: "0.1.0",
    extensions: ["binary_tensor_data"],
  };
  readonly calls: InferCall[] = [];
  readinessState = { ready: true, reasons: [] as string[] };
  /** Models whose ready() answers false. */
  readonly notReady = new Set<string>();

  private model(name: string): FakeModel {
    const model = Object.hasOwn(MODELS, name) ? MODELS[name] : undefined;
    if (model === undefined) throw new ModelNotFoundError(name);
    return model;
  }

  resolve(model: string, version: string | undefined, header: HeaderLookup): Route {
    const config = this.model(model);
    const asked = version ?? header("x-infergate-version");
    const id = asked === undefined ? config.default : (config.labels?.[asked] ?? asked);
    const target = Object.hasOwn(config.versions, id) ? config.versions[id] : undefined;
    if (target === undefined) throw new VersionNotFoundError(model, asked ?? "");
    return { model, version: id, backend: target.backend };
  }

  async metadata(route: Route): Promise<ModelMetadata> {
    const config = this.model(route.model);
    return {
      name: route.model,
      versions: Object.keys(config.versions),
      platform: "fake",
      inputs: config.inputs,
      outputs: config.outputs,
    };
  }

  async ready(route: Route): Promise<boolean> {
    return !this.notReady.has(route.model);
  }

  async infer(
    route: Route,
    request: InferRequest,
    context: RequestContext,
  ): Promise<InferResponse> {
    this.calls.push({ route, request, context });
    const config = this.model(route.model);
    for (const tensor of request.inputs) {
      if (!config.inputs.some((s) => s.name === tensor.name)) {
        throw new InvalidRequestError(`unknown input "${tensor.name}"`);
      }
    }
    const all = config.run(new Map(request.inputs.map((t) => [t.name, t])), route.version);
    const wanted = request.outputs;
    const outputs = wanted === undefined ? all : all.filter((t) => wanted.includes(t.name));
    const target = config.versions[route.version];
    return {
      ...(request.id === undefined ? {} : { id: request.id }),
      model: route.model,
      version: route.version,
      outputs,
      backend: target?.backend ?? "none",
      fallback: target?.fallback ?? false,
      cache: context.header("cache-control") === "no-cache" ? "off" : "miss",
    };
  }

  models(): string[] {
    return Object.keys(MODELS);
  }

  /** Breakers GET /admin/breakers reports. */
  breakerList: BreakerInfo[] = [];

  breakers(): BreakerInfo[] {
    return this.breakerList;
  }

  /** Splits set with setTraffic (the fake does not route by them). */
  readonly traffic = new Map<string, SplitEntry[]>();

  routes(): RoutesTable {
    const models: Record<string, ModelRoutes> = {};
    for (const name of this.models()) models[name] = this.modelRoutes(name);
    return { models };
  }

  private modelRoutes(name: string): ModelRoutes {
    const config = this.model(name);
    const entry: ModelRoutes = {
      versions: Object.fromEntries(
        Object.entries(config.versions).map(([id, t]) => [id, { backend: t.backend, model: name }]),
      ),
      labels: { ...config.labels },
      default: config.default,
      fallback: [],
    };
    const traffic = this.traffic.get(name);
    if (traffic !== undefined) entry.traffic = { source: "runtime", weights: traffic };
    return entry;
  }

  /** Checks only that the versions exist (the real checks are GatewayService's). */
  setTraffic(model: string, entries: readonly SplitEntry[]): void {
    const config = this.model(model);
    const errors = entries.flatMap((e, i) =>
      Object.hasOwn(config.versions, e.version)
        ? []
        : [`traffic[${i}].version: unknown version ${JSON.stringify(e.version)}`],
    );
    if (errors.length > 0) throw new TrafficInvalidError(errors);
    this.traffic.set(model, [...entries]);
  }

  /** Snapshot holds not yet released (a front must release every hold it takes). */
  held = 0;

  hold(): () => void {
    this.held++;
    let released = false;
    return () => {
      if (!released) this.held--;
      released = true;
    };
  }

  async readiness(): Promise<{ ready: boolean; reasons: string[] }> {
    return this.readinessState;
  }
}
