/** Model-name globs of a key's `models` list: `*` matches any run of characters, `?` one. */

const cache = new Map<string, RegExp>();
const MAX_CACHED = 4096;

function compile(glob: string): RegExp {
  let found = cache.get(glob);
  if (found === undefined) {
    const source = glob
      .split("")
      .map((ch) =>
        ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.+^${}()|[\]\\/-]/g, "\\$&"),
      )
      .join("");
    found = new RegExp(`^${source}$`, "s");
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(glob, found);
  }
  return found;
}

/** True when `name` matches any of `globs`; undefined globs allow every name. */
export function matchesAny(globs: readonly string[] | undefined, name: string): boolean {
  if (globs === undefined) return true;
  return globs.some((glob) => compile(glob).test(name));
}
