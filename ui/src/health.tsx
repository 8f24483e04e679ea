/** Breaker states per target and shadow agreement per model. */
import type { Breaker, TimeSeriesAnswer } from "./api";
import type { Polled } from "./poll";
import { Badge, Section, Time, whenLoaded } from "./section";

const TONE = { closed: "ok", halfOpen: "warn", open: "bad" } as const;

export function Breakers(props: { breakers: Polled<{ breakers: Breaker[] }> }) {
  return (
    <Section id="breakers" title="Breakers">
      {whenLoaded(props.breakers, ({ breakers }) =>
        breakers.length === 0 ? (
          <p class="muted">No breakers configured.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Model</th>
                <th>Slot</th>
                <th>Backend</th>
                <th>State</th>
                <th>OK / failed / rejected</th>
                <th>Opened</th>
              </tr>
            </thead>
            <tbody>
              {breakers.map((b) => (
                <tr key={`${b.model}/${b.slot}`} data-model={b.model} data-slot={b.slot}>
                  <td>{b.model}</td>
                  <td>{b.slot}</td>
                  <td>{b.backend}</td>
                  <td class="state">
                    <Badge tone={TONE[b.state]}>{b.state}</Badge>
                  </td>
                  <td>
                    {b.successes} / {b.failures} / {b.rejects}
                  </td>
                  <td>
                    <Time iso={b.openedAt} />
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

export function Shadows(props: { series: Polled<TimeSeriesAnswer> }) {
  return (
    <Section id="shadow" title="Shadow agreement">
      {whenLoaded(props.series, ({ shadow }) =>
        shadow.length === 0 ? (
          <p class="muted">No shadow comparisons yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Model</th>
                <th>Primary → shadow</th>
                <th>Argmax agreement</th>
                <th>Compared</th>
                <th>Shadow errors</th>
              </tr>
            </thead>
            <tbody>
              {shadow.map((s) => {
                const compared = s.agree + s.disagree;
                const share = compared === 0 ? undefined : s.agree / compared;
                return (
                  <tr key={`${s.model}/${s.primary}/${s.shadow}`} data-model={s.model}>
                    <td>{s.model}</td>
                    <td>
                      v{s.primary} → v{s.shadow}
                    </td>
                    <td>
                      {share === undefined ? "—" : `${(share * 100).toFixed(1)}%`}
                      {share !== undefined && (
                        <meter min={0} max={1} low={0.95} optimum={1} value={share} />
                      )}
                    </td>
                    <td>{compared}</td>
                    <td>{s.errors}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ),
      )}
    </Section>
  );
}
