/**
 * The KServe v2 gRPC health and metadata RPCs (docs/grpc.md): ServerLive, ServerReady,
 * ServerMetadata, ModelReady and ModelMetadata, over the InferenceApi.
 */
import type { handleUnaryCall, MethodDefinition } from "@grpc/grpc-js";
import { callScope } from "../auth/principal.js";
import { toGatewayError } from "../errors.js";
import type { InferenceApi, Route, ServiceGetter } from "../gateway/types.js";
import type { KserveMethods } from "../protocols/kserve/proto.js";
import { resolveAsTriton } from "../triton/wording.js";
import { headerLookup } from "./call-context.js";
import type { GrpcFail } from "./failure.js";

/** The grpc-js handler of one KServe method. */
export type KserveHandler<M extends keyof KserveMethods> =
  KserveMethods[M] extends MethodDefinition<infer Req, infer Res>
    ? handleUnaryCall<Req, Res>
    : never;

type Handler<M extends keyof KserveMethods> = KserveHandler<M>;

/** The five RPCs; `service` is read once per call, so a reload applies to the next one. */
export function healthAndMetadataHandlers(service: ServiceGetter<InferenceApi>, fail: GrpcFail) {
  const ServerLive: Handler<"ServerLive"> = (_call, callback) => {
    callback(null, { live: true });
  };

  const ServerReady: Handler<"ServerReady"> = (_call, callback) => {
    const run = async () => (await service().readiness()).ready;
    run().then(
      (ready) => callback(null, { ready }),
      (err: unknown) => fail("ServerReady", callback, err),
    );
  };

  const ServerMetadata: Handler<"ServerMetadata"> = (_call, callback) => {
    try {
      const { name, version, extensions } = service().info;
      callback(null, { name, version, extensions: [...extensions] });
    } catch (err) {
      fail("ServerMetadata", callback, err);
    }
  };

  // Unknown model or version -> `ready: false` with status OK, not NOT_FOUND: that is Triton's
  // contract for ModelReady (TRITONSERVER_ServerModelIsReady reports an unresolvable model as not
  // ready; triton-inference-server/core#508 restored it after a regression), so tritonclient's
  // is_model_ready() returns False instead of raising.
  const ModelReady: Handler<"ModelReady"> = (call, callback) => {
    const run = async (): Promise<boolean> => {
      const svc = service(callScope(call));
      const release = svc.hold();
      let route: Route;
      try {
        route = svc.resolve(
          call.request.name,
          call.request.version || undefined,
          headerLookup(call.metadata),
        );
      } catch (err) {
        release();
        const code = toGatewayError(err).code;
        if (code === "MODEL_NOT_FOUND" || code === "VERSION_NOT_FOUND") return false;
        throw err;
      }
      return svc.ready(route).finally(release);
    };
    run().then(
      (ready) => callback(null, { ready }),
      (err: unknown) => fail("ModelReady", callback, err),
    );
  };

  const ModelMetadata: Handler<"ModelMetadata"> = (call, callback) => {
    const run = async () => {
      const svc = service(callScope(call));
      const release = svc.hold();
      let md: Awaited<ReturnType<typeof svc.metadata>>;
      try {
        const route = resolveAsTriton(
          svc,
          call.request.name,
          call.request.version || undefined,
          headerLookup(call.metadata),
        );
        md = await svc.metadata(route);
      } finally {
        release();
      }
      const tensor = (t: { name: string; datatype: string; shape: number[] }) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape.map(String),
      });
      return {
        name: md.name,
        versions: md.versions.map(String),
        platform: md.platform,
        inputs: md.inputs.map(tensor),
        outputs: md.outputs.map(tensor),
      };
    };
    run().then(
      (res) => callback(null, res),
      (err: unknown) => fail("ModelMetadata", callback, err),
    );
  };

  return { ServerLive, ServerReady, ServerMetadata, ModelReady, ModelMetadata };
}
