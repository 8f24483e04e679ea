/**
 * The one way the gateway loads the project's protos (`protos/`): the KServe v2 service its gRPC
 * front serves and the Triton adapter calls, and the TF Serving and TorchServe services it calls.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { loadSync, type Options, type PackageDefinition } from "@grpc/proto-loader";

/** `protos/`: `../../protos` holds both from `src/protocols/` and from the build output `dist/protocols/`. */
export const PROTOS_DIR = fileURLToPath(new URL("../../protos", import.meta.url));

/**
 * Loader options, chosen so that no value is lost or ambiguous:
 * - `keepCase`: field names stay as on the wire (`raw_input_contents`), like every client.
 * - `longs: String`: int64/uint64 (shapes, 64-bit contents, versions) arrive as decimal strings; a
 *   JS number would silently round values above 2^53.
 * - `bytes: Buffer`: raw contents and byte strings stay binary (no base64 round trip).
 * - `enums: String`: enum values by name (`DT_FLOAT`, `AVAILABLE`), as the protocols document them.
 * - `defaults`/`arrays`/`objects`: absent repeated fields and maps read as `[]` / `{}`, while an
 *   absent message field (`contents`) reads as `null`, so presence stays detectable.
 * - `oneofs`: a oneof's virtual field (`parameter_choice`) names the member that is set.
 */
const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
  includeDirs: [PROTOS_DIR],
};

/**
 * Loads proto files named relative to `protos/` (their imports resolve there too). `json`
 * additionally unpacks google.protobuf.Any into `{"@type", ...fields}`; it also turns NaN and
 * infinite floats into strings, so only answers that need Any should be decoded with it.
 */
export function loadProtoPackage(
  relativePaths: string | readonly string[],
  { json = false, extraDirs = [] }: { json?: boolean; extraDirs?: readonly string[] } = {},
): PackageDefinition {
  const files = typeof relativePaths === "string" ? relativePaths : [...relativePaths];
  // `extraDirs` (under `protos/`) resolve imports of vendored files written relative to their folder.
  const includeDirs = [PROTOS_DIR, ...extraDirs.map((d) => join(PROTOS_DIR, d))];
  return loadSync(files, { ...LOADER_OPTIONS, json, includeDirs });
}

/** The service `name` (fully qualified) of a loaded package, or an error naming what is missing. */
export function serviceDefinition(pkg: PackageDefinition, name: string): ServiceDefinition {
  const service = pkg[name];
  if (service === undefined || "format" in service) {
    throw new Error(`the protos do not define service ${name}`);
  }
  // The loader types every message as `object`; callers' Wire* interfaces spell out the shapes.
  return service as unknown as ServiceDefinition;
}
