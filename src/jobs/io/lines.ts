/**
 * Splits a byte stream into lines with a bound on a line's length, which Node's readline lacks:
 * a multi-gigabyte file without newlines must become one bad record, not an out-of-memory crash.
 * Lines are cut on bytes and decoded whole, so a UTF-8 character split across chunks stays intact.
 */

/** One physical line (1-based), or a line dropped for being longer than the bound. */
export type Line =
  | { readonly line: number; readonly text: string }
  | { readonly line: number; readonly tooLong: true };

const NEWLINE = 0x0a;

function decode(parts: readonly Buffer[], tail: Buffer): string {
  const whole = parts.length === 0 ? tail : Buffer.concat([...parts, tail]);
  const end =
    whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.length - 1 : whole.length;
  return whole.toString("utf8", 0, end);
}

/**
 * The lines of `chunks`, LF or CRLF terminated; a last line without a newline counts when it is
 * not empty. Reads one chunk at a time, so memory is one chunk plus one line of at most `maxBytes`.
 */
export async function* readLines(
  chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  maxBytes: number,
): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let overflow = false;
  let line = 0;
  for await (const raw of chunks) {
    const chunk = typeof raw === "string" ? Buffer.from(raw) : raw;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!overflow && partBytes + (end - start) > maxBytes) {
        overflow = true;
        parts = [];
        partBytes = 0;
      }
      if (nl === -1) {
        if (!overflow && end > start) {
          parts.push(chunk.subarray(start, end));
          partBytes += end - start;
        }
        break;
      }
      line++;
      if (overflow) yield { line, tooLong: true };
      else yield { line, text: decode(parts, chunk.subarray(start, end)) };
      parts = [];
      partBytes = 0;
      overflow = false;
      start = nl + 1;
    }
  }
  if (overflow) yield { line: line + 1, tooLong: true };
  else if (partBytes > 0) yield { line: line + 1, text: decode(parts, Buffer.alloc(0)) };
}
