/**
 * Listing cursors: opaque to clients, a job's position in the store's newest-first order inside.
 */
import { InvalidRequestError } from "../errors.js";

/** The cursor after the job at position `seq`. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`s${seq}`).toString("base64url");
}

/** The position a cursor names; anything not made by {@link encodeCursor} is INVALID_REQUEST. */
export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, "base64url").toString();
  const match = /^s(\d{1,15})$/.exec(text);
  if (match?.[1] === undefined) throw new InvalidRequestError(`"after" is not a valid cursor`);
  return Number(match[1]);
}
