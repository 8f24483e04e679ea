/** The `tracing` config block (docs/access.md "Tracing"). */
import { z } from "zod";

export const tracingSchema = z.strictObject({
  /** OTLP/HTTP base URL (traces go to `<endpoint>/v1/traces`); else OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  /** The `service.name` resource attribute; else OTEL_SERVICE_NAME, else "infergate". */
  serviceName: z.string().min(1).optional(),
  /** OTLP/HTTP encoding; else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf. */
  protocol: z.enum(["http/protobuf", "http/json"]).optional(),
  /** Share of new traces kept, 0–1 (a sampled parent is always followed). */
  sampleRatio: z.number().min(0).max(1).default(1),
});

export type TracingConfig = z.output<typeof tracingSchema>;
