import type { TokenContext } from "@lifeline/client";
import { h } from "./dom.js";

const STORAGE_KEY = "lifeline-demo-user";

export interface SignIn {
  /** The signed-in user name, if any. */
  readonly user: string | undefined;
  /**
   * The client's `token` option: a fresh token from `/api/login` for the signed-in user,
   * at every connect and every in-band refresh; none for a page that did not sign in.
   */
  token(context: TokenContext): Promise<string | undefined>;
}

/**
 * The demo's sign-in in the top bar: a user name, no password. Signing in or out changes
 * who the connection belongs to, which a refresh may not do (PROTOCOL.md, "Credentials in
 * band"), so `onChange` reconnects. The name lives in sessionStorage: one per tab.
 */
export function mountSignIn(host: HTMLElement, onChange: () => void): SignIn {
  let user = read();
  const input = h("input", {
    attrs: {
      type: "text",
      placeholder: "your name",
      maxlength: "32",
      "aria-label": "user name",
      "data-testid": "sign-in-name",
    },
  });
  const error = h("span", { class: "muted", attrs: { "data-testid": "sign-in-error" } });

  const render = (): void => {
    if (user === undefined) {
      const form = h(
        "form",
        { class: "sign-in" },
        input,
        h("button", { text: "Sign in", attrs: { type: "submit", "data-testid": "sign-in" } }),
        error,
      );
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        void signIn(input.value.trim());
      });
      host.replaceChildren(form);
      return;
    }
    host.replaceChildren(
      h("span", { text: `Signed in as ${user}`, attrs: { "data-testid": "signed-in-as" } }),
      h("button", {
        text: "Sign out",
        attrs: { type: "button", class: "link", "data-testid": "sign-out" },
        onClick: () => {
          user = undefined;
          write(undefined);
          render();
          onChange();
        },
      }),
    );
  };

  const signIn = async (name: string): Promise<void> => {
    // Asked once here so a refused name is shown in the form, not as a failed connection.
    const answer = await login(name).catch((failure: Error) => failure);
    if (answer instanceof Error) {
      error.textContent = answer.message;
      return;
    }
    user = name;
    write(name);
    render();
    onChange();
  };

  render();
  return {
    get user() {
      return user;
    },
    async token() {
      return user === undefined ? undefined : (await login(user)).token;
    },
  };
}

async function login(user: string): Promise<{ token: string; expires_at: number }> {
  const response = await fetch("/api/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await response.json()) as { token?: string; expires_at?: number; error?: string };
  if (!response.ok || body.token === undefined || body.expires_at === undefined) {
    throw new Error(body.error ?? `sign-in failed (${response.status})`);
  }
  return { token: body.token, expires_at: body.expires_at };
}

function read(): string | undefined {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function write(user: string | undefined): void {
  try {
    if (user === undefined) sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, user);
  } catch {
    // Storage off (private mode): the sign-in lasts as long as the page.
  }
}
