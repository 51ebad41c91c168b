import { startApp } from "./app.js";

const app = await startApp({
  port: Number(process.env.PORT ?? 3000),
  host: process.env.HOST ?? "127.0.0.1",
  dev: process.env.NODE_ENV !== "production",
});
console.log(`listening on ${app.url} (Lifeline at ${app.wsUrl})`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}
