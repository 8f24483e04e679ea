/**
 * The infergate admin page: routing, breakers, shadow agreement, traffic charts, async jobs,
 * batches and schedules, each polled from the gateway's own API (docs/ui.md).
 */
import { render } from "preact";
import { useState } from "preact/hooks";
import {
  type AsyncJob,
  adminKey,
  type Batch,
  type Breaker,
  type List,
  type RoutesTable,
  type Schedule,
  setAdminKey,
  type TimeSeriesAnswer,
} from "./api";
import { Batches } from "./batches";
import { Charts } from "./charts";
import { Breakers, Shadows } from "./health";
import { AsyncJobs } from "./jobs";
import { usePoll } from "./poll";
import { Routing } from "./routing";
import { Schedules } from "./schedules";
import "./style.css";

/** How often each part is fetched again, ms. */
const EVERY = { routes: 2000, charts: 2000, jobs: 2000, schedules: 10000 };

function KeyBox() {
  const [key, setKey] = useState(adminKey());
  return (
    <form
      class="key"
      onSubmit={(e) => {
        e.preventDefault();
        setAdminKey(key);
        location.reload();
      }}
    >
      <input
        type="password"
        placeholder="admin key (with auth)"
        value={key}
        autocomplete="off"
        onInput={(e) => setKey(e.currentTarget.value)}
      />
      <button type="submit">Use key</button>
    </form>
  );
}

function App() {
  const routes = usePoll<RoutesTable>("/admin/routes", EVERY.routes);
  const breakers = usePoll<{ breakers: Breaker[] }>("/admin/breakers", EVERY.routes);
  const series = usePoll<TimeSeriesAnswer>("/admin/timeseries?seconds=300", EVERY.charts);
  const jobs = usePoll<List<AsyncJob>>("/v1/async?limit=20", EVERY.jobs);
  const batches = usePoll<List<Batch>>("/v1/batches", EVERY.jobs);
  const schedules = usePoll<List<Schedule>>("/v1/schedules", EVERY.schedules);
  const models = routes.answer?.ok ? Object.keys(routes.answer.body.models) : [];
  return (
    <>
      <header>
        <h1>infergate</h1>
        <nav>
          {["routing", "breakers", "shadow", "charts", "jobs", "batches", "schedules"].map((id) => (
            <a key={id} href={`#${id}`}>
              {id}
            </a>
          ))}
        </nav>
        <KeyBox />
      </header>
      <main>
        <Routing routes={routes} />
        <div class="pair">
          <Breakers breakers={breakers} />
          <Shadows series={series} />
        </div>
        <Charts series={series} />
        <AsyncJobs jobs={jobs} />
        <Batches batches={batches} models={models} />
        <Schedules schedules={schedules} onRun={batches.refresh} />
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
