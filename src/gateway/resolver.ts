/**
 * Which version a request goes to, for one snapshot: the path/body version or label, the version
 * header, else the split in force (a run-time override, a rollout's weights, or the config's
 * `traffic`) over the versions that can take traffic, else the default (docs/traffic.md).
 */
import type { GatewayConfig, ModelConfig } from "../config/schema.js";
import { InternalError, ModelNotFoundError } from "../errors.js";
import type { RolloutController } from "../routing/rollout/controller.js";
import type { SplitEntry } from "../routing/split.js";
import { checkTraffic, resolveVersion } from "../routing/versions.js";
import { ResolvedRoute } from "./route.js";
import type { HeaderLookup } from "./types.js";
import type { VersionRecord, VersionRecords } from "./version-record.js";

/** The split in force for a model and where it comes from. */
export interface SplitInForce {
  source: "config" | "runtime" | "rollout";
  weights: readonly SplitEntry[];
}

/** What the resolver consults besides the config. */
export interface ResolverOptions {
  /** A model's progressive rollout, if it has one. */
  rolloutFor?: ((model: string) => RolloutController | undefined) | undefined;
  /** The last readiness answer for a target state's fingerprint; undefined when unknown. */
  readyOf?: ((fingerprint: string) => boolean | undefined) | undefined;
}

/** Resolves routes of one snapshot; run-time splits live here, so a reload drops them. */
export class Resolver {
  /** Splits set through the admin API. */
  private readonly overrides = new Map<string, readonly SplitEntry[]>();
  /** Per model: is a version's primary target taking traffic (breaker not open, not unready)? */
  private readonly eligibility = new Map<string, (version: string) => boolean>();

  constructor(
    private readonly config: GatewayConfig,
    private readonly records: VersionRecords,
    private readonly options: ResolverOptions = {},
  ) {}

  /** The route of `model` for this request, owned by `owner`. */
  resolve<Owner>(
    owner: Owner,
    model: string,
    version: string | undefined,
    header: HeaderLookup,
    /** A sequence's id: the same id reaches the same version of a split (docs/triton.md). */
    affinityKey?: string,
  ): ResolvedRoute<Owner> {
    const modelConfig = this.modelConfig(model);
    const chosen = resolveVersion(model, modelConfig, version, header, {
      split: this.splitOf(model, modelConfig)?.weights,
      eligible: this.eligibleOf(model),
      affinityKey,
    });
    const record = this.records.get(model)?.get(chosen);
    if (record === undefined) {
      throw new InternalError(`version ${chosen} of model "${model}" resolved but has no target`);
    }
    return new ResolvedRoute(owner, model, chosen, modelConfig, record);
  }

  /** The split in force: a run-time override, else the rollout's, else the config's. */
  splitOf(model: string, modelConfig: ModelConfig): SplitInForce | undefined {
    const override = this.overrides.get(model);
    if (override !== undefined) return { source: "runtime", weights: override };
    const rollout = this.options.rolloutFor?.(model)?.weights();
    if (rollout !== undefined) return { source: "rollout", weights: rollout };
    if (modelConfig.traffic !== undefined)
      return { source: "config", weights: modelConfig.traffic };
    return undefined;
  }

  /** Sets a run-time split in this snapshot (a reload may carry it); throws TrafficInvalidError. */
  setTraffic(model: string, entries: readonly SplitEntry[]): void {
    this.overrides.set(model, checkTraffic(model, this.modelConfig(model), entries));
  }

  /** Drops a run-time split: the rollout's or the config's is in force again. */
  clearTraffic(model: string): void {
    this.overrides.delete(model);
  }

  /** The model's config; throws ModelNotFoundError. */
  modelConfig(model: string): ModelConfig {
    const modelConfig = Object.hasOwn(this.config.models, model)
      ? this.config.models[model]
      : undefined;
    if (modelConfig === undefined) throw new ModelNotFoundError(model);
    return modelConfig;
  }

  private eligibleOf(model: string): (version: string) => boolean {
    let eligible = this.eligibility.get(model);
    if (eligible === undefined) {
      const versions: ReadonlyMap<string, VersionRecord> = this.records.get(model) ?? new Map();
      eligible = (version) => {
        const state = versions.get(version)?.state;
        if (state === undefined) return true;
        return (
          state.breaker?.state !== "open" && this.options.readyOf?.(state.fingerprint) !== false
        );
      };
      this.eligibility.set(model, eligible);
    }
    return eligible;
  }
}
