import { createClient } from "@lifeline/client";
import { testExampleApp } from "@lifeline/test-support";
import { startApp } from "../src/app.js";

testExampleApp({
  heading: "Lifeline on Next.js",
  start: () => startApp({ port: 0 }),
  connect: (url) => createClient({ url, clientId: "nextjs-test" }),
});
