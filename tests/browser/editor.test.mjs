// The editor app in a real browser (Debian's Chromium), against the real pulse-demo. Every page
// has a browser context of its own: pages of one context sync through BroadcastChannel without
// any server (the last test shows it), which would let these tests pass with a server that does
// nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDemo } from "../client/support/demo_server.mjs";
import { startRedis } from "../scale/redis_server.mjs";
import { launch, screenshot } from "./support/browser.mjs";

let demo;
let browser;
const contexts = [];
before(async () => {
  demo = await startDemo();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await demo?.stop();
});

const editorUrl = (server, doc) => `${server.http}/editor/?doc=${doc}`;

const viewport = { width: 700, height: 560 };

/** A page in a context of its own (or `context`), opened on `doc`, once it is synced. */
async function openEditor(server, doc, { name, context } = {}) {
  if (!context) {
    context = await browser.newContext({ viewport });
    contexts.push(context);
  }
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(error));
  if (name) await context.addInitScript((n) => localStorage.setItem("pulse.username", n), name);
  await page.goto(editorUrl(server, doc));
  await synced(page);
  return page;
}

const synced = (page) => page.getByTestId("status").getByText("synced", { exact: true }).waitFor();
const text = (page) => page.evaluate(() => window.pulseEditor.text());

/** Types `words` at the document's start or end, as a person would. */
async function typeAt(page, where, words) {
  await page.locator(".cm-content").click();
  await page.keyboard.press(where === "start" ? "Control+Home" : "Control+End");
  await page.keyboard.type(words);
}

/** Resolves once every page shows the same text (and `expect(text)` holds); rejects after `ms`. */
async function converged(pages, { expect = () => true, ms = 15000 } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    const texts = await Promise.all(pages.map(text));
    if (texts.every((t) => t === texts[0]) && expect(texts[0])) return texts[0];
    if (Date.now() > deadline) throw new Error(`pages differ after ${ms} ms: ${JSON.stringify(texts)}`);
    // The pages hold no event the test could wait on: ask again on each animation frame.
    await pages[0].evaluate(() => new Promise(requestAnimationFrame));
  }
}

/** A paragraph of `n` characters (letters, spaces, punctuation) that names its writer. */
function paragraph(who, n) {
  const words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"];
  let out = `${who}:`;
  for (let i = 0; out.length < n; ++i) out += ` ${words[(i * 7 + who.length) % words.length]}`;
  return `${out.slice(0, n - 1)}.`;
}

/**
 * A context that can go offline. setOffline alone leaves WebSockets open (Playwright emulates
 * offline for HTTP only), so this one also cuts the page's sockets and refuses new ones meanwhile.
 */
async function offlineContext() {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  let offline = false;
  const open = [];
  await context.routeWebSocket(/\/socket\/websocket/, (ws) => {
    if (offline) {
      ws.close({ code: 1001, reason: "offline" }).catch(() => {});
      return;
    }
    open.push({ ws, server: ws.connectToServer() });
  });
  return {
    context,
    async goOffline() {
      offline = true;
      await context.setOffline(true);
      for (const { ws, server } of open.splice(0)) {
        await server.close().catch(() => {});
        await ws.close({ code: 1006, reason: "offline" }).catch(() => {});
      }
    },
    async goOnline() {
      offline = false;
      await context.setOffline(false);
    },
  };
}

async function closeAll() {
  while (contexts.length) await contexts.pop().close();
}

test("two pages type at once and end with the same text; a third sees it all at once", async () => {
  const ada = await openEditor(demo, "together", { name: "Ada" });
  const bob = await openEditor(demo, "together", { name: "Bob" });
  await typeAt(ada, "start", "\n");
  await converged([ada, bob], { expect: (t) => t === "\n" });
  const [fromAda, fromBob] = [paragraph("ada", 300), paragraph("bob", 300)];
  await Promise.all([typeAt(ada, "start", fromAda), typeAt(bob, "end", fromBob)]);
  const together = await converged([ada, bob],
                                   { expect: (t) => t.includes(fromAda) && t.includes(fromBob) });
  assert.equal(together, `${fromAda}\n${fromBob}`);
  await screenshot(ada, "editor-two-pages");

  const late = await openEditor(demo, "together", { name: "Cy" });
  assert.equal(await text(late), together, "synced means the whole document");
  for (const page of [ada, bob, late]) assert.deepEqual(page.errors, []);
  await closeAll();
});

test("a page that goes offline keeps editing, comes back, and every page converges", async () => {
  const network = await offlineContext();
  const ada = await openEditor(demo, "offline", { name: "Ada", context: network.context });
  const bob = await openEditor(demo, "offline", { name: "Bob" });
  await typeAt(ada, "end", "online first.");
  await converged([ada, bob], { expect: (t) => t === "online first." });

  await network.goOffline();
  await ada.getByTestId("status").getByText(/disconnected|connecting/).waitFor();
  await typeAt(ada, "end", " written offline.");
  await typeAt(bob, "start", "meanwhile online. ");
  const apart = await Promise.all([text(ada), text(bob)]);
  assert.notEqual(apart[0], apart[1]);

  await network.goOnline();
  await synced(ada); // phoenix reconnects and rejoins by itself
  const after = await converged([ada, bob], {
    expect: (t) => t.includes("written offline.") && t.includes("meanwhile online."),
  });
  assert.equal(after, "meanwhile online. online first. written offline.");
  const late = await openEditor(demo, "offline");
  assert.equal(await text(late), after);
  await closeAll();
});

test("a document outlives its pages, and with Redis a restart of the server", async () => {
  const first = await openEditor(demo, "kept");
  await typeAt(first, "end", "still here after every page closed.");
  const written = await converged([first]);
  await closeAll();
  assert.equal(await text(await openEditor(demo, "kept")), written);
  await closeAll();

  const redis = await startRedis();
  let node = await startDemo({ args: ["--redis", redis.url] });
  try {
    const page = await openEditor(node, "restart");
    await typeAt(page, "end", "written before the restart.");
    const before = await converged([page]);
    await closeAll();
    const port = node.port;
    assert.equal(await node.stop(), 0);
    node = await startDemo({ port, args: ["--redis", redis.url] });
    const back = await openEditor(node, "restart");
    assert.equal(await text(back), before);
    await screenshot(back, "editor-after-restart");
    await closeAll();
  } finally {
    await node.stop();
    await redis.stop();
  }
});

test("a page sees the other's name and selection, and its cursor goes when it closes", async () => {
  const ada = await openEditor(demo, "cursors", { name: "Ada" });
  const bob = await openEditor(demo, "cursors", { name: "Bob" });
  await typeAt(ada, "end", "Ada writes here,\n");
  await typeAt(bob, "end", "and Bob selects these words.");
  await converged([ada, bob], { expect: (t) => t === "Ada writes here,\nand Bob selects these words." });
  await ada.keyboard.press("Control+Home");
  for (const _ of [1, 2, 3]) await bob.keyboard.press("Control+Shift+ArrowLeft");

  await ada.getByTestId("editors").getByText("Bob", { exact: true }).waitFor();
  await ada.locator(".cm-ySelectionInfo", { hasText: "Bob" }).waitFor();
  await ada.locator(".cm-ySelection").first().waitFor();
  assert.equal(await ada.locator(".cm-ySelection").allTextContents().then((t) => t.join("")),
               "these words.");
  await bob.getByTestId("editors").getByText("Ada", { exact: true }).waitFor();
  await screenshot(ada, "editor-cursors"); // the README's docs/editor.png

  await bob.context().close(); // no goodbye from the page: the server tells the others
  contexts.splice(contexts.indexOf(bob.context()), 1);
  await ada.locator(".cm-ySelectionInfo").waitFor({ state: "detached", timeout: 5000 });
  await ada.getByTestId("editors").getByText("Bob", { exact: true }).waitFor({ state: "detached" });
  assert.deepEqual(ada.errors, []);
  await closeAll();
});

test("with the server's relay off, pages of their own contexts do not converge, while two tabs of "
     + "one context do by themselves", async () => {
  const quiet = await startDemo({ env: { PULSE_TEST_EDITOR_NO_RELAY: "1" } });
  try {
    const ada = await openEditor(quiet, "alone", { name: "Ada" });
    const bob = await openEditor(quiet, "alone", { name: "Bob" });
    await Promise.all([typeAt(ada, "end", paragraph("ada", 60)), typeAt(bob, "end", paragraph("bob", 60))]);
    await assert.rejects(converged([ada, bob], { ms: 2000 }), /pages differ/);

    // Two tabs of one profile: BroadcastChannel syncs them without the server.
    const tab = await ada.context().newPage();
    await tab.goto(editorUrl(quiet, "alone"));
    await synced(tab);
    await converged([ada, tab], { expect: (t) => t.includes("ada:") });
    await closeAll();
  } finally {
    await quiet.stop();
  }
});
