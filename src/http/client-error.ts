/**
 * Answers for connections Node's HTTP parser gives up on before a request reaches the app: a
 * header or whole-request timeout, headers too large, bytes that are not HTTP. Node's own answer
 * is a bare status line; these carry the same JSON error body as every other refusal
 * (docs/security.md "Timeouts and caps"), then close the connection.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { ListenerLimits } from "./listener.js";

/** The parser errors Node reports with a `code`. */
interface ClientError extends Error {
  code?: string;
}

/** The response Node attached to the socket, if a request got that far. */
interface WithResponse {
  _httpMessage?: { headersSent?: boolean } | null;
}

/** Status and message for a parser error. */
function clientErrorAnswer(
  err: ClientError,
  limits: ListenerLimits,
): { status: number; code: string; message: string } {
  switch (err.code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      // Node raises the same error for both deadlines; which one passed it does not say.
      return {
        status: 408,
        code: "INVALID_REQUEST",
        message: `request not received in time: headers are due within ${Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs)} ms, the whole request within ${limits.requestTimeoutMs} ms`,
      };
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, code: "INVALID_REQUEST", message: "request headers too large" };
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return { status: 413, code: "PAYLOAD_TOO_LARGE", message: "chunk extensions too large" };
    default:
      return {
        status: 400,
        code: "INVALID_REQUEST",
        message: `malformed HTTP request${err.code === undefined ? "" : ` (${err.code})`}`,
      };
  }
}

/**
 * A `clientError` listener: writes the JSON answer when the socket can still take one and no
 * response has started, then closes. A reset connection is only destroyed.
 */
export function clientErrorHandler(
  limits: () => ListenerLimits,
): (err: ClientError, socket: Socket) => void {
  // A slowloris wave times out thousands of connections in one check: each answer is encoded once
  // per parser code (a few dozen), again only after a reload changed the limits it names.
  const encoded = new Map<string | undefined, Buffer>();
  let encodedFor: ListenerLimits | undefined;
  const answerFor = (err: ClientError): Buffer => {
    const current = limits();
    if (current !== encodedFor) {
      encoded.clear();
      encodedFor = current;
    }
    let answer = encoded.get(err.code);
    if (answer === undefined) {
      const { status, code, message } = clientErrorAnswer(err, current);
      const body = JSON.stringify({ error: { code, message } });
      answer = Buffer.from(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n` +
          "Content-Type: application/json\r\n" +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          "Connection: close\r\n\r\n" +
          body,
      );
      encoded.set(err.code, answer);
    }
    return answer;
  };
  return function answerClientError(err, socket) {
    const started = (socket as Socket & WithResponse)._httpMessage?.headersSent === true;
    if (err.code === "ECONNRESET" || !socket.writable || started) {
      socket.destroy();
      return;
    }
    socket.end(answerFor(err));
    // Reading on for a moment lets a client still sending see the answer instead of a reset;
    // after that (one that never reads, or sends on) the socket goes whatever it does.
    setTimeout(() => socket.destroy(), 1000).unref();
  };
}
