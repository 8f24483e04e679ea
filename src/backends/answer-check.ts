/**
 * Checks a backend's answer before the gateway uses it (caches, batches, encodes it for a client):
 * a broken or hostile backend must not make the gateway answer nonsense or spend unbounded
 * memory. The adapters decode within the response cap (`maxResponseBytes`); this checks what they
 * decoded. A failed check is BACKEND_ERROR (502), thrown inside the target's policy chain so the
 * breaker counts it like any other backend failure (see docs/backends.md "Hostile backends").
 */
import { BackendError, GatewayError } from "../errors.js";
import { checkShape, elementSize, formatShape } from "../tensor/datatype.js";
import type { NamedTensor } from "../tensor/types.js";
import type { BackendResult } from "./types.js";

/**
 * Most outputs an answer may carry when the model's outputs are not known (no declaration): far
 * more than any real model has, few enough that checking and encoding them stays cheap.
 */
export const MAX_UNDECLARED_OUTPUTS = 1024;

/** What an answer is checked against. */
export interface AnswerRules {
  /** The model's output names, when known (declared on the target). */
  known?: readonly string[] | undefined;
  /** The output names the call asked for; undefined = all. */
  requested?: readonly string[] | undefined;
  /** Most bytes of all outputs together (`server.limits.maxOutputBytes`). */
  maxOutputBytes: number;
}

/**
 * Returns `result` when it is a sound answer; else throws BackendError naming the first problem:
 * too many outputs, a duplicate or unknown (or unrequested) name, a shape whose element count
 * does not match the data, or outputs larger than `maxOutputBytes` together.
 */
export function checkAnswer(
  backend: string,
  result: BackendResult,
  rules: AnswerRules,
): BackendResult {
  const { outputs } = result;
  const allowed = rules.requested ?? rules.known;
  const maxOutputs = allowed?.length ?? MAX_UNDECLARED_OUTPUTS;
  if (!Array.isArray(outputs) || outputs.length > maxOutputs) {
    throw bad(
      backend,
      `${Array.isArray(outputs) ? outputs.length : "no"} outputs (at most ${maxOutputs})`,
    );
  }
  const known = rules.known === undefined ? undefined : new Set(rules.known);
  const requested = rules.requested === undefined ? undefined : new Set(rules.requested);
  const seen = new Set<string>();
  let total = 0;
  for (const output of outputs) {
    const { name } = output;
    if (seen.has(name)) throw bad(backend, `output "${name}" twice`);
    seen.add(name);
    if (known !== undefined && !known.has(name)) {
      throw bad(backend, `output "${name}", which is not an output of the model`);
    }
    if (requested !== undefined && !requested.has(name)) {
      throw bad(backend, `output "${name}", which was not requested`);
    }
    total += outputBytes(backend, output);
    if (total > rules.maxOutputBytes) {
      throw bad(
        backend,
        `outputs over ${rules.maxOutputBytes} bytes (server.limits.maxOutputBytes)`,
      );
    }
  }
  return result;
}

/** One output's data size in bytes, after checking that its data matches its shape. */
function outputBytes(backend: string, output: NamedTensor): number {
  let count: number;
  try {
    count = checkShape(output.shape);
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    throw bad(backend, `output "${output.name}" with a bad shape: ${err.message}`);
  }
  const { data } = output;
  const shape = formatShape(output.shape);
  if (output.datatype === "BYTES") {
    if (!Array.isArray(data) || data.length !== count) {
      throw bad(backend, `output "${output.name}" of shape ${shape} with ${describe(data)}`);
    }
    let bytes = 0;
    for (const element of data) bytes += element.byteLength;
    return bytes;
  }
  const expected = count * elementSize(output.datatype);
  if (Array.isArray(data) || data.byteLength !== expected) {
    throw bad(
      backend,
      `output "${output.name}" of shape ${shape} ${output.datatype} with ${describe(data)} ` +
        `(expected ${expected} bytes)`,
    );
  }
  return expected;
}

function describe(data: NamedTensor["data"]): string {
  return Array.isArray(data) ? `${data.length} elements` : `${data.byteLength} bytes`;
}

function bad(backend: string, what: string): BackendError {
  return new BackendError(`backend "${backend}" answered ${what}`);
}
