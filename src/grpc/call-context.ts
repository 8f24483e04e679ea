/** What a gRPC call tells about itself: its headers and its deadline. */
import type { Metadata, ServerUnaryCall } from "@grpc/grpc-js";
import type { HeaderLookup } from "../gateway/types.js";

/** gRPC metadata as a header lookup: keys are lower-case in grpc-js; binary (`-bin`) values are skipped. */
export function headerLookup(metadata: Metadata): HeaderLookup {
  return (name) => {
    for (const value of metadata.get(name.toLowerCase())) {
      if (typeof value === "string") return value;
    }
    return undefined;
  };
}

/** The call's deadline in ms since the epoch, or undefined when the client set none. */
export function deadlineMs(call: ServerUnaryCall<unknown, unknown>): number | undefined {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : undefined;
}
