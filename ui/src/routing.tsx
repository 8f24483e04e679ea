/** The routing table: splits, labels, versions with backend, readiness and breaker, rollouts. */
import { useState } from "preact/hooks";
import type { RolloutSnapshot } from "../../src/routing/rollout/types.js";
import { errorText, type ModelRoutes, postJson, type RoutesTable, type RouteTarget } from "./api";
import type { Polled } from "./poll";
import { Badge, Section, whenLoaded } from "./section";

const BREAKER_TONE = { closed: "ok", halfOpen: "warn", open: "bad" } as const;

function TargetCells(props: { target: RouteTarget }) {
  const { target } = props;
  return (
    <>
      <td>
        {target.backend} <span class="muted">{target.model}</span>
        {target.version !== undefined && <span class="muted"> v{target.version}</span>}
      </td>
      <td>
        {target.ready === undefined ? (
          <span class="muted">—</span>
        ) : (
          <Badge tone={target.ready ? "ok" : "bad"}>{target.ready ? "ready" : "not ready"}</Badge>
        )}
      </td>
      <td class="breaker">
        {target.breaker === undefined ? (
          <span class="muted">—</span>
        ) : (
          <Badge tone={BREAKER_TONE[target.breaker]}>{target.breaker}</Badge>
        )}
      </td>
    </>
  );
}

/** The weights of a model's split (the default version alone gets 100). */
function weightsOf(routes: ModelRoutes): Record<string, number> {
  const out: Record<string, number> = {};
  for (const version of Object.keys(routes.versions)) out[version] = 0;
  if (routes.traffic === undefined) out[routes.default] = 100;
  else for (const entry of routes.traffic.weights) out[entry.version] = entry.weight;
  return out;
}

/** Edits a model's weights; applies them only after an explicit confirmation. */
function WeightEditor(props: { model: string; routes: ModelRoutes; onDone: () => void }) {
  const [draft, setDraft] = useState<Record<string, number> | undefined>(undefined);
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<string | undefined>(undefined);
  if (draft === undefined) {
    return (
      <button type="button" class="edit-weights" onClick={() => setDraft(weightsOf(props.routes))}>
        Change weights
      </button>
    );
  }
  const total = Object.values(draft).reduce((a, b) => a + b, 0);
  const summary = Object.entries(draft)
    .map(([v, w]) => `${v}=${w}`)
    .join(", ");
  const apply = async () => {
    const traffic = Object.entries(draft).map(([version, weight]) => ({ version, weight }));
    const answer = await postJson(`/admin/models/${encodeURIComponent(props.model)}/traffic`, {
      traffic,
    });
    setConfirming(false);
    if (answer.ok) {
      setDraft(undefined);
      setMessage(undefined);
      props.onDone();
    } else setMessage(errorText(answer));
  };
  return (
    <div class="weights-editor">
      {Object.entries(draft).map(([version, weight]) => (
        <label key={version}>
          v{version}{" "}
          <input
            type="number"
            min={0}
            max={100}
            value={weight}
            data-version={version}
            onInput={(e) => setDraft({ ...draft, [version]: Number(e.currentTarget.value) })}
          />
        </label>
      ))}
      {confirming ? (
        <span class="confirm">
          Route {props.model} as {summary}?{" "}
          <button type="button" class="danger confirm-weights" onClick={apply}>
            Confirm
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Back
          </button>
        </span>
      ) : (
        <>
          <button
            type="button"
            class="apply-weights"
            disabled={total !== 100}
            onClick={() => setConfirming(true)}
          >
            Apply…
          </button>
          <button type="button" onClick={() => setDraft(undefined)}>
            Cancel
          </button>
          {total !== 100 && <span class="warn"> weights add up to {total}, not 100</span>}
        </>
      )}
      {message !== undefined && <p class="warn">{message}</p>}
    </div>
  );
}

function SplitBar(props: { routes: ModelRoutes }) {
  const weights = Object.entries(weightsOf(props.routes)).filter(([, w]) => w > 0);
  return (
    <div class="split" title={weights.map(([v, w]) => `v${v}: ${w}%`).join(", ")}>
      {weights.map(([version, weight], i) => (
        <span key={version} class={`seg c${i % 6}`} style={{ width: `${weight}%` }}>
          v{version} {weight}%
        </span>
      ))}
    </div>
  );
}

function Rollout(props: { rollout: RolloutSnapshot }) {
  const { from, to, phase, step, weight, lastDecision } = props.rollout;
  return (
    <p class="rollout">
      Rollout v{from} → v{to}: <Badge tone={phase === "rolledBack" ? "bad" : "ok"}>{phase}</Badge>{" "}
      step {step + 1}, canary {weight}%
      {lastDecision !== undefined && <span class="muted"> — {lastDecision}</span>}
    </p>
  );
}

function ModelCard(props: { name: string; routes: ModelRoutes; refresh: () => void }) {
  const { name, routes } = props;
  const labels = Object.entries(routes.labels);
  return (
    <div class="model" data-model={name}>
      <h3>
        {name}{" "}
        <span class="muted">
          {routes.traffic === undefined ? `default v${routes.default}` : routes.traffic.source}
        </span>
      </h3>
      <SplitBar routes={routes} />
      {labels.length > 0 && (
        <p class="labels">
          {labels.map(([label, version]) => (
            <span key={label} class="label">
              {label} → v{version}
            </span>
          ))}
        </p>
      )}
      <table>
        <thead>
          <tr>
            <th>Version</th>
            <th>Backend</th>
            <th>Readiness</th>
            <th>Breaker</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(routes.versions).map(([version, target]) => (
            <tr key={version} data-version={version}>
              <td>v{version}</td>
              <TargetCells target={target} />
            </tr>
          ))}
          {routes.fallback.map((target, i) => (
            <tr key={`fallback${i}`} class="fallback">
              <td>fallback {i + 1}</td>
              <TargetCells target={target} />
            </tr>
          ))}
        </tbody>
      </table>
      {routes.rollout !== undefined && <Rollout rollout={routes.rollout as RolloutSnapshot} />}
      <WeightEditor model={name} routes={routes} onDone={props.refresh} />
    </div>
  );
}

export function Routing(props: { routes: Polled<RoutesTable> }) {
  return (
    <Section id="routing" title="Routing">
      {whenLoaded(props.routes, (table) => (
        <div class="models">
          {Object.entries(table.models).map(([name, routes]) => (
            <ModelCard key={name} name={name} routes={routes} refresh={props.routes.refresh} />
          ))}
        </div>
      ))}
    </Section>
  );
}
