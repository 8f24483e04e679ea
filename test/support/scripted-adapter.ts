/**
 * A BackendAdapter whose metadata answers are scripted per call, for unit tests of what the
 * gateway does with a backend's metadata (sharing, remembering failures, deadlines).
 */
import type {
  BackendAdapter,
  BackendResult,
  ModelMetadata,
  TargetRef,
} from "../../src/backends/types.js";

/** One scripted metadata answer: the metadata, an error to throw, or a promise left pending. */
export type MetadataAnswer = ModelMetadata | Error | "hang";

/** An adapter that answers metadata from a script and counts the calls. */
export class ScriptedAdapter implements BackendAdapter {
  readonly type = "triton" as const;
  metadataCalls = 0;
  private readonly script: MetadataAnswer[];

  constructor(
    readonly name: string,
    script: MetadataAnswer[],
  ) {
    this.script = [...script];
  }

  metadata(_target: TargetRef): Promise<ModelMetadata> {
    this.metadataCalls++;
    const next = this.script.length > 1 ? this.script.shift() : this.script[0];
    if (next === undefined) return Promise.reject(new Error("no scripted answer"));
    if (next === "hang") return new Promise(() => {});
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(next);
  }

  infer(): Promise<BackendResult> {
    return Promise.reject(new Error("not scripted"));
  }

  async ready(): Promise<boolean> {
    return true;
  }

  async health(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
