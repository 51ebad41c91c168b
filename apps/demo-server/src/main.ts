import { startDemoServer } from "./app.js";
import { ConfigError, parseConfig } from "./config.js";

/** Exit status for invalid configuration (EX_USAGE-like; 1 stays "crashed"). */
const EXIT_CONFIG = 2;

async function main(): Promise<void> {
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`demo-server: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }

  let server: Awaited<ReturnType<typeof startDemoServer>>;
  try {
    server = await startDemoServer({ config });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      process.stderr.write(
        `demo-server: cannot listen on ${config.host}:${config.port} (${String(code)}); set PORT to a free port\n`,
      );
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
  process.stdout.write(`\n  Lifeline observatory demo: ${server.url}\n\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C means "now".
      process.stderr.write(`demo-server: ${signal} again, exiting without waiting\n`);
      process.exit(130);
    }
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`demo-server: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

void main();
