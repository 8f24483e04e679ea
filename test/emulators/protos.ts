/**
 * How the emulators load the project's protos (`protos/`), with their own loader options rather
 * than src/'s, so that an emulator checks the adapters instead of sharing their code.
 */
import { fileURLToPath } from "node:url";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const PROTOS_DIR = fileURLToPath(new URL("../../protos", import.meta.url));

/**
 * Loads proto files named relative to `protos/` and returns the named services. Messages decode
 * as the servers' wire shows them: names as on the wire, 64-bit integers as exact decimal
 * strings, bytes as Buffers, enums by name, absent repeated fields and maps as `[]` / `{}`, an
 * absent message as `null`, and a oneof's virtual field naming the member that is set.
 */
export function loadServices<Name extends string>(
  files: string | readonly string[],
  names: readonly Name[],
): Record<Name, ServiceDefinition> {
  const pkg = loadSync(typeof files === "string" ? files : [...files], {
    keepCase: true,
    longs: String,
    enums: String,
    bytes: Buffer,
    defaults: true,
    arrays: true,
    objects: true,
    oneofs: true,
    includeDirs: [PROTOS_DIR],
  });
  const services = {} as Record<Name, ServiceDefinition>;
  for (const name of names) {
    const service = pkg[name];
    if (service === undefined || "format" in service) throw new Error(`no service ${name}`);
    services[name] = service as unknown as ServiceDefinition;
  }
  return services;
}
