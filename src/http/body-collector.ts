/**
 * Collects a request body's chunks (see body-limit.ts), in one buffer for large declared bodies.
 */

/** Bodies declared larger than this move into one buffer of the declared size past this size. */
const PREALLOCATE_OVER = 64 * 1024;

/**
 * A body's bytes as they arrive. A large declared body goes into one buffer of its size, not a
 * list of the socket's 64 KiB reads: one allocation of its own, which the allocator can give back
 * to the system whole once it is freed, where thousands of small ones leave the heap fragmented
 * (measured: 33 stalled 8 MB uploads kept RSS at +270 MiB after a GC as chunk lists, +30 MiB as
 * single buffers). The buffer is allocated only once the body passes 64 KiB, i.e. once the body
 * budget has accepted its bytes: a connection that declares a large body and is refused (or
 * sends little) never costs its declared size.
 */
export class BodyCollector {
  /** Bytes added so far. */
  size = 0;
  private chunks: Buffer[] = [];
  private buffer: Buffer | undefined;
  /** Bytes written into `buffer`; anything past the declared size stays in `chunks`. */
  private filled = 0;
  private readonly declared: number;

  /** @param contentLength the request's Content-Length header, if any. */
  constructor(contentLength: string | undefined) {
    const declared = Number(contentLength);
    this.declared = Number.isSafeInteger(declared) && declared > PREALLOCATE_OVER ? declared : 0;
  }

  /** Appends one chunk as read from the socket. */
  add(chunk: Buffer): void {
    this.size += chunk.length;
    const buffer = this.buffer;
    if (buffer !== undefined && this.chunks.length === 0 && this.size <= this.declared) {
      chunk.copy(buffer, this.filled);
      this.filled += chunk.length;
      return;
    }
    this.chunks.push(chunk);
    if (buffer === undefined && this.size > PREALLOCATE_OVER && this.size <= this.declared) {
      this.buffer = Buffer.allocUnsafeSlow(this.declared);
      for (const part of this.chunks) {
        part.copy(this.buffer, this.filled);
        this.filled += part.length;
      }
      this.chunks = [];
    }
  }

  /** The whole body so far. */
  bytes(): Uint8Array {
    const head = this.buffer?.subarray(0, this.filled);
    if (head !== undefined && this.chunks.length === 0) return head;
    const parts = head === undefined ? this.chunks : [head, ...this.chunks];
    if (parts.length === 1) return parts[0] as Buffer;
    return Buffer.concat(parts, this.size);
  }

  /** Lets go of everything (a refused body). */
  drop(): void {
    this.chunks = [];
    this.buffer = undefined;
  }
}
