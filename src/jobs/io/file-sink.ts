/**
 * The shared body of the text-file sinks (JSONL, CSV, errors): records are encoded to text and
 * appended to a DurableFile; the checkpoint is the record count with the file's durable length.
 */
import type { DurableFile } from "./durable-file.js";
import type { BadRecord, DurableSink, SinkCheckpoint } from "./types.js";

/** Encoded text for a batch of records, and the records that could not be encoded. */
export interface Encoded {
  readonly text: string;
  readonly rejected: BadRecord[];
}

/** A DurableSink over a DurableFile; subclasses only encode. */
export abstract class TextFileSink<T> implements DurableSink<T> {
  protected constructor(
    protected readonly file: DurableFile,
    private records: number,
  ) {}

  /** The text of `records`, in order; records that do not fit are rejected instead. */
  protected abstract encode(records: readonly T[]): Encoded;

  async write(records: readonly T[]): Promise<BadRecord[]> {
    const { text, rejected } = this.encode(records);
    this.records += records.length - rejected.length;
    await this.file.append(text);
    return rejected;
  }

  async flush(): Promise<SinkCheckpoint> {
    return { records: this.records, bytes: await this.file.sync() };
  }

  async finish(): Promise<SinkCheckpoint> {
    return { records: this.records, bytes: await this.file.publish() };
  }

  abort(): Promise<void> {
    return this.file.discard();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
