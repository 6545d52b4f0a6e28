// Builds the sample apps' pages into build/web/<app>/: each app's web/main.jsx (if any) is
// bundled with esbuild into app.js, next to the app's static files (index.html, CSS, images).
// Nothing is fetched at run time: React, the Pulse client, the chart library and the editor (Yjs,
// CodeMirror) are in the bundle.
import * as esbuild from "esbuild";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "build/web");
const apps = ["demo", "chat", "dashboard", "editor"];
const sourceExtensions = new Set([".js", ".jsx", ".mjs", ".ts", ".tsx"]);

async function exists(file) {
  return fs.access(file).then(() => true, () => false);
}

for (const app of apps) {
  const source = path.join(root, "apps", app, "web");
  const target = path.join(out, app);
  await fs.rm(target, { recursive: true, force: true });
  await fs.mkdir(target, { recursive: true });
  for (const entry of await fs.readdir(source, { withFileTypes: true })) {
    if (entry.isFile() && !sourceExtensions.has(path.extname(entry.name)))
      await fs.copyFile(path.join(source, entry.name), path.join(target, entry.name));
  }
  const main = path.join(source, "main.jsx");
  if (await exists(main)) {
    await esbuild.build({
      entryPoints: [main],
      outfile: path.join(target, "app.js"),
      bundle: true,
      format: "esm",
      minify: true,
      sourcemap: true,
      target: ["es2020"],
      jsx: "automatic",
      loader: { ".css": "css" },
      define: { "process.env.NODE_ENV": '"production"' },
      logLevel: "warning",
    });
  }
}
console.log(`web pages built in ${path.relative(root, out)}/`);
