// JWTs signed at test time with Node's crypto (HS256, RS256, ES256), and the attack tokens: alg none,
// and HS256 signed with a public key as its secret.
import crypto from "node:crypto";

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");

/** `payload` signed with `alg`; `key`: the secret for HS256, a private KeyObject or PEM otherwise. */
export function signJwt(payload, alg, key, kid) {
  const header = { alg, typ: "JWT", ...(kid ? { kid } : {}) };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  let signature;
  if (alg === "HS256") signature = crypto.createHmac("sha256", key).update(input).digest();
  else if (alg === "RS256") signature = crypto.sign("sha256", Buffer.from(input), key);
  // JOSE wants ES256 as raw R || S, not Node's default DER.
  else if (alg === "ES256") signature = crypto.sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  else throw new Error(`unsupported alg ${alg}`);
  return `${input}.${b64u(signature)}`;
}

/** An unsigned token: header {"alg": "none"}, an empty signature. */
export function unsignedJwt(payload) {
  return `${b64u(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64u(JSON.stringify(payload))}.`;
}

/** A fresh key pair: { privateKey, publicPem, jwk(kid) }. */
export function keyPair(type) {
  const { privateKey, publicKey } = type === "rsa"
    ? crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
    : crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    privateKey,
    publicPem: publicKey.export({ type: "spki", format: "pem" }),
    jwk: (kid) => ({ ...publicKey.export({ format: "jwk" }), kid }),
  };
}

/** Seconds since the epoch, `offset` seconds from now. */
export const unixTime = (offset = 0) => Math.floor(Date.now() / 1000) + offset;
