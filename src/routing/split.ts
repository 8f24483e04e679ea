/**
 * Weighted traffic splits of unversioned requests (docs/traffic.md "Splits and sticky users"). Without a sticky key a
 * version is drawn at random by weight. With one, weighted rendezvous hashing: each version scores
 * `-weight / ln(u)` with `u` uniform in (0, 1) from a stable hash of key and version, and the
 * highest score wins. The hash depends on nothing but its inputs, so every replica and every
 * process sends a key to the same version, and a weight change only moves the keys it must: when
 * one version gains weight, keys move to it and nowhere else.
 */
import { createHash } from "node:crypto";

/** One version's share of a split; weights are relative (90/10 = 9/1). */
export interface SplitEntry {
  version: string;
  weight: number;
}

/** How {@link pickVersion} chooses. */
export interface PickOptions {
  /** The sticky header's value; the same key always gets the same version for the same split. */
  stickyKey?: string;
  /** Uniform [0, 1) source for unkeyed picks; default Math.random. */
  random?: () => number;
  /** False for versions that must get no traffic (breaker open, not ready). */
  eligible?: (version: string) => boolean;
}

const TWO_POW_53 = 2 ** 53;

/**
 * A uniform number in (0, 1), stable for `key` and `version` on every machine: the top 53 bits of
 * SHA-256 of `key NUL version`, centred in their bucket so it is never 0 or 1.
 */
export function stableUniform(key: string, version: string): number {
  const digest = createHash("sha256").update(`${key}\u0000${version}`).digest();
  const top53 = Number(digest.readBigUInt64BE(0) >> 11n);
  return (top53 + 0.5) / TWO_POW_53;
}

/** A version's rendezvous score for a key; the highest score of a split wins. */
export function rendezvousScore(key: string, entry: SplitEntry): number {
  return -entry.weight / Math.log(stableUniform(key, entry.version));
}

/**
 * Picks the version of a split. Versions of weight 0 or not `eligible` get nothing and their share
 * goes to the others; when no version with weight is eligible, eligibility is ignored (sending the
 * request somewhere beats failing it here). Throws when no entry has a positive weight (the config
 * and admin checks forbid that).
 */
export function pickVersion(entries: readonly SplitEntry[], options: PickOptions = {}): string {
  const weighted = entries.filter((e) => e.weight > 0);
  const eligible = options.eligible;
  const candidates =
    eligible === undefined ? weighted : weighted.filter((e) => eligible(e.version));
  const pool = candidates.length > 0 ? candidates : weighted;
  if (pool.length === 0) throw new Error("a traffic split needs a positive weight");
  return options.stickyKey === undefined
    ? weightedRandom(pool, options.random ?? Math.random)
    : rendezvous(pool, options.stickyKey);
}

function weightedRandom(pool: readonly SplitEntry[], random: () => number): string {
  let total = 0;
  for (const e of pool) total += e.weight;
  let point = random() * total;
  let last: string | undefined;
  for (const e of pool) {
    last = e.version;
    point -= e.weight;
    if (point < 0) return e.version;
  }
  // Only reached through rounding when random() is just below 1.
  if (last === undefined) throw new Error("a traffic split needs a positive weight");
  return last;
}

function rendezvous(pool: readonly SplitEntry[], key: string): string {
  let best: SplitEntry | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const e of pool) {
    const score = rendezvousScore(key, e);
    // Ties (practically impossible) go to the smaller version id, so the answer never depends on order.
    if (
      score > bestScore ||
      (score === bestScore && best !== undefined && e.version < best.version)
    ) {
      best = e;
      bestScore = score;
    }
  }
  if (best === undefined) throw new Error("a traffic split needs a positive weight");
  return best.version;
}

/** The weights as people write them: `90/10`. */
export function formatWeights(entries: readonly SplitEntry[]): string {
  return entries.map((e) => String(e.weight)).join("/");
}
