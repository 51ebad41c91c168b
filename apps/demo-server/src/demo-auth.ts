import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { AuthError } from "@lifeline/server";
import type { Clock } from "./clock.js";

/** A signed-in demo user, or `undefined` for a page that did not sign in. */
export interface DemoPrincipal {
  /** The user name; the server's identity of the principal (its default `identify`). */
  readonly id: string;
  /** When the token expires, in ms since the Unix epoch. */
  readonly exp: number;
}

/** A token and when it expires, as `/api/login` answers. */
export interface IssuedToken {
  readonly token: string;
  readonly expires_at: number;
}

/** User names: what a person types, short enough to show on a card. */
const USER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,31}$/;
/** Bounds the work a forged token can cause before it is refused. */
const MAX_TOKEN_CHARS = 512;

/**
 * The demo's sign-in: a user name only (no password: it is a demo), turned into a
 * short-lived token signed with HMAC-SHA256 under a secret drawn when the process starts.
 * A token from another process (another node, a restarted server) fails to verify, and
 * the page asks for a new one; the client refreshes it in band before it expires
 * (PROTOCOL.md, "Credentials in band").
 */
export function createDemoAuth(options: { readonly clock: Clock; readonly ttlMs: number }) {
  const secret = randomBytes(32);
  const sign = (payload: string) => createHmac("sha256", secret).update(payload).digest();

  return {
    /** Checks a user name; the reason when it is not one. */
    invalidUser(user: unknown): string | undefined {
      if (typeof user !== "string") return 'expected "user" to be a string';
      return USER_PATTERN.test(user)
        ? undefined
        : 'expected "user" to be 1-32 letters, digits, spaces or _ . - (starting with a letter or digit)';
    },
    issue(user: string): IssuedToken {
      const exp = options.clock.now() + options.ttlMs;
      const payload = Buffer.from(JSON.stringify({ u: user, exp })).toString("base64url");
      return { token: `${payload}.${sign(payload).toString("base64url")}`, expires_at: exp };
    },
    /** The principal of a valid, unexpired token; throws `AuthError` (4401) otherwise. */
    verify(token: string): DemoPrincipal {
      const dot = token.indexOf(".");
      if (token.length > MAX_TOKEN_CHARS || dot < 1) throw new AuthError("malformed token");
      const payload = token.slice(0, dot);
      const given = Buffer.from(token.slice(dot + 1), "base64url");
      const expected = sign(payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new AuthError("token not signed by this server; sign in again");
      }
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
        u?: unknown;
        exp?: unknown;
      };
      if (typeof claims.u !== "string" || typeof claims.exp !== "number") {
        throw new AuthError("malformed token");
      }
      if (claims.exp <= options.clock.now()) throw new AuthError("token expired; sign in again");
      return { id: claims.u, exp: claims.exp };
    },
  };
}

export type DemoAuth = ReturnType<typeof createDemoAuth>;
