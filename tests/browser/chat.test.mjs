// The chat app in a real browser (Debian's Chromium), against the real pulse-demo.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDemo } from "../client/support/demo_server.mjs";
import { launch, openPage, screenshot } from "./support/browser.mjs";

let demo;
let browser;
before(async () => {
  demo = await startDemo();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await demo?.stop();
});

const chatUrl = (room) => `${demo.http}/chat${room ? `?room=${room}` : ""}`;

async function say(page, name, text) {
  await page.getByPlaceholder("Your name").fill(name);
  await page.getByPlaceholder("Type a message...").fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}

const line = (page, text) => page.getByTestId("messages").getByText(text, { exact: true });

async function joined(page) {
  await page.getByTestId("status").getByText("joined").waitFor();
}

test("two pages chat in the same room, and not across rooms", async () => {
  const ada = await openPage(browser, chatUrl("garden"));
  const bob = await openPage(browser, chatUrl("garden"));
  const elsewhere = await openPage(browser, chatUrl("kitchen"));
  await Promise.all([joined(ada), joined(bob), joined(elsewhere)]);

  await say(ada, "ada", "hello bob");
  await line(bob, "ada: hello bob").waitFor();
  await say(bob, "bob", "hi ada");
  await line(ada, "bob: hi ada").waitFor();
  await ada.getByTestId("online").getByText(/ada/).waitFor();
  await bob.getByTestId("online").getByText(/bob/).waitFor();

  // The other room heard nothing; a message there is its own, and stays there.
  await say(elsewhere, "cy", "anyone?");
  await line(elsewhere, "cy: anyone?").waitFor();
  assert.deepEqual(await elsewhere.getByTestId("messages").locator("li").allTextContents(),
                   ["cy: anyone?"]);
  assert.equal(await line(ada, "cy: anyone?").count(), 0);
  await screenshot(ada, "chat-two-pages");
  for (const page of [ada, bob, elsewhere]) assert.deepEqual(page.errors, []);
});

test("a late joiner sees the room's history", async () => {
  const first = await openPage(browser, chatUrl("history"));
  await joined(first);
  for (const text of ["one", "two", "three"]) {
    await say(first, "ann", text);
    await line(first, `ann: ${text}`).waitFor();
  }
  const late = await openPage(browser, chatUrl("history"));
  await line(late, "ann: three").waitFor();
  assert.deepEqual(await late.getByTestId("messages").locator("li").allTextContents(),
                   ["ann: one", "ann: two", "ann: three"]);
  await screenshot(late, "chat-late-joiner");
});

test("blank messages are not sent and long ones get a clear error", async () => {
  const page = await openPage(browser, chatUrl("rules"));
  await joined(page);
  await say(page, "ann", "   ");
  await say(page, "ann", "x".repeat(4001));
  await page.getByRole("alert").getByText("message is longer than 4000 characters").waitFor();
  await say(page, "ann", "fine");
  await line(page, "ann: fine").waitFor();
  assert.equal(await page.getByTestId("messages").locator("li").count(), 1);
});

test("the room picker and ?room= open other rooms", async () => {
  const page = await openPage(browser, chatUrl());
  await joined(page);
  assert.equal(await page.getByLabel("Room", { exact: true }).inputValue(), "lobby");
  await page.getByLabel("Other room").fill("Side Room");
  await page.getByLabel("Other room").press("Enter");
  await page.waitForURL(/room=side-room/);
  await joined(page);
  await say(page, "ann", "in the side room");
  const other = await openPage(browser, chatUrl("side-room"));
  await line(other, "ann: in the side room").waitFor();
});

test("a page whose connection drops gets what was said meanwhile when it comes back", async () => {
  const sockets = [];
  const context = await browser.newContext({ viewport: { width: 390, height: 760 } });
  // Every WebSocket of this page goes through here, so the test can cut it.
  await context.routeWebSocket(/\/socket\/websocket/, (ws) => {
    const server = ws.connectToServer();
    sockets.push({ ws, server });
  });
  const reader = await context.newPage();
  await reader.goto(chatUrl("drops"));
  await joined(reader);
  const writer = await openPage(browser, chatUrl("drops"));
  await joined(writer);
  await say(writer, "wes", "before");
  await line(reader, "wes: before").waitFor();

  const { ws, server } = sockets.at(-1);
  await server.close(); // the network goes away under the page
  await ws.close({ code: 1006, reason: "gone" }).catch(() => {});
  await reader.getByTestId("status").getByText(/reconnecting|connecting/).waitFor();
  await say(writer, "wes", "while you were away");
  await line(writer, "wes: while you were away").waitFor();
  await say(writer, "wes", "and this too");
  await line(writer, "wes: and this too").waitFor();

  await joined(reader); // phoenix reconnects and rejoins by itself
  await line(reader, "wes: and this too").waitFor();
  assert.deepEqual(await reader.getByTestId("messages").locator("li").allTextContents(),
                   ["wes: before", "wes: while you were away", "wes: and this too"]);
  await screenshot(reader, "chat-recovered");
  await context.close();
});

test("a private room refuses a page without its passcode, and lets it in with it", async () => {
  const page = await openPage(browser, chatUrl("private-team"));
  await page.getByRole("alert").getByText("Could not join: passcode required").waitFor();
  await page.getByLabel("Passcode").fill("nope");
  await page.getByRole("button", { name: "Enter" }).click();
  await page.getByRole("alert").getByText("Could not join: wrong passcode").waitFor();
  await page.getByLabel("Passcode").fill("pulse");
  await page.getByRole("button", { name: "Enter" }).click();
  await joined(page);
  await say(page, "ann", "members only");
  await line(page, "ann: members only").waitFor();
  await screenshot(page, "chat-private-room");
});

test("a page reconnects by itself after the server restarts, and keeps working", async () => {
  const ada = await openPage(browser, chatUrl("restart"));
  const bob = await openPage(browser, chatUrl("restart"));
  await Promise.all([joined(ada), joined(bob)]);
  await say(ada, "ada", "before the restart");
  await line(bob, "ada: before the restart").waitFor();

  const port = demo.port;
  await demo.stop();
  await ada.getByTestId("status").getByText(/reconnecting|connecting/).waitFor();
  demo = await startDemo({ port });
  await Promise.all([joined(ada), joined(bob)]);
  await say(ada, "ada", "after the restart");
  await line(bob, "ada: after the restart").waitFor();
  await screenshot(bob, "chat-after-restart");
});
