// The WorkerHost suite (worker-host.test.js) again, over fake workers that speak MCP 2026-07-28
// only: nothing the host does may depend on the era its workers speak.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkerHost } from "../../web/app/worker-host.js";
import { fakeWorker, setDefaultEra } from "./fake-worker.js";
import "./worker-host.test.js";

setDefaultEra("modern");

test("the workers of this run speak 2026-07-28, and their clients with them", async () => {
  const host = new WorkerHost({ spawn: () => fakeWorker(["a.echo"]) });
  await host.addWorker({ name: "a" });
  try {
    const { client } = /** @type {any} */ (host.workers.get("a"));
    assert.equal(client.era, "modern");
    assert.equal(client.inFlight, 0, "the open subscription is not a call in flight");
  } finally { await host.close(); }
});
