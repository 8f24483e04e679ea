/**
 * The emulator's stateful models and the part of Triton's sequence batcher they need: a request
 * names its sequence with the `sequence_id`, `sequence_start` and `sequence_end` parameters, the
 * first request of a sequence must carry START, and the model's state lives here between requests,
 * one entry per live sequence. A sequence continued on another emulator (another replica) fails
 * as on Triton, which is what the gateway's replica affinity prevents.
 *
 * The models are those Triton's own sequence examples call (simple_grpc_sequence_*_client.py),
 * with the outputs those examples expect:
 * - `simple_sequence`: OUTPUT = INPUT + START (1 on a sequence's first request), any id.
 * - `simple_dyna_sequence`: as simple_sequence, plus the (integer) sequence id on its END request.
 * - `simple_string_dyna_sequence`: OUTPUT = the running sum of the sequence's inputs, plus the
 *   (integer) sequence id on its END request.
 * Each answer carries a response parameter `sequence_step` (how many requests the sequence has had),
 * and OUTPUT a parameter `accumulated` (true for the summing model), as a Python-backend model
 * may set them, so tests can see answer parameters come back through the gateway.
 */
import * as ort from "onnxruntime-node";
import type { OrtValueInfo } from "../runner.js";
import { invalidArg, TritonError } from "./errors.js";

/** Live sequences one emulator keeps per model; past it the oldest is dropped. */
const MAX_SEQUENCES = 1024;

interface SequenceState {
  /** Requests seen, START included. */
  steps: number;
  /** The running sum, per row of the batch. */
  sum: Int32Array;
}

interface Behaviour {
  /** The id must be an integer (the model has a CORRID control). */
  integerId: boolean;
  /** Rows of OUTPUT for one request, given its INPUT rows and its sequence. */
  step(
    input: Int32Array,
    state: SequenceState,
    start: boolean,
    end: boolean,
    id: number,
  ): Int32Array;
}

const BEHAVIOURS: Readonly<Record<string, Behaviour>> = {
  simple_sequence: {
    integerId: false,
    step: (input, _state, start) => input.map((v) => v + (start ? 1 : 0)),
  },
  simple_dyna_sequence: {
    integerId: true,
    step: (input, _state, start, end, id) => input.map((v) => v + (start ? 1 : 0) + (end ? id : 0)),
  },
  simple_string_dyna_sequence: {
    integerId: true,
    step: (input, state, start, end, id) => {
      state.sum = start ? Int32Array.from(input) : state.sum.map((s, i) => s + (input[i] ?? 0));
      return state.sum.map((v) => v + (end ? id : 0));
    },
  },
};

const TENSOR: OrtValueInfo[] = [{ name: "INPUT", type: "int32", dims: [-1, 1] }];
const OUT: OrtValueInfo[] = [{ name: "OUTPUT", type: "int32", dims: [-1, 1] }];

/** One answer of a stateful model. */
export interface SequenceAnswer {
  output: ort.Tensor;
  /** Parameters of the response. */
  parameters: Record<string, unknown>;
  /** Parameters of OUTPUT. */
  outputParameters: Record<string, unknown>;
}

/** A stateful model, described like a loaded ONNX model (one version, "1"). */
export class SequenceModel {
  readonly version = "1";
  readonly inputs = TENSOR;
  readonly outputs = OUT;
  private readonly live = new Map<string, SequenceState>();

  private constructor(
    readonly name: string,
    private readonly behaviour: Behaviour,
  ) {}

  /** The stateful model of that name, or undefined. */
  static create(name: string): SequenceModel | undefined {
    const behaviour = BEHAVIOURS[name];
    return behaviour === undefined ? undefined : new SequenceModel(name, behaviour);
  }

  /** The names of every stateful model. */
  static names(): string[] {
    return Object.keys(BEHAVIOURS);
  }

  /** Live sequences (tests check that a finished sequence is gone). */
  get liveSequences(): number {
    return this.live.size;
  }

  /** Runs one request of a sequence; `parameters` are the request's, as plain values. */
  run(input: ort.Tensor, parameters: Readonly<Record<string, unknown>>): SequenceAnswer {
    const id = parameters.sequence_id;
    const key = id === undefined || id === 0 || id === "" ? undefined : String(id);
    if (key === undefined) {
      throw invalidArg(
        `inference request to model '${this.name}' must specify a non-zero or non-empty correlation ID`,
      );
    }
    const numericId = Number(key);
    if (this.behaviour.integerId && !Number.isSafeInteger(numericId)) {
      throw invalidArg(
        `sequence batching control 'CORRID' for model '${this.name}' expects an integer correlation ID, got '${key}'`,
      );
    }
    const start = parameters.sequence_start === true;
    const end = parameters.sequence_end === true;
    const data = input.data as Int32Array;
    let state = this.live.get(key);
    if (start || state === undefined) {
      if (!start) {
        throw invalidArg(
          `inference request for sequence ${key} to model '${this.name}' must specify the START flag on the first request of the sequence`,
        );
      }
      state = { steps: 0, sum: new Int32Array(data.length) };
      this.live.delete(key);
      this.live.set(key, state);
      if (this.live.size > MAX_SEQUENCES) {
        const oldest = this.live.keys().next().value;
        if (oldest !== undefined) this.live.delete(oldest);
      }
    }
    if (state.sum.length !== data.length) {
      throw new TritonError(
        "INVALID_ARG",
        `sequence ${key} to model '${this.name}': batch size changed within the sequence`,
      );
    }
    state.steps += 1;
    const out = this.behaviour.step(data, state, start, end, numericId);
    if (end) this.live.delete(key);
    return {
      output: new ort.Tensor("int32", out, input.dims),
      parameters: { sequence_step: state.steps },
      outputParameters: { accumulated: this.name === "simple_string_dyna_sequence" },
    };
  }
}
