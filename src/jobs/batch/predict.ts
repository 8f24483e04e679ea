/**
 * Predicts one chunk of records: decodes each record's inputs, packs consecutive records with the
 * same input signature into calls of up to `rowsPerCall` rows (concatenated along dimension 0),
 * runs them in the "batch" priority lane and splits each answer back by rows. A multi-row call
 * that fails for a reason other than an outage is re-run row by row, so only the bad records fail;
 * an outage (unavailable, timeout, overloaded) is retried with backoff, pausing the batch.
 */
import { setImmediate } from "node:timers/promises";
import { type GatewayError, toGatewayError } from "../../errors.js";
import type { InferenceService, Route } from "../../gateway/types.js";
import { decodeUnifiedInputs } from "../../http/unified-codec.js";
import { concatInputs } from "../../pipeline/batch-split.js";
import {
  DecodeBudget,
  type DecodeLimits,
  type NamedTensor,
  splitDim0,
  type TensorSpec,
} from "../../tensor/index.js";
import { badRecordFrom } from "../io/records.js";
import { type BadRecord, isBadRecord, type OutputRecord, type SourceRecord } from "../io/types.js";
import { isOutage, retryOutage } from "./outage.js";
import type { TargetSlots } from "./slots.js";

/** Records decoded between two yields of the event loop while live traffic flows. */
const LIVE_DECODE_SLICE = 16;
/** Rows per call while live traffic flows. */
const LIVE_ROWS_PER_CALL = 32;

/** What predicting a chunk needs. */
export interface PredictContext {
  readonly service: InferenceService;
  readonly route: Route;
  readonly inputs: readonly TensorSpec[];
  readonly limits: DecodeLimits;
  readonly rowsPerCall: number;
  readonly slots: TargetSlots;
  readonly outageTimeoutMs: number;
  readonly requestId: string;
  readonly signal: AbortSignal;
  /** Called while an outage pauses the batch, and with false once it answers again. */
  readonly onPause?: (paused: boolean, error: GatewayError) => void;
}

/** One record's outcome, in input order. */
export type Outcome = { readonly ok: OutputRecord } | { readonly bad: BadRecord };

interface Decoded {
  readonly line: number;
  readonly id: string;
  readonly tensors: NamedTensor[];
  readonly rows: number;
  readonly signature: string;
}

function signatureOf(tensors: readonly NamedTensor[]): string {
  return tensors.map((t) => `${t.name}:${t.datatype}:${t.shape.slice(1).join("x")}`).join("|");
}

function decode(record: SourceRecord, ctx: PredictContext): Decoded | BadRecord {
  if (isBadRecord(record)) return record;
  try {
    const tensors = decodeUnifiedInputs(
      ctx.route.model,
      record.inputs,
      ctx.inputs,
      new DecodeBudget(ctx.limits),
    );
    const rows = tensors[0]?.shape[0];
    // Scalars and inputs of unequal rows cannot share a call; they run alone (signature unique).
    const packable = rows !== undefined && tensors.every((t) => t.shape[0] === rows);
    const signature = packable ? signatureOf(tensors) : `alone:${record.line}`;
    return { line: record.line, id: record.id, tensors, rows: rows ?? 1, signature };
  } catch (err) {
    return badRecordFrom(record.line, record.id, err);
  }
}

/** Groups consecutive decoded records of one signature into calls of at most `rowsPerCall` rows. */
function groups(decoded: readonly Decoded[], rowsPerCall: number): Decoded[][] {
  const out: Decoded[][] = [];
  let current: Decoded[] = [];
  let rows = 0;
  for (const d of decoded) {
    const first = current[0];
    if (first !== undefined && (first.signature !== d.signature || rows + d.rows > rowsPerCall)) {
      out.push(current);
      current = [];
      rows = 0;
    }
    current.push(d);
    rows += d.rows;
  }
  if (current.length > 0) out.push(current);
  return out;
}

async function call(group: readonly Decoded[], ctx: PredictContext): Promise<NamedTensor[][]> {
  const inputs =
    group.length === 1 ? (group[0] as Decoded).tensors : concatInputs(group.map((d) => d.tensors));
  const response = await ctx.slots.run(ctx.route.backend, ctx.signal, () =>
    ctx.service.infer(
      ctx.route,
      { inputs },
      { requestId: ctx.requestId, header: () => undefined, signal: ctx.signal, priority: "batch" },
    ),
  );
  if (group.length === 1) return [response.outputs];
  const rows = group.map((d) => d.rows);
  const perRecord: NamedTensor[][] = group.map(() => []);
  for (const output of response.outputs) {
    splitDim0(output, rows).forEach((part, i) => {
      perRecord[i]?.push({ name: output.name, ...part });
    });
  }
  return perRecord;
}

async function runGroup(group: readonly Decoded[], ctx: PredictContext): Promise<Outcome[]> {
  try {
    const answers = await retryOutage(() => call(group, ctx), ctx);
    return group.map((d, i) => ({ ok: { line: d.line, id: d.id, outputs: answers[i] ?? [] } }));
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    const error = toGatewayError(err);
    if (isOutage(error)) throw error;
    if (group.length === 1) {
      const d = group[0] as Decoded;
      return [{ bad: badRecordFrom(d.line, d.id, error) }];
    }
    // One bad record fails the whole call: re-run its records one by one.
    const out: Outcome[] = [];
    for (const d of group) out.push(...(await runGroup([d], ctx)));
    return out;
  }
}

/** The chunk's outcomes in input order. Throws only on abort or an outage past its timeout. */
export async function predictChunk(
  records: readonly SourceRecord[],
  ctx: PredictContext,
): Promise<Outcome[]> {
  const decoded: Array<Decoded | BadRecord> = [];
  for (const record of records) {
    decoded.push(decode(record, ctx));
    // Decoding is synchronous work on the event loop live requests share: while they flow, let
    // them in between small slices.
    if (decoded.length % LIVE_DECODE_SLICE === 0 && ctx.slots.live) await setImmediate();
  }
  const good = decoded.filter((d): d is Decoded => !("error" in d));
  // Smaller calls while live traffic flows: a live request waits at most one short call.
  const rows = ctx.slots.live ? Math.min(ctx.rowsPerCall, LIVE_ROWS_PER_CALL) : ctx.rowsPerCall;
  const calls = groups(good, rows);
  const answered = new Map<number, Outcome>();
  await Promise.all(
    calls.map(async (group) => {
      for (const outcome of await runGroup(group, ctx)) {
        answered.set("ok" in outcome ? outcome.ok.line : outcome.bad.line, outcome);
      }
    }),
  );
  return decoded.map((d) => ("error" in d ? { bad: d } : (answered.get(d.line) as Outcome)));
}
