// Headless Chromium from Debian, driven by playwright-core, and screenshots for the record.
import { chromium } from "playwright-core";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const artifacts = path.join(root, "build/test-artifacts");

/** Launches Debian's Chromium headless, with nothing reaching beyond this machine. */
export async function launch() {
  await fs.mkdir(artifacts, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A new page of a phone's size (or `viewport`) that fails the test on any page error. */
export async function openPage(browser, url, { viewport = { width: 390, height: 760 } } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(error));
  await page.goto(url);
  return page;
}

/** Saves a screenshot under build/test-artifacts/. */
export function screenshot(page, name) {
  return page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}
