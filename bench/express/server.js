// The peer of randapi's benchmark: the tutorial's Express app, `GET /` guarded by AWS's
// aws-jwt-verify (CognitoJwtVerifier, access tokens, one app client), plus an open `GET /health`.
//
// The Cognito verifier derives its JWKS URL from the user pool id (cognito-idp.amazonaws.com),
// which a local benchmark cannot serve; so the app fetches the benchmark's JWKS from JWKS_URL at
// start and hands it to the verifier with cacheJwks(), the library's documented way to preload
// keys. Every token is then verified in full (signature and claims) on every request, as in the
// tutorial.
//
//   PORT=3002 USER_POOL_ID=eu-west-1_BenchPool CLIENT_ID=... JWKS_URL=http://127.0.0.1:8000/jwks.json node server.js
"use strict";

const express = require("express");
const { CognitoJwtVerifier } = require("aws-jwt-verify");

const port = Number(process.env.PORT || 3001);
const verifier = CognitoJwtVerifier.create({
  userPoolId: process.env.USER_POOL_ID,
  tokenUse: "access",
  clientId: process.env.CLIENT_ID,
});

async function requireToken(req, res, next) {
  const header = req.header("authorization") || "";
  const token = header.startsWith("Bearer ") ? header.slice(7) : "";
  try {
    req.claims = await verifier.verify(token);
    next();
  } catch (error) {
    if (process.env.LOG_REJECTIONS) console.error(`401: ${error.name}: ${error.message}`);
    res.status(401).json({ error: "invalid_token" });
  }
}

const app = express();
app.get("/health", (req, res) => res.json({ status: "ok" }));
app.get("/", requireToken, (req, res) => {
  res.json({ randomNumber: Math.floor(Math.random() * 101) });
});

async function main() {
  const response = await fetch(process.env.JWKS_URL);
  if (!response.ok) throw new Error(`JWKS fetch failed: ${response.status}`);
  verifier.cacheJwks(await response.json());
  app.listen(port, "127.0.0.1", () => console.log(`express peer listening on ${port}`));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
