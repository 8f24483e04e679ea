/**
 * Batches: list with live progress (server-sent events for the active ones), start one from an
 * uploaded file, cancel, download outputs and errors.
 */
import { useEffect, useState } from "preact/hooks";
import { adminKey, type Batch, call, errorText, type List, postJson } from "./api";
import { statusTone } from "./jobs";
import type { Polled } from "./poll";
import { Badge, Section, Time, whenLoaded } from "./section";

const ACTIVE = new Set(["validating", "queued", "running", "finalizing", "cancelling"]);
/** Event streams open at once, at most (a browser allows few connections per host). */
const MAX_STREAMS = 4;
const FORMATS = ["jsonl", "csv", "parquet"] as const;

/** The latest state of an active batch from its event stream, else the polled one. */
function useLive(batch: Batch, stream: boolean): Batch {
  const [live, setLive] = useState<Batch>(batch);
  useEffect(() => setLive(batch), [batch]);
  useEffect(() => {
    // EventSource cannot send an Authorization header: with a key the list poll carries progress.
    if (!stream || adminKey() !== "") return;
    const source = new EventSource(`/v1/batches/${encodeURIComponent(batch.id)}/events`);
    source.onmessage = (event) => {
      try {
        setLive(JSON.parse(event.data) as Batch);
      } catch {
        // a malformed event is skipped; the list poll catches up
      }
    };
    source.onerror = () => source.close();
    return () => source.close();
  }, [batch.id, stream]);
  return live;
}

function fileOf(target: Batch["output"] | Batch["errors"]): string | undefined {
  if (typeof target === "string") return target;
  return target?.path ?? undefined;
}

function Download(props: { name: string | undefined; label: string }) {
  if (props.name === undefined) return null;
  return (
    <a
      class={`download ${props.label}`}
      href={`/v1/files/${encodeURIComponent(props.name)}`}
      download
    >
      {props.label}
    </a>
  );
}

function BatchRow(props: { batch: Batch; stream: boolean; refresh: () => void }) {
  const b = useLive(props.batch, props.stream);
  const { total, done, failed } = b.counts;
  const share = total === null || total === 0 ? undefined : done / total;
  const cancel = async () => {
    await call(`/v1/batches/${encodeURIComponent(b.id)}/cancel`, { method: "POST" });
    props.refresh();
  };
  return (
    <tr data-batch={b.id}>
      <td class="mono">{b.id}</td>
      <td>{b.model}</td>
      <td class="status">
        <Badge tone={statusTone(b.status)}>{b.status}</Badge>
      </td>
      <td>
        <progress max={1} value={share ?? 0} /> {done}/{total ?? "?"}
        {failed > 0 && <span class="warn"> ({failed} failed)</span>}
        {b.recordsPerSecond != null && ACTIVE.has(b.status) && (
          <span class="muted">
            {" "}
            {b.recordsPerSecond.toFixed(0)}/s{b.etaSeconds != null && `, ETA ${b.etaSeconds}s`}
          </span>
        )}
      </td>
      <td>
        <Time iso={b.createdAt} />
      </td>
      <td>
        {ACTIVE.has(b.status) && b.status !== "cancelling" ? (
          <button type="button" onClick={cancel}>
            Cancel
          </button>
        ) : (
          <>
            <Download name={fileOf(b.output)} label="output" />{" "}
            {failed > 0 && <Download name={fileOf(b.errors)} label="errors" />}
          </>
        )}
      </td>
    </tr>
  );
}

/** Upload a file, pick a model and a format, start the batch. */
function StartBatch(props: { models: string[]; onStarted: () => void }) {
  const [file, setFile] = useState<File | undefined>(undefined);
  const [model, setModel] = useState("");
  const [format, setFormat] = useState<(typeof FORMATS)[number]>("jsonl");
  const [message, setMessage] = useState<string | undefined>(undefined);
  const chosen = model === "" ? props.models[0] : model;
  const start = async (event: Event) => {
    event.preventDefault();
    if (file === undefined || chosen === undefined) return;
    setMessage("Uploading…");
    const upload = await call(`/v1/files?name=${encodeURIComponent(file.name)}`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: file,
    });
    if (!upload.ok) return setMessage(`Upload failed: ${errorText(upload)}`);
    const stem = file.name.replace(/\.[^.]*$/, "");
    const output = `${stem}.out-${Date.now()}.${format}`;
    const started = await postJson<Batch>("/v1/batches", {
      model: chosen,
      input: { path: file.name },
      output: { path: output },
      format,
    });
    if (!started.ok) return setMessage(`Not started: ${errorText(started)}`);
    setMessage(`Started ${started.body.id}`);
    props.onStarted();
  };
  return (
    <form class="start-batch" onSubmit={start}>
      <input
        type="file"
        name="file"
        onChange={(e) => setFile(e.currentTarget.files?.[0] ?? undefined)}
      />
      <select name="model" value={chosen} onChange={(e) => setModel(e.currentTarget.value)}>
        {props.models.map((m) => (
          <option key={m} value={m}>
            {m}
          </option>
        ))}
      </select>
      <select
        name="format"
        value={format}
        onChange={(e) => setFormat(e.currentTarget.value as (typeof FORMATS)[number])}
      >
        {FORMATS.map((f) => (
          <option key={f}>{f}</option>
        ))}
      </select>
      <button type="submit" disabled={file === undefined}>
        Start batch
      </button>
      {message !== undefined && <span class="muted message">{message}</span>}
    </form>
  );
}

export function Batches(props: { batches: Polled<List<Batch>>; models: string[] }) {
  return (
    <Section id="batches" title="Batches">
      {whenLoaded(props.batches, ({ data }) => {
        let streams = 0;
        return (
          <>
            <StartBatch models={props.models} onStarted={props.batches.refresh} />
            {data.length === 0 ? (
              <p class="muted">No batches.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Batch</th>
                    <th>Model</th>
                    <th>Status</th>
                    <th>Progress</th>
                    <th>Created</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {data.map((batch) => {
                    const stream = ACTIVE.has(batch.status) && streams++ < MAX_STREAMS;
                    return (
                      <BatchRow
                        key={batch.id}
                        batch={batch}
                        stream={stream}
                        refresh={props.batches.refresh}
                      />
                    );
                  })}
                </tbody>
              </table>
            )}
          </>
        );
      })}
    </Section>
  );
}
