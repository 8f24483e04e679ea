/**
 * The request-level steps of one inference, as a declared, ordered list (Envoy's named filter
 * chain, one level above the per-target policy chain of policies/index.ts). Each step gets the
 * request and the rest of the list as `next`; the outermost runs first. `GatewayService.infer`
 * runs {@link REQUEST_STEPS} and nothing else, so this list is what happens to a request.
 */
import { tenantOf } from "../auth/principal.js";
import type { BackendCall } from "../backends/types.js";
import { InternalError, toGatewayError } from "../errors.js";
import { isClientFault } from "../fault.js";
import { noteLiveRequest } from "../jobs/live-activity.js";
import { runWithDeadline } from "../pipeline/deadline.js";
import type { RolloutController } from "../routing/rollout/controller.js";
import { noteRequest } from "../triton/statistics.js";
import type { MetadataCatalog } from "./catalog.js";
import { checkRequest } from "./check-inputs.js";
import { type BeforeTarget, type FallbackAnswer, runWithFallback } from "./fallback.js";
import type { RequestMetrics } from "./request-metrics.js";
import type { ResolvedRoute } from "./route.js";
import type { InferRequest, InferResponse, RequestContext } from "./types.js";

/** One request as the steps see it; `call` and `beforeTarget` are filled in on the way. */
export interface RequestRun {
  readonly route: ResolvedRoute;
  readonly request: InferRequest;
  readonly context: RequestContext;
  /** When the request reached the service (process.hrtime). */
  readonly started: bigint;
  /** The backend call, under the request's one deadline (the `deadline` step). */
  call?: BackendCall;
  /** The check each target runs before the call (the `input-check` step). */
  beforeTarget?: BeforeTarget;
}

/** What the steps use of the service's snapshot. */
export interface StepContext {
  readonly catalog: MetadataCatalog;
  readonly requests: RequestMetrics;
  readonly rolloutFor: ((model: string) => RolloutController | undefined) | undefined;
  /** The model's `timeoutMs`, else the default. */
  timeoutMs(route: ResolvedRoute): number;
  /** Hands a copy to the model's shadow version, if it has one (never waited for). */
  shadow(run: RequestRun, outputs: InferResponse["outputs"]): void;
}

/** A named request-level step. */
export interface RequestStep {
  readonly name: string;
  run(
    ctx: StepContext,
    run: RequestRun,
    next: () => Promise<FallbackAnswer>,
  ): Promise<FallbackAnswer>;
}

const NEVER_ABORTED = new AbortController().signal;

/** How the response cache took part in an answer. */
export function cacheOf(answer: FallbackAnswer): "hit" | "miss" | "off" {
  return answer.result.cache ?? (answer.state.cached ? "miss" : "off");
}

/** Live requests tell the job runner to back off (jobs/live-activity.ts). */
const liveTraffic: RequestStep = {
  name: "live-traffic",
  run: (_ctx, run, next) => {
    if ((run.context.priority ?? "live") === "live") noteLiveRequest();
    return next();
  },
};

/** A progressive rollout judges versions by server-side failures only; bad input is the client's. */
const rolloutRecord: RequestStep = {
  name: "rollout-record",
  run: async (ctx, run, next) => {
    const rollout = ctx.rolloutFor?.(run.route.model);
    if (rollout === undefined) return next();
    let serverFailure = false;
    try {
      return await next();
    } catch (err) {
      serverFailure = !isClientFault(err);
      throw err;
    } finally {
      rollout.record(run.route.version, !serverFailure, elapsedMs(run.started));
    }
  },
};

/** Request counts by code, fallbacks, duration, and the Triton statistics extension. */
const metrics: RequestStep = {
  name: "metrics",
  run: async (ctx, run, next) => {
    const { model, version } = run.route;
    try {
      const answer = await next();
      const backend = answer.state.target.backend;
      ctx.requests.count(model, version, backend, "OK");
      if (answer.index > 0) ctx.requests.fallback(model, version, backend);
      noteRequest(model, version, run.started, {
        cache: cacheOf(answer),
        batched: answer.state.batched,
        firstShape: run.request.inputs[0]?.shape,
      });
      return answer;
    } catch (err) {
      ctx.requests.count(model, version, run.route.backend, toGatewayError(err).code);
      noteRequest(model, version, run.started, undefined);
      throw err;
    } finally {
      ctx.requests.observe(model, version, elapsedMs(run.started) / 1000);
    }
  },
};

/** Only requests the primary answered are copied, so the two answers can be compared. */
const shadow: RequestStep = {
  name: "shadow",
  run: async (ctx, run, next) => {
    const answer = await next();
    ctx.shadow(run, answer.result.outputs);
    return answer;
  },
};

/** One deadline for the whole request, retries and fallbacks included. */
const deadline: RequestStep = {
  name: "deadline",
  run: (ctx, run, next) =>
    runWithDeadline(
      backendCall(ctx, run),
      (call) => {
        run.call = call;
        return next();
      },
      run.context.controller,
    ),
};

/**
 * Each target checks the request against its own metadata first, so a primary that cannot even
 * say what it takes is skipped like one that fails the call.
 */
const inputCheck: RequestStep = {
  name: "input-check",
  run: (ctx, run, next) => {
    const { route, request } = run;
    const until = callOf(run).deadline;
    run.beforeTarget = async (state, index, last) => {
      const meta = await ctx.catalog.forTarget(route, state, index, until, last);
      checkRequest(meta, request.inputs, request.outputs);
    };
    return next();
  },
};

/** The version's target, then each fallback, while the failure is the backend's. */
const fallback: RequestStep = {
  name: "fallback",
  run: (_ctx, run) => runWithFallback(run.route.record.chain, callOf(run), run.beforeTarget),
};

/** The request-level steps, outermost first. */
export const REQUEST_STEPS: readonly RequestStep[] = [
  liveTraffic,
  rolloutRecord,
  metrics,
  shadow,
  deadline,
  inputCheck,
  fallback,
];

/** Runs `run` through `steps` in order; the last step answers. */
export function runSteps(
  steps: readonly RequestStep[],
  ctx: StepContext,
  run: RequestRun,
): Promise<FallbackAnswer> {
  const at = (i: number): Promise<FallbackAnswer> => {
    const step = steps[i];
    if (step === undefined) return Promise.reject(new InternalError("no request step answered"));
    return step.run(ctx, run, () => at(i + 1));
  };
  return at(0);
}

/** The backend call of a request: its tensors, one deadline, the client's signal and hints. */
function backendCall(ctx: StepContext, run: RequestRun): BackendCall {
  const { request, context } = run;
  return {
    ...(request.id === undefined ? {} : { id: request.id }),
    inputs: request.inputs,
    ...(request.outputs === undefined ? {} : { outputs: request.outputs }),
    deadline: Math.min(
      Date.now() + ctx.timeoutMs(run.route),
      context.clientDeadline ?? Number.POSITIVE_INFINITY,
    ),
    signal: context.signal ?? NEVER_ABORTED,
    noCache: /\bno-cache\b/i.test(context.header("cache-control") ?? ""),
    ...(context.priority === undefined ? {} : { priority: context.priority }),
    requestId: context.requestId,
    tenant: tenantOf(context.scope),
    ...(request.parameters === undefined ? {} : { parameters: request.parameters }),
    ...(request.tensorParameters === undefined
      ? {}
      : { tensorParameters: request.tensorParameters }),
  };
}

function callOf(run: RequestRun): BackendCall {
  if (run.call === undefined) throw new InternalError("the deadline step did not run");
  return run.call;
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}
