/** Per-model request rate, error rate and p50/p99 latency over the last minutes (uPlot). */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { TimeSeriesAnswer } from "./api";
import type { Polled } from "./poll";
import { Section, whenLoaded } from "./section";

type Series = TimeSeriesAnswer["models"][string];

const MIN_WIDTH = 320;
const HEIGHT = 170;
const MIN_SPAN = 30;
const TIME_STEPS = [1, 5, 10, 15, 30, 60, 120, 300];

/** One uPlot chart, created once and fed new data on every poll. */
function Chart(props: { title: string; data: uPlot.AlignedData; series: uPlot.Series[] }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    if (host.current === null) return;
    plot.current = new uPlot(
      {
        title: props.title,
        // Two charts side by side fill the section (sized once, when the chart is made).
        width: Math.max(
          MIN_WIDTH,
          Math.floor(((host.current.parentElement?.clientWidth ?? 0) - 12) / 2),
        ),
        height: HEIGHT,
        series: [{}, ...props.series],
        // At least the last half minute on the time axis, in whole seconds.
        scales: { x: { range: (_u, min, max) => [Math.min(min, max - MIN_SPAN), max] } },
        axes: [{ incrs: TIME_STEPS }, { size: 56 }],
        legend: { live: false },
      },
      props.data,
      host.current,
    );
    return () => plot.current?.destroy();
    // The chart's shape is fixed per title; data arrives in the next effect.
  }, [props.title]);
  useEffect(() => plot.current?.setData(props.data), [props.data]);
  return <div class="chart" ref={host} />;
}

const ms = (v: number | null) => (v === null ? null : v * 1000);

function ModelCharts(props: { model: string; s: Series }) {
  const { model, s } = props;
  const last = s.rate.length === 0 ? 0 : s.rate[s.rate.length - 1]!;
  return (
    <div class="model-charts" data-model={model}>
      <h3>
        {model} <span class="muted">{last.toFixed(1)} req/s now</span>
      </h3>
      <div class="charts-row">
        <Chart
          title="requests/s and errors %"
          data={[s.t, s.rate, s.errorRate.map((e) => e * 100)]}
          series={[
            { label: "req/s", stroke: "#2b6cb0", width: 2 },
            { label: "errors %", stroke: "#c53030", width: 2 },
          ]}
        />
        <Chart
          title="latency ms"
          data={[s.t, s.p50.map(ms), s.p99.map(ms)]}
          series={[
            { label: "p50", stroke: "#2f855a", width: 2, spanGaps: false },
            { label: "p99", stroke: "#b7791f", width: 2, spanGaps: false },
          ]}
        />
      </div>
    </div>
  );
}

export function Charts(props: { series: Polled<TimeSeriesAnswer> }) {
  return (
    <Section id="charts" title="Traffic (last 5 minutes)">
      {whenLoaded(props.series, ({ models }) => {
        const names = Object.keys(models).sort();
        if (names.length === 0) return <p class="muted">No requests sampled yet.</p>;
        return names.map((name) => <ModelCharts key={name} model={name} s={models[name]!} />);
      })}
    </Section>
  );
}
