/**
 * Request-target normalisation before routing, as Envoy's `normalize_path` and `merge_slashes`
 * do (docs/security.md "Path handling"): every route, admin above all, is matched on one
 * canonical path, so `/%61dmin/reload` or `/x/../admin/reload` cannot slip past a check written
 * for `/admin/...` in front of or inside the gateway.
 *
 * - percent-encoded unreserved characters (letters, digits, `-._~`) are decoded; other escapes
 *   stay encoded, their hex in upper case;
 * - `.` and `..` segments are resolved (never above the root);
 * - runs of slashes become one;
 * - an encoded slash or backslash (`%2F`, `%5C`), a raw backslash, a malformed escape or a
 *   target that is not an origin-form path is refused with 400 (Envoy's REJECT_REQUEST for
 *   escaped slashes), since no route has them and their meaning differs between servers.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { isV2Path } from "./errors.js";

/** A normalised request target, or why it was refused. */
export type NormalizedTarget = { ok: true; target: string } | { ok: false; reason: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Normalises an origin-form request target (`/path?query`); the query is kept unchanged. */
export function normalizeTarget(target: string): NormalizedTarget {
  if (!target.startsWith("/")) return { ok: false, reason: "request target must be a path" };
  const q = target.indexOf("?");
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? "" : target.slice(q);
  if (rawPath.includes("\\")) return { ok: false, reason: "backslash in path" };
  const decoded = decodeUnreserved(rawPath);
  if (!decoded.ok) return decoded;
  const merged = decoded.target.includes("//")
    ? decoded.target.replace(/\/{2,}/g, "/")
    : decoded.target;
  const path = removeDotSegments(merged);
  return { ok: true, target: path + query };
}

/** Decodes escapes of unreserved characters; refuses encoded slashes and malformed escapes. */
function decodeUnreserved(path: string): NormalizedTarget {
  if (!path.includes("%")) return { ok: true, target: path };
  let out = "";
  for (let i = 0; i < path.length; i += 1) {
    const ch = path[i] as string;
    if (ch !== "%") {
      out += ch;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { ok: false, reason: "malformed percent-encoding" };
    const decoded = String.fromCharCode(Number.parseInt(hex, 16));
    if (decoded === "/" || decoded === "\\") {
      return { ok: false, reason: "encoded slash or backslash in path" };
    }
    out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return { ok: true, target: out };
}

/** RFC 3986 section 5.2.4 for an absolute path whose slashes are already merged. */
function removeDotSegments(path: string): string {
  if (!path.includes(".")) return path;
  const segments = path.split("/").slice(1);
  const out: string[] = [];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if (segment === "..") {
      out.pop();
      if (last) out.push("");
    } else if (segment === ".") {
      if (last) out.push("");
    } else {
      out.push(segment);
    }
  }
  return `/${out.join("/")}`;
}

/**
 * Rewrites `req.url` to its normalised form before the router sees it; answers 400 itself (in
 * the route family's error format) and returns true when the target is refused.
 */
export function normalizeRequest(req: IncomingMessage, res: ServerResponse): boolean {
  const raw = req.url ?? "";
  const result = normalizeTarget(raw);
  if (result.ok) {
    req.url = result.target;
    return false;
  }
  const message = `invalid request target: ${result.reason}`;
  const body = isV2Path(raw.split("?")[0] ?? "")
    ? { error: message }
    : { error: { code: "INVALID_REQUEST", message } };
  const text = JSON.stringify(body);
  res.writeHead(400, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    connection: "close",
  });
  res.end(text);
  return true;
}
