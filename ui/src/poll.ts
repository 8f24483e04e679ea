/** Polling state for the page's sections. */
import { useEffect, useRef, useState } from "preact/hooks";
import { type Answer, call } from "./api";

/** What a polled section shows: loading, the last answer, or the last network error. */
export interface Polled<T> {
  answer: Answer<T> | undefined;
  failure: string | undefined;
  /** Fetches again now (after a write). */
  refresh: () => void;
}

/** Fetches `path` now and every `everyMs` while the page is shown; one request at a time. */
export function usePoll<T>(path: string, everyMs: number): Polled<T> {
  const [answer, setAnswer] = useState<Answer<T> | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const busy = useRef(false);

  useEffect(() => {
    let live = true;
    const load = async () => {
      if (busy.current || document.hidden) return;
      busy.current = true;
      try {
        const next = await call<T>(path);
        if (live) {
          setAnswer(next);
          setFailure(undefined);
        }
      } catch (err) {
        if (live) setFailure(err instanceof Error ? err.message : String(err));
      } finally {
        busy.current = false;
      }
    };
    void load();
    const timer = setInterval(load, everyMs);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [path, everyMs, tick]);

  return { answer, failure, refresh: () => setTick((n) => n + 1) };
}
