/**
 * The entry of an ONNX worker thread (started by session-pool.ts through worker-pool.ts). It loads
 * the backend's model files, reports their tensors, then runs the calls the pool sends, one at a
 * time, so a long run blocks only this thread and never the gateway's event loop.
 *
 * This file must run as compiled JavaScript (see worker-script.ts).
 */
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { BackendUnavailableError } from "../../errors.js";
import type { NamedTensor } from "../../tensor/types.js";
import { buildFeeds } from "./feeds.js";
import { runError } from "./run-errors.js";
import { collectOutputs, type LoadedModels, loadSessions } from "./sessions.js";
import { transferables } from "./tensor-transfer.js";
import {
  type FromWorker,
  type LoadedSpec,
  type OnnxJob,
  PROTOCOL_VERSION,
  parseOnnxJob,
  parseRunMessage,
  parseWorkerData,
  toWireError,
} from "./worker-protocol.js";

async function run(models: LoadedModels, job: OnnxJob): Promise<NamedTensor[]> {
  const loaded = models.get(job.model)?.get(job.version);
  if (loaded === undefined) {
    throw new BackendUnavailableError(`${job.where} is not loaded in this onnx worker`);
  }
  // The main thread checked the inputs already; building the feeds checks them again for free.
  const feeds = buildFeeds(loaded.inputs, job.inputs, job.where);
  let results: Awaited<ReturnType<typeof loaded.session.run>>;
  try {
    results = await loaded.session.run(feeds, job.fetches);
  } catch (err) {
    throw runError(err, job.where);
  }
  return collectOutputs(results, job.fetches, job.where);
}

/** Posts the outputs, moving their buffers when that is allowed and copying them when not. */
function answer(port: MessagePort, id: number, outputs: NamedTensor[]): void {
  const message: FromWorker = { type: "done", id, result: outputs };
  try {
    port.postMessage(message, transferables(outputs));
  } catch {
    // A buffer onnxruntime owns natively cannot be detached; copying it is always possible.
    port.postMessage(message);
  }
}

async function serve(port: MessagePort, models: LoadedModels, raw: unknown): Promise<void> {
  const message = parseRunMessage(raw);
  if (message === undefined) return;
  try {
    const job = parseOnnxJob(message.job);
    if (job === undefined) throw new Error("the pool sent a job in an unknown form");
    answer(port, message.id, await run(models, job));
  } catch (err) {
    const reply: FromWorker = { type: "fail", id: message.id, error: toWireError(err) };
    port.postMessage(reply);
  }
}

async function main(port: MessagePort): Promise<void> {
  let models: LoadedModels;
  try {
    const data = parseWorkerData(workerData);
    models = await loadSessions(data.name, data.files, data);
  } catch (err) {
    const failed: FromWorker = { type: "failed", error: toWireError(err) };
    port.postMessage(failed);
    // Nothing else keeps the thread alive: it exits and the pool sees why in `failed`.
    port.close();
    return;
  }
  const init: LoadedSpec[] = [...models].flatMap(([model, versions]) =>
    [...versions.values()].map((v) => ({
      model,
      version: v.version,
      inputs: v.inputs,
      outputs: v.outputs,
    })),
  );
  port.on("message", (raw: unknown) => {
    void serve(port, models, raw);
  });
  const ready: FromWorker = { type: "ready", protocol: PROTOCOL_VERSION, init };
  port.postMessage(ready);
}

if (parentPort === null) {
  throw new Error("src/backends/onnx/worker.ts runs only as a worker thread of the onnx adapter");
}
await main(parentPort);
