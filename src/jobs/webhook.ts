/**
 * Webhook calls (docs/async.md "Webhooks"): the host allow-list, checked when a job is submitted
 * and again before every delivery (the config may have changed since), and one signed attempt per
 * call, signed with the `standardwebhooks` library.
 */
import { Webhook } from "standardwebhooks";
import { InvalidRequestError } from "../errors.js";
import type { WebhooksConfig } from "./config.js";
import type { AttemptResult, Sender } from "./delivery.js";

const DEFAULT_PORTS: Readonly<Record<string, string>> = { "http:": "80", "https:": "443" };
/** Longest webhook URL accepted. */
const MAX_URL_LENGTH = 2048;

/**
 * True when `url`'s host matches one of `patterns`: an exact host name, or `*.domain` for any
 * subdomain of domain (not domain itself); `:port` in a pattern pins the port, else any port.
 */
export function hostAllowed(url: URL, patterns: readonly string[]): boolean {
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  const port = url.port === "" ? DEFAULT_PORTS[url.protocol] : url.port;
  return patterns.some((raw) => {
    const pattern = raw.toLowerCase();
    const colon = pattern.lastIndexOf(":");
    const name = colon === -1 ? pattern : pattern.slice(0, colon);
    if (colon !== -1 && pattern.slice(colon + 1) !== port) return false;
    if (name.startsWith("*.")) return host.endsWith(name.slice(1)) && host.length > name.length - 1;
    return host === name;
  });
}

/** The submit-time check of a `"webhook"` field; returns the URL to store. */
export function checkWebhook(value: unknown, config: WebhooksConfig): { url: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidRequestError(`"webhook" must be an object {"url": "https://..."}`);
  }
  const raw = (value as Record<string, unknown>).url;
  if (typeof raw !== "string" || raw.length > MAX_URL_LENGTH || !URL.canParse(raw)) {
    throw new InvalidRequestError(`"webhook.url" must be an absolute http or https URL`);
  }
  const url = new URL(raw);
  if (url.username !== "" || url.password !== "") {
    throw new InvalidRequestError(`"webhook.url" must not carry credentials`);
  }
  if (config.allowedHosts.length === 0) {
    throw new InvalidRequestError(
      "webhooks are not enabled on this gateway (jobs.webhooks.allowedHosts)",
    );
  }
  if (!hostAllowed(url, config.allowedHosts)) {
    throw new InvalidRequestError(`webhook host "${url.host}" is not allowed`);
  }
  return { url: url.href };
}

/**
 * A sender making one signed POST per attempt. Redirects are not followed (a 3xx is a failed
 * attempt), so an allowed host cannot bounce the gateway to an address that is not allowed.
 */
export function webhookSender(config: () => WebhooksConfig): Sender {
  let signer: { secret: string; webhook: Webhook } | undefined;
  return async (delivery): Promise<AttemptResult> => {
    const current = config();
    const url = new URL(delivery.url);
    if (current.secret === undefined || !hostAllowed(url, current.allowedHosts)) return "refused";
    if (signer?.secret !== current.secret) {
      signer = { secret: current.secret, webhook: new Webhook(current.secret) };
    }
    const at = new Date();
    const headers = {
      "content-type": "application/json",
      "user-agent": "infergate-webhooks",
      "webhook-id": delivery.id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": signer.webhook.sign(delivery.id, at, delivery.payload),
    };
    try {
      const res = await fetch(url, {
        method: "POST",
        headers,
        body: delivery.payload,
        redirect: "manual",
        signal: AbortSignal.timeout(current.timeoutMs),
      });
      // The receiver's body is not needed; dropping it frees the connection.
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return "delivered";
      return res.status === 410 ? "gone" : "retry";
    } catch {
      return "retry";
    }
  };
}
