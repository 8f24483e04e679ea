/** The frame every part of the page shares, and how it shows an answer that is not data. */
import type { ComponentChildren } from "preact";
import { errorText } from "./api";
import type { Polled } from "./poll";

export function Section(props: { id: string; title: string; children: ComponentChildren }) {
  return (
    <section id={props.id} class="card">
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

/**
 * The polled data, or why there is none: loading, a network failure, the route absent on this
 * gateway (404: "unavailable"), the admin key missing (401/403), another error.
 */
export function whenLoaded<T>(
  polled: Polled<T>,
  render: (body: T) => ComponentChildren,
): ComponentChildren {
  const { answer, failure } = polled;
  if (failure !== undefined) return <p class="muted">Gateway unreachable: {failure}</p>;
  if (answer === undefined) return <p class="muted">Loading…</p>;
  if (answer.status === 404) {
    return (
      <p class="muted unavailable" data-unavailable="true">
        Unavailable on this gateway.
      </p>
    );
  }
  if (answer.status === 401 || answer.status === 403) {
    return <p class="warn">Not allowed: {errorText(answer)} (enter the admin key above).</p>;
  }
  if (!answer.ok) return <p class="warn">{errorText(answer)}</p>;
  return render(answer.body);
}

/** A status word with its colour (`ok`, `warn`, `bad`, `muted`). */
export function Badge(props: {
  tone: "ok" | "warn" | "bad" | "muted";
  children: ComponentChildren;
}) {
  return <span class={`badge ${props.tone}`}>{props.children}</span>;
}

/** An ISO time as a short local time, with the full value on hover. */
export function Time(props: { iso: string | null | undefined }) {
  if (props.iso === undefined || props.iso === null) return <span class="muted">—</span>;
  const date = new Date(props.iso);
  return <time title={props.iso}>{date.toLocaleString()}</time>;
}
