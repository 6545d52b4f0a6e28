// The dashboard in a real browser: numbers and charts that move.
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

test("the dashboard's numbers and charts change over time", async () => {
  const page = await openPage(browser, `${demo.http}/dashboard`, { viewport: { width: 1000, height: 900 } });
  await page.getByTestId("status").getByText("joined").waitFor();
  const viewers = page.getByTestId("figure-viewers");
  await viewers.getByText("1", { exact: true }).waitFor();

  const chart = page.getByTestId("chart-Simulated series").locator("canvas");
  await page.getByTestId("figure-simulated").getByText(/\d/).waitFor();
  const before = { simulated: await page.getByTestId("figure-simulated").textContent(),
                   chart: await chart.screenshot() };
  // A second viewer: the viewer count follows, and samples keep coming.
  const second = await openPage(browser, `${demo.http}/dashboard`);
  await viewers.getByText("2", { exact: true }).waitFor();
  await page.waitForFunction(
    ([selector, old]) => document.querySelector(selector)?.textContent !== old,
    ['[data-testid="figure-simulated"]', before.simulated]);
  const after = await chart.screenshot();
  assert.notDeepEqual(after, before.chart, "the chart was redrawn with new samples");
  assert.match(await page.getByTestId("figure-connections").textContent(), /^[1-9]/);
  await screenshot(page, "dashboard");
  await screenshot(second, "dashboard-phone");
  assert.deepEqual(page.errors, []);
});

test("the index page links both apps", async () => {
  const page = await openPage(browser, `${demo.http}/`);
  await page.getByRole("link", { name: /Chat/ }).click();
  await page.waitForURL(/\/chat\/$/);
  await page.getByTestId("status").getByText("joined").waitFor();
  await page.goBack();
  await page.getByRole("link", { name: /Dashboard/ }).click();
  await page.getByTestId("status").getByText("joined").waitFor();
  await screenshot(page, "index-to-dashboard");
});
