/** Backend call metrics' entry in the chain (docs/observability.md "Metrics"). */
import { observe } from "../../pipeline/observe.js";
import { definePolicy } from "./spec.js";

export const observePolicy = definePolicy({
  name: "observe",
  settings: () => true,
  create: (_settings, { metrics }) => ({ policy: observe(metrics) }),
});
