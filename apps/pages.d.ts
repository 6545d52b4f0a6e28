// What the pages import besides code: esbuild bundles their CSS.
declare module "*.css";
