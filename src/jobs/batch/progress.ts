/**
 * The CLI's progress: a cli-progress bar on a terminal (records, records/s, ETA, failed), and
 * one plain line every few seconds otherwise (logs, CI), both on stderr.
 */
import cliProgress from "cli-progress";
import type { BatchCounts } from "./types.js";

const LINE_EVERY_MS = 5000;

/** Shows batch progress. */
export interface Progress {
  update(counts: BatchCounts, recordsPerSecond: number): void;
  stop(): void;
}

function eta(counts: BatchCounts, rate: number): string {
  if (counts.total === null || rate <= 0) return "?";
  const seconds = Math.ceil(Math.max(0, counts.total - counts.done) / rate);
  const m = Math.floor(seconds / 60);
  return m > 0 ? `${m}m${String(seconds % 60).padStart(2, "0")}s` : `${seconds}s`;
}

/** A progress display for `stream`: a bar when it is a TTY, periodic lines otherwise. */
export function createProgress(stream: NodeJS.WriteStream, model: string): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${model} {bar} {percentage}% | {value}/{total} records | {rate} rec/s | ETA {etaText} | failed {failed}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(counts, rate) {
        const payload = {
          rate: Math.round(rate),
          etaText: eta(counts, rate),
          failed: counts.failed,
        };
        const total = counts.total ?? counts.done;
        if (!started) {
          bar.start(total, counts.done, payload);
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(counts.done, payload);
        }
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let last = 0;
  let latest: { counts: BatchCounts; rate: number } | undefined;
  const line = () => {
    if (latest === undefined) return;
    const { counts, rate } = latest;
    const of = counts.total === null ? "" : `/${counts.total}`;
    stream.write(
      `${model}: ${counts.done}${of} records, ${Math.round(rate)} rec/s, ETA ${eta(counts, rate)}, failed ${counts.failed}\n`,
    );
  };
  return {
    update(counts, rate) {
      latest = { counts, rate };
      if (Date.now() - last >= LINE_EVERY_MS) {
        last = Date.now();
        line();
      }
    },
    stop: line,
  };
}
