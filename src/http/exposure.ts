/**
 * Where `/admin/*` is served (see docs/security.md "Admin exposure"). Without auth the admin
 * routes re-route traffic for anyone who reaches them, so they answer only on a loopback listener:
 * the admin listener when `server.adminPort` is set, else the public port when it is bound to a
 * loopback address. A public port on any other address never serves them (404).
 */
import { BlockList, isIP } from "node:net";

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

/** True when `host` (an address or `localhost`) can only be reached from this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === "localhost") return true;
  const family = isIP(bare);
  if (family === 4) return loopback.check(bare, "ipv4");
  if (family === 6) {
    // An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is loopback when its IPv4 part is.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
    if (mapped?.[1] !== undefined) return loopback.check(mapped[1], "ipv4");
    return loopback.check(bare, "ipv6");
  }
  return false;
}

/** The server keys that decide admin exposure. */
export interface ExposureSettings {
  host: string;
  adminPort?: number | undefined;
  adminHost?: string | undefined;
  /** `auth` is configured: the admin routes then need an admin key instead of loopback. */
  auth?: boolean;
}

/** Where the admin routes go, and what to warn the operator about at start. */
export interface AdminPlacement {
  /** Serve `/admin/*` on the public listener. */
  onPublic: boolean;
  /** Open a separate admin listener on `adminHost:adminPort`. */
  separate: boolean;
  /** The admin listener's bind address (when separate). */
  adminHost: string;
  /** Operator warnings, one log line each. */
  warnings: string[];
}

/** Decides where `/admin/*` is served for these server settings. */
export function adminPlacement(server: ExposureSettings): AdminPlacement {
  const adminHost = server.adminHost ?? "127.0.0.1";
  const warnings: string[] = [];
  if (server.adminPort !== undefined) {
    if (!isLoopbackHost(adminHost)) {
      warnings.push(
        `admin listener binds ${adminHost}, not loopback: anyone who reaches port ${server.adminPort} can change routing (publish it on loopback only)`,
      );
    }
    return { onPublic: false, separate: true, adminHost, warnings };
  }
  // With auth an admin key guards them (docs/access.md), so any public port may serve them.
  if (isLoopbackHost(server.host) || server.auth === true) {
    return { onPublic: true, separate: false, adminHost, warnings };
  }
  warnings.push(
    `server.host ${server.host} is not loopback and there is no server.adminPort: /admin/* answers 404 (set adminPort to reach it)`,
  );
  return { onPublic: false, separate: false, adminHost, warnings };
}
