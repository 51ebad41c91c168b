import { startApp } from "./app.js";

const app = await startApp(Number(process.env.PORT ?? 3000), process.env.HOST ?? "127.0.0.1");
console.log(`listening on ${app.url} (Lifeline at ${app.wsUrl})`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}
