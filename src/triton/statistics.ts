/**
 * The gateway's own per-model counts and times, in the shape of Triton's statistics extension
 * (docs/triton.md "Statistics"). The service and the batcher feed it; the v2 fronts read it.
 * Counts live for the process (like Triton's, they survive config reloads).
 */

/** Triton's `StatisticDuration`: how many and their total nanoseconds. */
export interface StatDuration {
  count: number;
  ns: bigint;
}

/** Triton's `InferBatchStatistics` (only compute_infer is measured by the gateway). */
export interface BatchStat {
  batch_size: number;
  compute_input: StatDuration;
  compute_infer: StatDuration;
  compute_output: StatDuration;
}

/** Triton's `ModelStatistics` for one model version. */
export interface ModelStatSnapshot {
  name: string;
  version: string;
  /** Ms since the epoch of the last successful inference, 0 when none. */
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<
    | "success"
    | "fail"
    | "queue"
    | "compute_input"
    | "compute_infer"
    | "compute_output"
    | "cache_hit"
    | "cache_miss",
    StatDuration
  >;
  batch_stats: BatchStat[];
}

/** What one finished request tells the statistics. */
export interface RequestOutcome {
  ok: boolean;
  /** Time in the gateway, ns. */
  ns: bigint;
  cache: "hit" | "miss" | "off";
  /** True when the target has a batcher (it then counts executions and batch sizes itself). */
  batched: boolean;
  /** Rows of the request (the batch dimension), 1 without one. */
  rows: number;
}

/** Bounds the entries a long-lived process keeps across reloads that rename models. */
const MAX_ENTRIES = 10_000;

const zero = (): StatDuration => ({ count: 0, ns: 0n });

class Entry {
  lastInference = 0;
  inferences = 0;
  executions = 0;
  readonly success = zero();
  readonly fail = zero();
  readonly queue = zero();
  readonly cacheHit = zero();
  readonly cacheMiss = zero();
  /** Batch size -> executions and their time. */
  readonly batches = new Map<number, StatDuration>();
}

const add = (d: StatDuration, ns: bigint, count = 1) => {
  d.count += count;
  d.ns += ns;
};

/** Per model version counters; keys are bounded by the config's models and versions. */
export class TritonStatistics {
  readonly #entries = new Map<string, Entry>();

  #entry(model: string, version: string): Entry | undefined {
    const key = `${model}\u0000${version}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (this.#entries.size >= MAX_ENTRIES) return undefined;
      entry = new Entry();
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** One finished request (success or failure) of a model version. */
  request(model: string, version: string, outcome: RequestOutcome): void {
    const e = this.#entry(model, version);
    if (e === undefined) return;
    if (!outcome.ok) {
      add(e.fail, outcome.ns);
      return;
    }
    add(e.success, outcome.ns);
    e.inferences += outcome.rows;
    e.lastInference = Date.now();
    if (outcome.cache === "hit") {
      add(e.cacheHit, outcome.ns);
      return;
    }
    if (outcome.cache === "miss") add(e.cacheMiss, 0n);
    if (!outcome.batched) {
      e.executions += 1;
      add(this.#batch(e, outcome.rows), outcome.ns);
    }
  }

  /** A request waited `ms` in the gateway's batcher before its batch left. */
  queued(model: string, version: string, ms: number): void {
    const e = this.#entry(model, version);
    if (e !== undefined) add(e.queue, BigInt(Math.max(0, Math.round(ms * 1e6))));
  }

  /** The batcher sent one execution of `rows` rows. */
  batch(model: string, version: string, rows: number): void {
    const e = this.#entry(model, version);
    if (e === undefined) return;
    e.executions += 1;
    add(this.#batch(e, rows), 0n);
  }

  #batch(e: Entry, rows: number): StatDuration {
    let d = e.batches.get(rows);
    if (d === undefined) {
      d = zero();
      // Batch sizes are bounded by maxBatchSize; a model without batching sees its request sizes.
      if (e.batches.size < 1024) e.batches.set(rows, d);
    }
    return d;
  }

  /**
   * The statistics of one model version (zeros when it has served nothing). compute_infer is the
   * time of the requests the backend computed: success minus queue minus cache hits.
   */
  snapshot(model: string, version: string): ModelStatSnapshot {
    const e = this.#entries.get(`${model}\u0000${version}`) ?? new Entry();
    const computed = e.success.ns - e.queue.ns - e.cacheHit.ns;
    return {
      name: model,
      version,
      last_inference: e.lastInference,
      inference_count: e.inferences,
      execution_count: e.executions,
      inference_stats: {
        success: { ...e.success },
        fail: { ...e.fail },
        queue: { ...e.queue },
        compute_input: zero(),
        compute_infer: {
          count: e.success.count - e.cacheHit.count,
          ns: computed > 0n ? computed : 0n,
        },
        compute_output: zero(),
        cache_hit: { ...e.cacheHit },
        cache_miss: { ...e.cacheMiss },
      },
      batch_stats: [...e.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([size, d]) => ({
          batch_size: size,
          compute_input: zero(),
          compute_infer: { ...d },
          compute_output: zero(),
        })),
    };
  }
}

/** The process's statistics (one per process, shared by every config snapshot). */
export const tritonStats = new TritonStatistics();

/**
 * Feeds one finished request of the service into {@link tritonStats}: `batched` targets count
 * rows by the batch dimension (the first input's first dimension), others count one.
 */
export function noteRequest(
  model: string,
  version: string,
  started: bigint,
  answer:
    | { cache: "hit" | "miss" | "off"; batched: boolean; firstShape?: readonly number[] }
    | undefined,
): void {
  const ns = process.hrtime.bigint() - started;
  if (answer === undefined) {
    tritonStats.request(model, version, { ok: false, ns, cache: "off", batched: false, rows: 1 });
    return;
  }
  const rows = answer.batched ? (answer.firstShape?.[0] ?? 1) : 1;
  tritonStats.request(model, version, {
    ok: true,
    ns,
    cache: answer.cache,
    batched: answer.batched,
    rows,
  });
}
