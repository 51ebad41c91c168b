import { defineContract } from "@lifeline/protocol";
import { Type } from "@sinclair/typebox";

/** The contract the typed tests share: the server validates it, the hooks are typed by it. */
export const contract = defineContract({
  topics: {
    "room/*/temperature": Type.Object({ celsius: Type.Number() }),
  },
  methods: {
    echo: {
      params: Type.Object({ text: Type.String() }),
      result: Type.Object({ text: Type.String() }),
    },
    fail: { params: Type.Null(), result: Type.Null() },
    hang: { params: Type.Null(), result: Type.Null() },
  },
});

export type Spec = typeof contract.spec;
