/**
 * `POST /v1/files?name=N` and `GET /v1/files/{name}`: uploads and downloads confined to
 * `jobs.dataDir` (no `..`, no absolute paths, no symlinks out). An upload streams to a temp name
 * and is renamed into place once complete, so a batch never reads half a file.
 */
import { createReadStream } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import type { Context } from "hono";
import { GatewayError, InvalidRequestError, PayloadTooLargeError } from "../../errors.js";
import type { AppEnv } from "../../http/deps.js";
import { checkRelativePath, resolveDataPath } from "../io/paths.js";

/** Stores the request body as `name` (under the tenant's `prefix`); returns its size. */
export async function uploadFile(
  c: Context<AppEnv>,
  dataDir: string,
  maxBytes: number,
  prefix = "",
): Promise<{ name: string; bytes: number }> {
  const name = c.req.query("name");
  if (name === undefined || name === "") throw new InvalidRequestError(`"name" is required`);
  checkRelativePath(name);
  const target = await resolveDataPath(dataDir, prefix + name, { createParents: true });
  const temp = `${target}.upload-${process.pid}-${Date.now()}`;
  const file = await open(temp, "w");
  let bytes = 0;
  try {
    const body = c.req.raw.body;
    if (body !== null) {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        if (bytes > maxBytes) {
          throw new PayloadTooLargeError(maxBytes);
        }
        await file.write(chunk);
      }
    }
    await file.sync();
    await file.close();
    await rename(temp, target);
    return { name, bytes };
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * Streams `name` (under the tenant's `prefix`) from the data dir; a 404 (JOB_NOT_FOUND) when it
 * does not exist.
 */
export async function downloadFile(name: string, dataDir: string, prefix = ""): Promise<Response> {
  checkRelativePath(name);
  const path = await resolveDataPath(dataDir, prefix + name);
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new InvalidRequestError(`${JSON.stringify(name)} is not a file`);
    size = info.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new GatewayError("JOB_NOT_FOUND", `file ${JSON.stringify(name)} not found`);
    }
    throw err;
  }
  const stream = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
  return new Response(stream, {
    status: 200,
    headers: { "content-type": "application/octet-stream", "content-length": String(size) },
  });
}
