/**
 * The per-version record of one snapshot: a version's slot id, its target state and its fallback
 * list, built once when the snapshot is made and carried on every route resolved to it, so no
 * request rebuilds keys or looks states up.
 */
import type { GatewayConfig } from "../config/schema.js";
import { InternalError } from "../errors.js";
import { type Slot, slotId, slotLabel } from "./slot.js";
import type { TargetState } from "./targets.js";

/** One version of one model in one snapshot. */
export interface VersionRecord {
  readonly slotId: string;
  /** The version's own target state. */
  readonly state: TargetState;
  /** The version's state first, then the model's fallbacks in order. */
  readonly chain: readonly TargetState[];
}

/** Per model, per version id: its record. */
export type VersionRecords = ReadonlyMap<string, ReadonlyMap<string, VersionRecord>>;

/** Builds every version's record from the snapshot's states (TargetRegistry.sync). */
export function buildVersionRecords(
  config: GatewayConfig,
  states: ReadonlyMap<string, TargetState>,
): VersionRecords {
  const records = new Map<string, Map<string, VersionRecord>>();
  for (const [model, modelConfig] of Object.entries(config.models)) {
    const stateOf = (slot: Slot): TargetState => {
      const state = states.get(slotId(model, slot));
      if (state === undefined)
        throw new InternalError(`no target state for ${model} ${slotLabel(slot)}`);
      return state;
    };
    const fallbacks = (modelConfig.fallback ?? []).map((_, index) =>
      stateOf({ kind: "fallback", index }),
    );
    const versions = new Map<string, VersionRecord>();
    for (const version of Object.keys(modelConfig.versions)) {
      const slot: Slot = { kind: "version", version };
      const state = stateOf(slot);
      versions.set(version, { slotId: slotId(model, slot), state, chain: [state, ...fallbacks] });
    }
    records.set(model, versions);
  }
  return records;
}
