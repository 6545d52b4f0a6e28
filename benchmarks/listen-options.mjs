// The benchmark servers' command line (baseline/server.mjs, peer/uws.mjs): where to listen.
//   [--bind 127.0.0.1] [--port 0]   (0: any free port; the server prints the one it got)
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};

export const bind = option("--bind", "127.0.0.1");
export const port = Number(option("--port", "0"));
