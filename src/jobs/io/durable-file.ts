/**
 * An append-only output file written under a temp name (`<final>.partial`) with explicit durable
 * points: `sync()` writes the buffer, fsyncs and returns the length, which is the resume position.
 * Reopening with that length truncates whatever a crash left after it. `publish()` renames the
 * temp file to its final name atomically and fsyncs the directory so the rename itself survives.
 */
import { constants, type FileHandle, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { InvalidRequestError } from "../../errors.js";

/** The temp name an output is written under until it is finished. */
export function partialPath(finalPath: string): string {
  return `${finalPath}.partial`;
}

/** Buffered bytes written at once: big enough for throughput, small enough to stay bounded. */
const WRITE_CHUNK_BYTES = 256 * 1024;

/** O_NOFOLLOW: the temp file is never opened through a symlink planted in its place. */
const OPEN_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW;

/** fsyncs a directory, so a rename or create inside it survives a power loss. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a whole file durably: `write` fills `temp` (created or emptied, never through a
 * symlink), which is fsynced and renamed to `final`, and the directory is fsynced.
 */
export async function writeFileDurably(
  temp: string,
  final: string,
  write: (handle: FileHandle) => Promise<void>,
): Promise<void> {
  const flags = constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
  const handle = await open(temp, flags, 0o644);
  try {
    await write(handle);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, final);
  await fsyncDirectory(dirname(final));
}

/** An append-only file with checkpoints; see the module comment. */
export class DurableFile {
  private pending: string[] = [];
  private pendingBytes = 0;
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    readonly finalPath: string,
    private position: number,
  ) {}

  /**
   * Opens `<finalPath>.partial`: empty without `resumeBytes`, else truncated to `resumeBytes`
   * (INVALID_REQUEST when the file is shorter: it is not the file the checkpoint was taken of).
   */
  static async open(finalPath: string, resumeBytes?: number): Promise<DurableFile> {
    const temp = partialPath(finalPath);
    const handle = await open(temp, OPEN_FLAGS, 0o644);
    try {
      const size = (await handle.stat()).size;
      const keep = resumeBytes ?? 0;
      if (keep > size) {
        throw new InvalidRequestError(
          `cannot resume ${basename(temp)}: checkpoint at ${keep} bytes, file has ${size}`,
        );
      }
      await handle.truncate(keep);
      return new DurableFile(handle, finalPath, keep);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Bytes written so far, buffered ones included. */
  get bytes(): number {
    return this.position + this.pendingBytes;
  }

  /** Appends text; writes to the file once the buffer is full (awaiting it is the backpressure). */
  async append(text: string): Promise<void> {
    this.pending.push(text);
    this.pendingBytes += Buffer.byteLength(text);
    if (this.pendingBytes >= WRITE_CHUNK_BYTES) await this.drain();
  }

  private async drain(): Promise<void> {
    if (this.pending.length === 0) return;
    const buffer = Buffer.from(this.pending.join(""));
    this.pending = [];
    this.pendingBytes = 0;
    let offset = 0;
    while (offset < buffer.length) {
      const at = this.position + offset;
      const { bytesWritten } = await this.handle.write(buffer, offset, buffer.length - offset, at);
      offset += bytesWritten;
    }
    this.position += buffer.length;
  }

  /** Writes the buffer and fsyncs; returns the durable length. */
  async sync(): Promise<number> {
    await this.drain();
    await this.handle.sync();
    return this.position;
  }

  /** Syncs, closes and renames the temp file to the final name (atomic on one filesystem). */
  async publish(): Promise<number> {
    const bytes = await this.sync();
    await this.close();
    await rename(partialPath(this.finalPath), this.finalPath);
    await fsyncDirectory(dirname(this.finalPath));
    return bytes;
  }

  /** Closes and removes the temp file. */
  async discard(): Promise<void> {
    await this.close();
    await unlink(partialPath(this.finalPath)).catch(() => undefined);
  }

  /** Closes without syncing the buffer: what is not synced is what a crash would lose. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.pendingBytes = 0;
    await this.handle.close();
  }
}

/** The size of a file, or 0 when it does not exist. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
