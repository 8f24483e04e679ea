/**
 * Which split versions are ready (docs/traffic.md "Splits and sticky users": "versions that are not ready (breaker open, backend not
 * ready) get no split traffic"). A weighted split is decided per request and cannot wait for a
 * backend's readiness call, so the targets of models with more than one version are probed in
 * the background and the split reads the last answer. Unknown (not probed yet) counts as ready:
 * a version is taken out only on the backend's word, or when it cannot answer the probe.
 */
import type { BackendAdapter, TargetRef } from "../backends/types.js";

/** Default time between probe rounds. */
export const DEFAULT_READINESS_INTERVAL_MS = 2000;
/** A readiness call taking longer than this counts as "not ready". */
export const DEFAULT_PROBE_TIMEOUT_MS = 1000;

/** `adapter.ready(target)`, false on error or after `timeoutMs`; never rejects. */
export async function probeReady(
  adapter: BackendAdapter,
  target: TargetRef,
  timeoutMs: number,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([adapter.ready(target).catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One target to watch: its TargetState fingerprint (as `key`), the adapter serving it and the target. */
export interface ReadinessProbe {
  key: string;
  adapter: BackendAdapter;
  target: TargetRef;
}

/** Options of a ReadinessMonitor. */
export interface ReadinessOptions {
  intervalMs?: number;
  probeTimeoutMs?: number;
  /** Told when a target's readiness changes (not on its first answer when ready). */
  onChange?: (key: string, ready: boolean) => void;
}

/** Probes a set of targets every interval and remembers their last answers. */
export class ReadinessMonitor {
  private probes = new Map<string, ReadinessProbe>();
  private readonly answers = new Map<string, boolean>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** A sync came in during a round: start the next round as soon as this one ends. */
  private again = false;
  private closed = false;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: ReadinessOptions = {}) {
    this.intervalMs = options.intervalMs ?? DEFAULT_READINESS_INTERVAL_MS;
    this.timeoutMs = options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  }

  /**
   * Watches exactly `probes` from now on and probes them at once. A key kept with the same adapter
   * and target keeps its last answer; anything else starts unknown.
   */
  sync(probes: readonly ReadinessProbe[]): void {
    if (this.closed) return;
    const next = new Map(probes.map((p) => [p.key, p]));
    for (const [key, old] of this.probes) {
      const kept = next.get(key);
      const same =
        kept !== undefined &&
        kept.adapter === old.adapter &&
        JSON.stringify(kept.target) === JSON.stringify(old.target);
      if (!same) this.answers.delete(key);
    }
    this.probes = next;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (next.size > 0) this.round();
  }

  /** The target's last answer: true, false, or undefined when not probed (yet). */
  ready(key: string): boolean | undefined {
    return this.answers.get(key);
  }

  /** Resolves when the probe round in progress (if any) has finished. */
  async settled(): Promise<void> {
    await this.running;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private round(): void {
    // One round at a time: a sync during a round gets the next one straight after it.
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    const probes = [...this.probes.values()];
    this.running = Promise.all(
      probes.map(async (p) => {
        const ready = await probeReady(p.adapter, p.target, this.timeoutMs);
        // Dropped or replaced while probing: the answer is about something no longer watched.
        if (this.probes.get(p.key) !== p) return;
        const before = this.answers.get(p.key);
        this.answers.set(p.key, ready);
        if (before !== ready && (before !== undefined || !ready))
          this.options.onChange?.(p.key, ready);
      }),
    ).then(() => {
      this.running = undefined;
      if (this.closed || this.probes.size === 0) return;
      const delay = this.again ? 0 : this.intervalMs;
      this.again = false;
      this.timer = setTimeout(() => this.round(), delay);
      this.timer.unref();
    });
  }
}
