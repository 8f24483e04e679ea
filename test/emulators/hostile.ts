/**
 * Hostile answers an emulator can give its inference calls instead of computing (a broken or
 * malicious backend): a huge body, a body that trickles, an answer with a great many outputs
 * (or duplicate names), an HTML error page. Bodies are streamed from small reused chunks with
 * backpressure, so the emulator itself stays small however big the answer is: a test measuring
 * the gateway's memory in the same process measures the gateway.
 */
import type { RequestListener, ServerResponse } from "node:http";

/** What a hostile backend answers (see EmulatorMode.hostile). */
export type HostileAnswer =
  /** A 200 with a valid JSON body of about `bytes` bytes, chunked (or with its length announced). */
  | { kind: "hugeBody"; bytes: number; announceLength?: boolean }
  /** A 200 whose body sends one byte every `intervalMs`, never finishing. */
  | { kind: "slowDrip"; intervalMs: number }
  /** A 200 with `count` outputs, all named alike when `duplicateNames`. */
  | { kind: "manyOutputs"; count: number; duplicateNames?: boolean }
  /** A proxy's HTML error page (default status 500, about 5 KB). */
  | { kind: "htmlError"; status?: number };

/** How one backend's JSON answer lists outputs, for `manyOutputs`. */
export interface OutputsFormat {
  open: string;
  /** One output holding a single FP32 zero. */
  entry(name: string): string;
  close: string;
}

/** Triton / KServe v2: `{"outputs": [{name, datatype, shape, data}, ...]}`. */
export const KSERVE_OUTPUTS: OutputsFormat = {
  open: '{"model_name":"m","outputs":[',
  entry: (name) => `{"name":"${name}","datatype":"FP32","shape":[1],"data":[0]}`,
  close: "]}",
};

/** TF Serving columnar: `{"outputs": {name: value, ...}}`. */
export const TFSERVING_OUTPUTS: OutputsFormat = {
  open: '{"outputs":{',
  entry: (name) => `"${name}":[0]`,
  close: "}}",
};

/** TorchServe's JSON convention: `{name: value, ...}`. */
export const TORCHSERVE_OUTPUTS: OutputsFormat = {
  open: "{",
  entry: (name) => `"${name}":[0]`,
  close: "}",
};

/** The name of output `i` of a `manyOutputs` answer. */
export function hostileOutputName(i: number, duplicateNames: boolean | undefined): string {
  return duplicateNames === true ? "out" : `out${i}`;
}

/**
 * `listener`, except that while `hostile()` names an answer, POST requests (inference calls) get
 * that answer instead.
 */
export function withHostileAnswers(
  listener: RequestListener,
  hostile: () => HostileAnswer | undefined,
  format: OutputsFormat,
): RequestListener {
  return (req, res) => {
    const answer = hostile();
    if (answer === undefined || req.method !== "POST") {
      listener(req, res);
      return;
    }
    // Drain the request so the client can finish sending, then misbehave.
    req.resume();
    req.on("end", () => void answerHostile(res, answer, format).catch(() => res.destroy()));
  };
}

const CHUNK = Buffer.alloc(64 * 1024, "0,");

async function answerHostile(
  res: ServerResponse,
  answer: HostileAnswer,
  format: OutputsFormat,
): Promise<void> {
  // Not req.destroyed: a request read to its end is destroyed (autoDestroy) while its socket lives.
  const gone = () => res.destroyed;
  switch (answer.kind) {
    case "htmlError": {
      const page = `<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>${"The proxy could not reach the upstream. ".repeat(120)}</p></body></html>`;
      res.writeHead(answer.status ?? 500, {
        "content-type": "text/html; charset=utf-8",
        "content-length": Buffer.byteLength(page),
      });
      res.end(page);
      return;
    }
    case "slowDrip": {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("{");
      while (!gone()) {
        await sleep(answer.intervalMs);
        if (!gone()) res.write(" ");
      }
      return;
    }
    case "hugeBody": {
      const open =
        '{"model_name":"m","outputs":[{"name":"out","datatype":"FP32","shape":[1],"data":[';
      const close = "0]}]}";
      const chunks = Math.max(
        0,
        Math.floor((answer.bytes - open.length - close.length) / CHUNK.length),
      );
      const total = open.length + chunks * CHUNK.length + close.length;
      res.writeHead(200, {
        "content-type": "application/json",
        ...(answer.announceLength === true ? { "content-length": total } : {}),
      });
      res.write(open);
      for (let i = 0; i < chunks && !gone(); i++) {
        if (!res.write(CHUNK)) await drained(res);
      }
      if (!gone()) res.end(close);
      return;
    }
    case "manyOutputs": {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(format.open);
      const perChunk = 2048;
      for (let i = 0; i < answer.count && !gone(); i += perChunk) {
        const parts: string[] = [];
        for (let j = i; j < Math.min(answer.count, i + perChunk); j++) {
          parts.push(format.entry(hostileOutputName(j, answer.duplicateNames)));
        }
        const text = (i === 0 ? "" : ",") + parts.join(",");
        if (!res.write(text)) await drained(res);
      }
      if (!gone()) res.end(format.close);
      return;
    }
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
