/** Schedules with their next runs and "run now". */
import { useState } from "preact/hooks";
import { errorText, type List, postJson, type Schedule } from "./api";
import type { Polled } from "./poll";
import { Section, Time, whenLoaded } from "./section";

export function Schedules(props: { schedules: Polled<List<Schedule>>; onRun: () => void }) {
  const [message, setMessage] = useState<string | undefined>(undefined);
  const run = async (name: string) => {
    const answer = await postJson<{ id: string }>(
      `/v1/schedules/${encodeURIComponent(name)}/run`,
      {},
    );
    setMessage(answer.ok ? `${name}: started ${answer.body.id}` : `${name}: ${errorText(answer)}`);
    props.schedules.refresh();
    props.onRun();
  };
  return (
    <Section id="schedules" title="Schedules">
      {whenLoaded(props.schedules, ({ data }) =>
        data.length === 0 ? (
          <p class="muted">No schedules configured.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Cron</th>
                <th>Next run</th>
                <th>Last run</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.map((s) => (
                <tr key={s.name} data-schedule={s.name}>
                  <td>{s.name}</td>
                  <td class="mono">
                    {s.cron} <span class="muted">{s.timezone}</span>
                  </td>
                  <td>
                    <Time iso={s.nextRunAt} />
                  </td>
                  <td>
                    <Time iso={s.lastRunAt} />
                    {s.lastBatchId !== undefined && (
                      <span class="muted mono"> {s.lastBatchId}</span>
                    )}
                  </td>
                  <td>
                    <button type="button" onClick={() => run(s.name)}>
                      Run now
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ),
      )}
      {message !== undefined && <p class="muted">{message}</p>}
    </Section>
  );
}
