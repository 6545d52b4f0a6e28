// A jsdom page as the globals `window`, `document` and `location`, which react-dom's development
// build and phoenix read. Import it before anything else, so that every module sees them from the start.
import { JSDOM } from "jsdom";

// An http origin, as phoenix reads sessionStorage, which an opaque origin refuses; a visible page, as
// phoenix does not reconnect hidden ones. Tests point it at their server with dom.reconfigure({url}).
export const dom = new JSDOM("<!doctype html><body></body>", { url: "http://127.0.0.1/", pretendToBeVisual: true });
export const { window } = dom;

globalThis.window = window;
globalThis.document = window.document;
globalThis.location = window.location;
globalThis.navigator ??= window.navigator; // Node 21 and later have their own
