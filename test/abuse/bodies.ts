/** Hostile request bodies and a timed POST, shared by the abuse tests and bench/abuse-decode. */

/** `bytes` of nested brackets, `[[[…]]]`: JSON.parse would build bytes/2 arrays from it. */
export function nestedBrackets(bytes: number): Buffer {
  const half = bytes / 2;
  return Buffer.concat([Buffer.alloc(half, "["), Buffer.alloc(half, "]")]);
}

/** A `/v1` body with a BYTES tensor of `count` one-character strings for echo_bytes. */
export function manyStrings(count: number): Buffer {
  return Buffer.from(`{"inputs":{"x":[[${'"a",'.repeat(count - 1)}"a"]]}}`);
}

/** A one-row iris `/v1` body. */
export const IRIS_ROW = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });

/** A timed answer. */
export interface Timed {
  status: number;
  ms: number;
  text: string;
}

/** POSTs JSON (gzip-encoded when `gzip`: `body` must then be compressed already) and times it. */
export async function postTimed(
  url: string,
  body: Uint8Array | string,
  gzip = false,
): Promise<Timed> {
  const started = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, ms: performance.now() - started, text };
}
