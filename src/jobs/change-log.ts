/** What the engine does on every job state change: one log line, and the job metrics. */
import type { JobMetrics } from "./metrics.js";
import type { JobLogger } from "./store-hooks.js";
import { isFinal, type JobListener } from "./types.js";

/** The listener both stores are given: logs each change, counts and times finished jobs. */
export function changeRecorder(logger: JobLogger, metrics: JobMetrics): JobListener {
  return (job, from) => {
    logger.info(
      {
        jobId: job.id,
        tenant: job.tenant || undefined,
        model: job.model,
        from,
        status: job.status,
      },
      "async job",
    );
    if (!isFinal(job.status)) return;
    metrics.jobsTotal.inc({ kind: "async", outcome: job.status });
    if (job.startedAt !== undefined && job.finishedAt !== undefined && from === "running") {
      metrics.jobDuration.observe(
        { kind: "async", outcome: job.status },
        (job.finishedAt - job.startedAt) / 1000,
      );
    }
  };
}
