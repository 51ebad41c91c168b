import { h } from "./dom.js";

/**
 * The diagnostics panel's admin action: disconnect every page of a user (4403, so they
 * stop and say why). The server lets loopback callers in; from elsewhere it needs the
 * `LIFELINE_ADMIN_TOKEN`, typed here and sent as a bearer token, never stored.
 */
export function adminActions(): HTMLElement {
  const user = h("input", {
    attrs: { type: "text", placeholder: "user name", "data-testid": "admin-user" },
  });
  const token = h("input", {
    attrs: {
      type: "password",
      placeholder: "admin token (not needed on localhost)",
      autocomplete: "off",
      "data-testid": "admin-token",
    },
  });
  const result = h("span", { class: "muted", attrs: { "data-testid": "admin-result" } });
  const disconnect = async (): Promise<void> => {
    result.textContent = "…";
    try {
      const response = await fetch("/api/admin/disconnect", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token.value === "" ? {} : { authorization: `Bearer ${token.value}` }),
        },
        body: JSON.stringify({ user: user.value.trim() }),
        signal: AbortSignal.timeout(5000),
      });
      const body = (await response.json()) as { disconnected?: number; error?: string };
      result.textContent = response.ok
        ? `disconnected ${body.disconnected ?? 0} session(s) of ${user.value.trim()}`
        : `refused: ${body.error ?? response.status}`;
    } catch (error) {
      result.textContent = `failed: ${(error as Error).message}`;
    }
  };
  return h(
    "section",
    { class: "admin" },
    h("h3", { text: "Admin" }),
    user,
    token,
    h("button", {
      text: "Disconnect user",
      attrs: { type: "button", "data-testid": "admin-disconnect" },
      onClick: () => void disconnect(),
    }),
    result,
  );
}
