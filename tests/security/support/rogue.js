// Serving the rogue worker (rogue-worker.js) to a test page, under /workers/, the only path the
// workers' policy lets a worker load from; a cross-origin isolated page starts only workers that
// are isolated too, hence the headers.

export const ROGUE_WORKER_PATH = "/workers/__test__/rogue-worker.js";

/** @param {import("@playwright/test").Page} page */
export function serveRogueWorker(page) {
  return page.route(`**${ROGUE_WORKER_PATH}`, (route) => route.fulfill({
    path: "tests/security/support/rogue-worker.js", contentType: "text/javascript",
    headers: { "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" },
  }));
}
