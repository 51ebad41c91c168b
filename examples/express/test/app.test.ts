import { createClient } from "@lifeline/client";
import { testExampleApp } from "@lifeline/test-support";
import { startApp } from "../src/app.js";

testExampleApp({
  heading: "Lifeline on Express 5",
  start: () => startApp(0),
  connect: (url) => createClient({ url, clientId: "express-test" }),
});
