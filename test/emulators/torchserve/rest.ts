/**
 * The emulator's inference REST port: `GET /ping` and `POST /predictions/{m}[/{v}]` with
 * TorchServe's status codes and `{"code","type","message"}` error bodies. Nothing else is served
 * here (the management API lives on another port in TorchServe): every other path is a 404.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { requestIdOf } from "../control.js";
import { CallCancelled, type Engine, TOKEN_MESSAGE, TorchServeFailure } from "./engine.js";

/** Largest request body read (TorchServe's default max_request_size is 6.5 MB). */
const MAX_BODY = 6_553_500;

/** The inference port's request handler (served on a server the emulator kills and restarts). */
export function restHandler(engine: Engine): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(engine, req, res).catch(() => {
      if (res.headersSent) res.destroy();
      else send(res, 500, error(500, "InternalServerException", "emulator failure"));
    });
  };
}

async function route(engine: Engine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const segments = path.split("/").slice(1);
  if (!engine.authorized(req.headers.authorization)) {
    // TorchServe's token check throws InvalidKeyException, a ModelException: HTTP 400.
    req.resume();
    send(res, 400, error(400, "InvalidKeyException", TOKEN_MESSAGE));
    return;
  }
  if (segments[0] === "ping" && segments.length === 1) {
    req.resume();
    send(res, 200, `{\n  "status": "Healthy"\n}\n`);
    return;
  }
  if (
    segments[0] !== "predictions" ||
    segments.length < 2 ||
    segments.length > 3 ||
    segments[1] === ""
  ) {
    req.resume();
    send(
      res,
      404,
      error(
        404,
        "ResourceNotFoundException",
        "Requested resource is not found, please refer to API document.",
      ),
    );
    return;
  }
  if (req.method !== "POST" && req.method !== "PUT") {
    req.resume();
    send(
      res,
      405,
      error(
        405,
        "MethodNotAllowedException",
        "Requested method is not allowed, please refer to API document.",
      ),
    );
    return;
  }
  const model = decodeSegment(segments[1]);
  const version = segments[2] === "" ? undefined : decodeSegment(segments[2]);
  if (
    model === undefined ||
    (segments[2] !== undefined && segments[2] !== "" && version === undefined)
  ) {
    req.resume();
    send(res, 400, error(400, "BadRequestException", "Invalid HTTP message."));
    return;
  }
  const body = await readBody(req);
  if (body === undefined) {
    send(res, 413, error(413, "BadRequestException", "request body too large"));
    return;
  }
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  try {
    const answer = await engine.predict(
      "rest",
      model,
      version,
      body,
      controller.signal,
      requestIdOf(req.headers["x-request-id"]),
    );
    send(res, 200, answer);
  } catch (err) {
    if (err instanceof CallCancelled) return;
    if (!(err instanceof TorchServeFailure)) throw err;
    send(res, err.status, error(err.status, err.type, err.message));
  }
}

function decodeSegment(segment: string | undefined): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function error(code: number, type: string, message: string): string {
  return `{\n  "code": ${code},\n  "type": ${JSON.stringify(type)},\n  "message": ${JSON.stringify(message)}\n}\n`;
}

function send(res: ServerResponse, status: number, body: string): void {
  if (res.destroyed) return;
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** The whole body, or undefined past MAX_BODY. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}
