/**
 * A keep-alive HTTP connection pool to one backend origin (undici Pool), with the request's
 * deadline and cancellation applied and transport failures mapped to typed errors. Adapters build
 * their wire format on top; this knows nothing of any backend's format.
 */
import { EventEmitter } from "node:events";
import { type Dispatcher, Pool, errors as undiciErrors } from "undici";
import { abortError } from "../../abort.js";
import { MAX_TIMER_MS } from "../../config/schema.js";
import { BackendError, BackendUnavailableError, GatewayError } from "../../errors.js";

/** The response cap when none is given: 4 × the default `server.bodyLimitBytes`. */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 8 * 1024 * 1024;

/** One HTTP request to the backend. */
export interface HttpRequest {
  method: "GET" | "POST";
  /** Path and query, e.g. `/v2/models/iris/infer`. */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Absolute deadline (ms since epoch). */
  deadline: number;
  /** Aborts the request (client gone, deadline policy). */
  signal?: AbortSignal;
  /** Sent as `x-request-id` (see BackendCall.requestId). */
  requestId?: string | undefined;
}

/** A backend's raw answer. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Options of an HttpClient. */
export interface HttpClientOptions {
  /** Most open connections to the origin. */
  connections?: number;
  /**
   * Largest answer body accepted, in bytes (the backend's `maxResponseBytes`): past it reading
   * stops and the connection is dropped. Default DEFAULT_MAX_RESPONSE_BYTES.
   */
  maxResponseBytes?: number;
}

/** A pooled HTTP client for one backend. */
export class HttpClient {
  private readonly pool: Pool;
  private readonly maxResponseBytes: number;
  private readonly basePath: string;

  /** `baseUrl` may carry a path prefix, which is prepended to every request path. */
  constructor(
    private readonly backend: string,
    baseUrl: string,
    options: HttpClientOptions = {},
  ) {
    const url = new URL(baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.pool = new Pool(url.origin, {
      connections: options.connections ?? 64,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connectTimeout: 5_000,
    });
  }

  /** Sends one request and reads the whole answer; throws GatewayErrors for transport failures. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const remaining = req.deadline - Date.now();
    if (remaining <= 0 || req.signal?.aborted) throw abortError(this.backend, req.signal);
    // undici takes an EventEmitter as its abort signal: far cheaper to make than an
    // AbortController on Node 20, and this one only ever needs the "abort" event. One emitter and
    // one timer per request (AbortSignal.any/timeout cost more still).
    const abort = new EventEmitter();
    const fire = () => abort.emit("abort");
    const timeout = { aborted: false };
    const timer = setTimeout(
      () => {
        timeout.aborted = true;
        fire();
      },
      Math.min(remaining, MAX_TIMER_MS),
    );
    const caller = req.signal;
    caller?.addEventListener("abort", fire, { once: true });
    try {
      const options: Dispatcher.RequestOptions = {
        method: req.method,
        path: this.basePath + req.path,
        signal: abort,
      };
      if (req.requestId !== undefined) {
        options.headers = { ...req.headers, "x-request-id": req.requestId };
      } else if (req.headers !== undefined) options.headers = req.headers;
      if (req.body !== undefined) options.body = req.body;
      const res = await this.pool.request(options);
      const body = await readCapped(res, this.maxResponseBytes, fire);
      if (body === undefined) {
        throw new BackendError(
          `backend "${this.backend}" answer exceeds ${this.maxResponseBytes} bytes ` +
            "(the backend's maxResponseBytes)",
        );
      }
      return { status: res.statusCode, headers: res.headers, body };
    } catch (err) {
      throw this.mapError(err, req.signal, timeout);
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener("abort", fire);
    }
  }

  /** Closes every connection; requests in flight are aborted. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }

  private mapError(
    err: unknown,
    callerSignal: AbortSignal | undefined,
    timeout: { aborted: boolean },
  ): GatewayError {
    if (err instanceof GatewayError) return err;
    if (callerSignal?.aborted) return abortError(this.backend, callerSignal);
    if (timeout.aborted) return abortError(this.backend, undefined);
    if (
      err instanceof undiciErrors.SocketError ||
      err instanceof undiciErrors.ConnectTimeoutError ||
      err instanceof undiciErrors.ClientDestroyedError ||
      err instanceof undiciErrors.ClientClosedError ||
      isConnectionError(err)
    ) {
      return new BackendUnavailableError(
        `backend "${this.backend}" unreachable: ${describe(err)}`,
        { cause: err },
      );
    }
    return new BackendError(`backend "${this.backend}" request failed: ${describe(err)}`, {
      cause: err,
    });
  }
}

/**
 * The whole body, or undefined once it passes `max` bytes: an announced length over the cap is
 * refused before reading, and a body growing past it stops being read (`abort` drops the
 * connection, so the backend cannot keep streaming into the socket buffer).
 */
function readCapped(
  res: Dispatcher.ResponseData,
  max: number,
  abort: () => void,
): Promise<Buffer | undefined> {
  const announced = Number(res.headers["content-length"]);
  if (Number.isFinite(announced) && announced > max) {
    abort();
    return Promise.resolve(undefined);
  }
  // Events rather than `for await`: the async iterator costs a promise and a generator step per
  // chunk, on every backend answer.
  const body = res.body;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        body.off("data", onData);
        abort();
        body.destroy();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    body.on("data", onData);
    body.once("end", () => resolve(Buffer.concat(chunks, size)));
    body.once("error", reject);
  });
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
]);

function isConnectionError(err: unknown): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    "code" in err &&
    CONNECTION_CODES.has(String(err.code))
  );
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = "code" in err ? ` (${String(err.code)})` : "";
    return `${err.message}${code}`;
  }
  return String(err);
}
