/**
 * The answer check's entry in the chain (docs/backends.md "Hostile or broken backends"): a
 * backend's answer is checked against the declared outputs and the output byte limit before any
 * policy above trusts it.
 */
import { checkAnswer } from "../../backends/answer-check.js";
import { definePolicy } from "./spec.js";

export const answerCheckPolicy = definePolicy({
  name: "answer-check",
  settings: ({ config, target }) => ({
    known: target.outputs?.map((o) => o.name) ?? null,
    maxOutputBytes: config.server.limits.maxOutputBytes,
  }),
  create: (settings, { target }) => {
    const rules = {
      known: settings.known ?? undefined,
      maxOutputBytes: settings.maxOutputBytes,
    };
    const backend = target.backend;
    return {
      policy: (next) => (request) =>
        next(request).then((r) =>
          checkAnswer(backend, r, { ...rules, requested: request.call.outputs }),
        ),
    };
  },
});
