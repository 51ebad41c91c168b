/** The URL as it may appear in logs and stats: the token replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.searchParams.has("token")) parsed.searchParams.set("token", "[redacted]");
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Replaces every `token=<value>` in free text (error messages that quote the URL). */
export function redactTokens(text: string): string {
  return text.replace(/([?&]token=)[^&\s'"]*/g, "$1[redacted]");
}
