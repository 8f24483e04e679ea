/** Async jobs (docs/async.md): newest first, live status, cancel. */
import { type AsyncJob, call, type List } from "./api";
import type { Polled } from "./poll";
import { Badge, Section, Time, whenLoaded } from "./section";

/** The colour of a job or batch status. */
export function statusTone(status: string): "ok" | "warn" | "bad" | "muted" {
  if (status === "succeeded") return "ok";
  if (status === "failed") return "bad";
  if (status === "cancelled" || status === "cancelling") return "muted";
  return "warn";
}

export function AsyncJobs(props: { jobs: Polled<List<AsyncJob>> }) {
  const cancel = async (id: string) => {
    await call(`/v1/async/${encodeURIComponent(id)}/cancel`, { method: "POST" });
    props.jobs.refresh();
  };
  return (
    <Section id="jobs" title="Async jobs">
      {whenLoaded(props.jobs, ({ data }) =>
        data.length === 0 ? (
          <p class="muted">No async jobs.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Job</th>
                <th>Model</th>
                <th>Status</th>
                <th>Created</th>
                <th>Finished</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.map((job) => (
                <tr key={job.id} data-job={job.id}>
                  <td class="mono">{job.id}</td>
                  <td>
                    {job.model}
                    {job.version !== undefined && <span class="muted"> v{job.version}</span>}
                  </td>
                  <td class="status">
                    <Badge tone={statusTone(job.status)}>{job.status}</Badge>
                    {job.error !== undefined && <span class="muted"> {job.error.code}</span>}
                  </td>
                  <td>
                    <Time iso={job.createdAt} />
                  </td>
                  <td>
                    <Time iso={job.finishedAt} />
                  </td>
                  <td>
                    {(job.status === "queued" || job.status === "running") && (
                      <button type="button" onClick={() => cancel(job.id)}>
                        Cancel
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ),
      )}
    </Section>
  );
}
