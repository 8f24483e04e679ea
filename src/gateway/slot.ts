/**
 * Slots: the places a target fills in a gateway model (a version's target, or the i-th fallback),
 * and the one key a snapshot files each slot's state under.
 */

/** Which slot of a model a target fills. */
export type Slot = { kind: "version"; version: string } | { kind: "fallback"; index: number };

/** A slot's label for metrics and admin output: the version id, or `fallback[i]`. */
export function slotLabel(slot: Slot): string {
  return slot.kind === "version" ? slot.version : `fallback[${slot.index}]`;
}

/** The slot id: the map key of a model's slot in a snapshot's states. */
export function slotId(model: string, slot: Slot): string {
  return `${model}\u0000${slot.kind === "version" ? `v:${slot.version}` : `f:${slot.index}`}`;
}
