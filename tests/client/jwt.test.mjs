// JWT authentication with the official `phoenix` client: tokens signed here with Node's crypto, sent
// as authToken (the phoenix subprotocol, or long-poll's header) or as a connect param, to
// pulse-demo started with --jwt-jwks (RS256 and ES256 keys by kid) and with --jwt-key (an HS256
// secret).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Socket, LongPoll } from "phoenix";
import WebSocket from "ws";
import { startDemo, nextCall, pushResult } from "./support/demo_server.mjs";
import { signJwt, unsignedJwt, keyPair, unixTime } from "./support/jwt.mjs";

const issuer = "https://auth.example";
const secret = "an HS256 secret for the test run";
const rsa = keyPair("rsa");
const ec = keyPair("ec");
const later = keyPair("rsa");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulse-jwt-"));
const jwksFile = path.join(dir, "jwks.json");
const writeJwks = (...jwks) => {
  fs.writeFileSync(`${jwksFile}.new`, JSON.stringify({ keys: jwks }));
  fs.renameSync(`${jwksFile}.new`, jwksFile);
};

let demo; // --jwt-jwks, with an issuer and an audience
let hsDemo; // --jwt-key with a secret
const sockets = [];

const claims = (more = {}) => ({ sub: "ada", iss: issuer, aud: ["pulse"], exp: unixTime(3600), team: "blue", ...more });
const rs256 = (more) => signJwt(claims(more), "RS256", rsa.privateKey, "k1");
const es256 = (more) => signJwt(claims(more), "ES256", ec.privateKey, "k2");

function connect(server, options = {}) {
  const socket = new Socket(server.url, { transport: WebSocket, ...options });
  socket.connect();
  sockets.push(socket);
  return socket;
}

/** Joins `topic` and pushes whoami: { user_id, identity, assigns }. */
async function whoami(socket, topic = "identity", params = {}) {
  const channel = socket.channel(topic, params);
  const joined = await pushResult(channel.join());
  assert.equal(joined.status, "ok", JSON.stringify(joined));
  const reply = await pushResult(channel.push("whoami", {}));
  assert.equal(reply.status, "ok");
  return reply.response;
}

/** The status and body of a refused upgrade, with the token sent as the official client sends it. */
async function refusal(server, { authToken, token }) {
  const query = token === undefined ? "" : `&token=${encodeURIComponent(token)}`;
  const protocols = authToken === undefined ? [] : ["phoenix", `base64url.bearer.phx.${btoa(authToken).replace(/=/g, "")}`];
  const ws = new WebSocket(`${server.url}/websocket?vsn=2.0.0${query}`, protocols);
  ws.on("error", () => {});
  const response = await nextCall((resolve) => ws.once("unexpected-response", (_, res) => resolve(res)));
  let body = "";
  for await (const chunk of response) body += chunk;
  return { status: response.statusCode, body: body.trim() };
}

/** Resolves once pulse-demo's stderr matches `pattern`. */
function stderrMatching(server, pattern) {
  return nextCall((resolve) => {
    const check = () => {
      if (!pattern.test(server.stderr())) return false;
      resolve();
      return true;
    };
    if (check()) return;
    const listener = () => { if (check()) server.process.stderr.off("data", listener); };
    server.process.stderr.on("data", listener);
  }, 5000, `a log line matching ${pattern}`);
}

before(async () => {
  writeJwks(rsa.jwk("k1"), ec.jwk("k2"));
  fs.writeFileSync(path.join(dir, "secret"), `${secret}\n`);
  [demo, hsDemo] = await Promise.all([
    startDemo({ args: ["--jwt-jwks", jwksFile, "--jwt-issuer", issuer, "--jwt-audience", "pulse"] }),
    startDemo({ args: ["--jwt-key", path.join(dir, "secret")] }),
  ]);
});

after(async () => {
  for (const socket of sockets) socket.disconnect();
  assert.equal(await demo.stop(), 0, "pulse-demo exits cleanly on SIGTERM");
  assert.equal(await hsDemo.stop(), 0);
  fs.rmSync(dir, { recursive: true });
});

test("an RS256 token as authToken: connected, and the claims are the identity", async () => {
  const seen = await whoami(connect(demo, { authToken: rs256() }));
  assert.equal(seen.user_id, "ada");
  assert.equal(seen.identity.team, "blue");
  assert.deepEqual(seen.identity.aud, ["pulse"]);
});

test("an ES256 token as the token connect param", async () => {
  const seen = await whoami(connect(demo, { params: { token: es256({ sub: "bob" }) } }));
  assert.equal(seen.user_id, "bob");
});

test("an HS256 token against --jwt-key's secret", async () => {
  const token = signJwt({ sub: "carol", exp: unixTime(60) }, "HS256", secret);
  assert.equal((await whoami(connect(hsDemo, { authToken: token }))).user_id, "carol");
  const wrong = signJwt({ sub: "carol", exp: unixTime(60) }, "HS256", "another secret");
  assert.deepEqual(await refusal(hsDemo, { authToken: wrong }), { status: 403, body: "invalid signature" });
});

test("the official client is refused a bad token, and the 403 says why", async () => {
  const socket = connect(demo, { authToken: rs256({ exp: unixTime(-3600) }) });
  await nextCall((resolve) => socket.onError(resolve), 3000, "a connection error");
  socket.disconnect();
  const cases = [
    [{ authToken: rs256({ exp: unixTime(-3600) }) }, "token expired"],
    [{ token: rs256({ nbf: unixTime(3600) }) }, "token not yet valid"],
    [{ authToken: rs256({ iss: "https://evil.example" }) }, "wrong issuer"],
    [{ token: es256({ aud: "billing" }) }, "wrong audience"],
    [{ authToken: signJwt(claims(), "RS256", later.privateKey, "k1") }, "invalid signature"],
    [{ authToken: unsignedJwt(claims()) }, "unsigned token (alg none)"],
    [{ authToken: signJwt(claims(), "HS256", rsa.publicPem, "k1") }, "algorithm HS256 does not match the key"],
    [{ authToken: signJwt(claims(), "RS256", later.privateKey, "k9") }, "unknown key id"],
    [{ token: "garbage" }, "malformed token"],
    [{}, "missing token"],
  ];
  for (const [how, reason] of cases)
    assert.deepEqual(await refusal(demo, how), { status: 403, body: reason }, reason);
});

test("a channel token joins its own topic only", async () => {
  const socket = connect(demo, { authToken: rs256() });
  const ticket = rs256({ channel: "private:lobby", seat: 7 });
  const seen = await whoami(socket, "private:lobby", { token: ticket });
  assert.equal(seen.user_id, "ada");
  assert.equal(seen.assigns.channel_claims.seat, 7);
  const refusals = [
    ["private:other", { token: ticket }, "token is for another channel"],
    ["private:lobby", { token: rs256({ channel: "private:lobby", sub: "mallory" }) }, "token is for another user"],
    ["private:lobby", {}, "channel token required"],
  ];
  for (const [topic, params, reason] of refusals) {
    const channel = socket.channel(topic, params);
    assert.deepEqual(await pushResult(channel.join()), { status: "error", response: { reason } });
    channel.leave(); // no rejoin attempts
  }
});

test("the LongPoll transport's authToken (X-Phoenix-AuthToken) is verified the same way", async () => {
  const seen = await whoami(connect(demo, { transport: LongPoll, authToken: es256({ sub: "erin" }) }));
  assert.equal(seen.user_id, "erin");
});

test("SIGHUP reloads the JWKS: a new kid is let in, a removed one is not", async () => {
  const fresh = signJwt(claims({ sub: "dave" }), "RS256", later.privateKey, "k3");
  assert.deepEqual(await refusal(demo, { authToken: fresh }), { status: 403, body: "unknown key id" });
  writeJwks(ec.jwk("k2"), later.jwk("k3"));
  demo.process.kill("SIGHUP");
  await stderrMatching(demo, /reloaded the JWT keys \(2 now\)/);
  assert.equal((await whoami(connect(demo, { authToken: fresh }))).user_id, "dave");
  assert.deepEqual(await refusal(demo, { authToken: rs256() }), { status: 403, body: "unknown key id" });
  assert.equal((await whoami(connect(demo, { params: { token: es256() } }))).user_id, "ada");
});
