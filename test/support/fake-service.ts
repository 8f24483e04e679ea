/**
 * The one configurable in-memory InferenceService for the fronts' tests (HTTP and gRPC): a table of
 * models, each with versions, tensors and a `run`, and knobs for readiness. Every call is recorded
 * in `calls`. Not used by the gateway itself.
 */
import type { ModelMetadata } from "../../src/backends/types.js";
import { InvalidRequestError, ModelNotFoundError, VersionNotFoundError } from "../../src/errors.js";
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
import { HTTP_MODELS } from "./fake-models.js";

/** One version of a fake model: where it says it ran, and what it answers besides the tensors. */
export interface FakeVersion {
  backend: string;
  fallback?: boolean;
  /** The cache field of its answers; default "off" with `Cache-Control: no-cache`, else "miss". */
  cache?: InferResponse["cache"];
  /** False: ready() answers false for this version. */
  ready?: boolean;
}

/** One fake model. */
export interface FakeModel {
  versions: Record<string, FakeVersion>;
  labels?: Record<string, string>;
  default: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  platform?: string;
  /** Takes inputs of any name (no "unknown input" check). */
  anyInputs?: boolean;
  run: (
    inputs: Map<string, NamedTensor>,
    version: string,
    call: { request: InferRequest; context: RequestContext },
  ) => NamedTensor[] | Promise<NamedTensor[]>;
}

/** Options of a FakeService. */
export interface FakeServiceOptions {
  models?: Record<string, FakeModel>;
  info?: ServerInfo;
}

/** One recorded infer call. */
export interface InferCall {
  route: Route;
  request: InferRequest;
  context: RequestContext;
}

/** The test double; inspect `calls`, set `readinessState` and `notReady`. */
export class FakeService implements InferenceService {
  readonly info: ServerInfo;
  readonly calls: InferCall[] = [];
  private readonly table: Record<string, FakeModel>;

  constructor(options: FakeServiceOptions = {}) {
    this.table = options.models ?? HTTP_MODELS;
    this.info = options.info ?? {
      name: "infergate",
      version: "0.1.0",
      extensions: ["binary_tensor_data"],
    };
  }

  /** The last infer call's context and request. */
  get lastContext(): RequestContext | undefined {
    return this.calls.at(-1)?.context;
  }

  get lastRequest(): InferRequest | undefined {
    return this.calls.at(-1)?.request;
  }
  readinessState = { ready: true, reasons: [] as string[] };
  /** Models whose ready() answers false. */
  readonly notReady = new Set<string>();

  private model(name: string): FakeModel {
    const model = Object.hasOwn(this.table, name) ? this.table[name] : undefined;
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
      platform: config.platform ?? "fake",
      inputs: config.inputs,
      outputs: config.outputs,
    };
  }

  async ready(route: Route): Promise<boolean> {
    const version = this.table[route.model]?.versions[route.version];
    return !this.notReady.has(route.model) && version?.ready !== false;
  }

  async infer(
    route: Route,
    request: InferRequest,
    context: RequestContext,
  ): Promise<InferResponse> {
    this.calls.push({ route, request, context });
    const config = this.model(route.model);
    for (const tensor of request.inputs) {
      if (config.anyInputs !== true && !config.inputs.some((s) => s.name === tensor.name)) {
        throw new InvalidRequestError(`unknown input "${tensor.name}"`);
      }
    }
    const inputs = new Map(request.inputs.map((t) => [t.name, t]));
    const all = await config.run(inputs, route.version, { request, context });
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
      cache: target?.cache ?? (context.header("cache-control") === "no-cache" ? "off" : "miss"),
    };
  }

  models(): string[] {
    return Object.keys(this.table);
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

  /** Counting refusals is the real service's (test/e2e/refused-metrics.test.ts checks it). */
  refused(): void {}

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
