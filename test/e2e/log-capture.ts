/** A pino logger whose JSON lines the test can read back. */
import { Writable } from "node:stream";
import { type Logger, pino } from "pino";

/** A logger at `info` and the lines it has written so far, parsed. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: pino({ level: "info" }, sink), lines };
}
