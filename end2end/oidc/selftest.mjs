#!/usr/bin/env node
// Self-test for provider.mjs: acts as a relying party with plain fetch and a
// hand-rolled cookie jar, exactly like a non-browser client would.
//   cd end2end/oidc && npm run selftest

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';

const HERE = dirname(fileURLToPath(import.meta.url));
const REDIRECT_URI = 'http://127.0.0.1:3057/auth/oidc/test/callback';
const CLIENT_ID = 'mosaic';
const CLIENT_SECRET = 'mosaic-secret';

// ---------------------------------------------------------------------------
// tiny test harness
// ---------------------------------------------------------------------------
const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`  ok   ${name}`);
  } catch (err) {
    results.push({ name, ok: false, err });
    console.log(`  FAIL ${name}\n       ${err?.stack ?? err}`);
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
function eq(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// ---------------------------------------------------------------------------
// provider process
// ---------------------------------------------------------------------------
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startProvider(extra = [], port = undefined) {
  port ??= await freePort();
  const child = spawn(process.execPath, [join(HERE, 'provider.mjs'), '--port', String(port),
    '--redirect-uri', REDIRECT_URI, '--redirect-uri', 'http://localhost:3057/other', ...extra],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const issuer = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`provider did not get ready:\n${stderr}`)), 15000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = stdout.match(/^ready (\S+)\n/m);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`provider exited (${code}):\n${stderr}`)); });
  });
  eq(issuer, `http://127.0.0.1:${port}`, 'issuer announced on stdout');
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  return {
    issuer,
    discovery,
    child,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

// ---------------------------------------------------------------------------
// cookie jar (enough of RFC 6265 for one host: name, path, expiry)
// ---------------------------------------------------------------------------
class CookieJar {
  cookies = new Map(); // key name|path -> {name, value, path, expires}

  store(res, url) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const i = pair.indexOf('=');
      const c = { name: pair.slice(0, i), value: pair.slice(i + 1), path: '/', expires: undefined };
      let defaultPath = new URL(url).pathname.replace(/\/[^/]*$/, '') || '/';
      c.path = defaultPath;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        if (k.toLowerCase() === 'path') c.path = v;
        if (k.toLowerCase() === 'expires') c.expires = Date.parse(v);
        if (k.toLowerCase() === 'max-age') c.expires = Date.now() + Number(v) * 1000;
      }
      const key = `${c.name}|${c.path}`;
      if (c.expires !== undefined && c.expires <= Date.now()) this.cookies.delete(key);
      else this.cookies.set(key, c);
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    const now = Date.now();
    return [...this.cookies.values()]
      .filter((c) => (c.expires === undefined || c.expires > now)
        && (pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)))
      .map((c) => `${c.name}=${c.value}`).join('; ');
  }

  names() { return [...this.cookies.values()].map((c) => `${c.name} (path ${c.path})`); }
}

const trace = [];
async function request(jar, url, init = {}) {
  const headers = new Headers(init.headers);
  const cookie = jar.header(url);
  if (cookie) headers.set('cookie', cookie);
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(res, url);
  trace.push(`${init.method ?? 'GET'} ${url} -> ${res.status}${res.headers.get('location') ? ` Location: ${res.headers.get('location')}` : ''}${cookie ? ` [sent cookies: ${cookie.split('; ').map((c) => c.split('=')[0]).join(', ')}]` : ''}`);
  return res;
}

// ---------------------------------------------------------------------------
// relying party
// ---------------------------------------------------------------------------
const b64url = (buf) => Buffer.from(buf).toString('base64url');

function authorizationRequest(provider, { redirectUri = REDIRECT_URI, pkce = true } = {}) {
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const url = new URL(provider.discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    scope: 'openid email profile',
    redirect_uri: redirectUri,
    state,
    nonce,
    ...(pkce ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
  }).toString();
  return { url: url.href, state, nonce, verifier, redirectUri };
}

// Drive the devInteractions login for `login`; returns the parsed callback.
async function signIn(provider, login, { jar = new CookieJar(), req = authorizationRequest(provider) } = {}) {
  // 1. authorization endpoint -> 303 to /interaction/<uid> (relative Location)
  let res = await request(jar, req.url);
  eq(res.status, 303, 'GET /auth status');
  const interactionUrl = new URL(res.headers.get('location'), provider.issuer).href;
  assert(/\/interaction\/[\w-]+$/.test(interactionUrl), `unexpected interaction URL ${interactionUrl}`);

  // 2. login page: form action + field names
  res = await request(jar, interactionUrl);
  eq(res.status, 200, 'GET /interaction/<uid> status');
  const html = await res.text();
  const action = html.match(/<form[^>]*action="([^"]+)"[^>]*method="post"/)?.[1];
  assert(action, 'login form not found');
  eq(action, interactionUrl, 'form action');
  const fields = [...html.matchAll(/<input[^>]*name="([^"]+)"/g)].map((m) => m[1]);
  eq(fields.join(','), 'prompt,login,password', 'form field names');

  // 3. POST the form -> 303 to /auth/<uid>
  res = await request(jar, action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ prompt: 'login', login, password: 'anything' }).toString(),
  });
  eq(res.status, 303, 'POST /interaction/<uid> status');
  const resumeUrl = new URL(res.headers.get('location'), provider.issuer).href;
  assert(/\/auth\/[\w-]+$/.test(resumeUrl), `unexpected resume URL ${resumeUrl}`);

  // 4. resume -> 303 to redirect_uri?code=...&state=...&iss=...
  res = await request(jar, resumeUrl);
  eq(res.status, 303, 'GET /auth/<uid> status');
  const cb = new URL(res.headers.get('location'));
  eq(`${cb.origin}${cb.pathname}`, req.redirectUri, 'callback target');
  if (cb.searchParams.get('error')) throw new Error(`authorization error: ${cb.search}`);
  eq(cb.searchParams.get('state'), req.state, 'state on callback');
  eq(cb.searchParams.get('iss'), provider.issuer, 'iss on callback');
  const code = cb.searchParams.get('code');
  assert(code, 'no code on callback');
  return { ...req, code, callback: cb, jar };
}

async function tokenRequest(provider, { code, verifier, redirectUri = REDIRECT_URI }, { auth = 'basic', omitVerifier = false } = {}) {
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
  if (!omitVerifier) body.set('code_verifier', verifier);
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (auth === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`;
  } else {
    body.set('client_id', CLIENT_ID);
    body.set('client_secret', CLIENT_SECRET);
  }
  const res = await fetch(provider.discovery.token_endpoint, { method: 'POST', headers, body });
  trace.push(`POST ${provider.discovery.token_endpoint} -> ${res.status}`);
  return { status: res.status, json: await res.json() };
}

async function fullSignIn(provider, login, opts = {}) {
  const s = await signIn(provider, login, opts);
  const t = await tokenRequest(provider, s, opts);
  eq(t.status, 200, `token endpoint status (${JSON.stringify(t.json)})`);
  return { ...s, tokens: t.json, idToken: t.json.id_token };
}

function jwks(provider) {
  return jose.createRemoteJWKSet(new URL(provider.discovery.jwks_uri), { cacheMaxAge: 0, cooldownDuration: 0 });
}

async function verifyIdToken(provider, idToken, opts = {}) {
  return jose.jwtVerify(idToken, jwks(provider), {
    issuer: provider.issuer, audience: CLIENT_ID, algorithms: ['RS256'], ...opts,
  });
}

async function expectRejects(promise, code, what) {
  try {
    await promise;
  } catch (err) {
    eq(err.code, code, `${what}: error code`);
    return err;
  }
  throw new Error(`${what}: expected ${code}, but it verified`);
}

// ---------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------
const tmp = mkdtempSync(join(tmpdir(), 'mosaic-oidc-selftest-'));
let p;
const facts = {};

try {
  console.log('provider A (defaults)');
  p = await startProvider();

  await check('discovery document', async () => {
    eq(p.discovery.issuer, p.issuer, 'issuer');
    eq(p.discovery.authorization_endpoint, `${p.issuer}/auth`, 'authorization_endpoint');
    eq(p.discovery.token_endpoint, `${p.issuer}/token`, 'token_endpoint');
    eq(p.discovery.jwks_uri, `${p.issuer}/jwks`, 'jwks_uri');
    assert(p.discovery.code_challenge_methods_supported.includes('S256'), 'S256 supported');
    eq(p.discovery.authorization_response_iss_parameter_supported, true, 'iss parameter');
  });

  let alice;
  await check('sign-in as alice, code exchange (client_secret_basic + PKCE), id_token verifies', async () => {
    alice = await fullSignIn(p, 'alice');
    facts.trace = [...trace];
    facts.cookies = alice.jar.names();
    const { payload, protectedHeader } = await verifyIdToken(p, alice.idToken);
    eq(protectedHeader.alg, 'RS256', 'alg');
    const jwksKids = (await (await fetch(p.discovery.jwks_uri)).json()).keys.map((k) => k.kid);
    assert(jwksKids.includes(protectedHeader.kid), 'kid in JWKS');
    eq(payload.nonce, alice.nonce, 'nonce');
    eq(payload.aud, CLIENT_ID, 'aud');
    eq(payload.iss, p.issuer, 'iss');
    eq(payload.sub, 'alice', 'sub');
    eq(payload.email, 'alice@example.com', 'email');
    eq(payload.email_verified, true, 'email_verified');
    eq(payload.name, 'Alice', 'name');
    eq(payload.exp - payload.iat, 3600, 'id_token lifetime');
    facts.idTokenClaims = payload;
    facts.tokenResponseKeys = Object.keys(alice.tokens);
  });

  await check('re-using the same code is rejected (invalid_grant)', async () => {
    const again = await tokenRequest(p, alice);
    eq(again.status, 400, 'status');
    eq(again.json.error, 'invalid_grant', 'error');
  });

  await check('unverified-bob gets email_verified=false', async () => {
    const bob = await fullSignIn(p, 'unverified-bob');
    const { payload } = await verifyIdToken(p, bob.idToken);
    eq(payload.sub, 'unverified-bob', 'sub');
    eq(payload.email, 'unverified-bob@example.com', 'email');
    eq(payload.email_verified, false, 'email_verified');
    eq(payload.name, 'Unverified-bob', 'name');
  });

  await check('login with an @ is used as the email verbatim', async () => {
    const carol = await fullSignIn(p, 'carol@corp.test');
    const { payload } = await verifyIdToken(p, carol.idToken);
    eq(payload.email, 'carol@corp.test', 'email');
    eq(payload.name, 'Carol', 'name');
    eq(payload.email_verified, true, 'email_verified');
  });

  await check('same cookie jar: second authorization shows the login form again (no SSO)', async () => {
    const jar = new CookieJar();
    const first = await signIn(p, 'dave', { jar });
    assert(!jar.names().some((n) => n.startsWith('_session')), 'no _session cookie handed out');
    const second = await signIn(p, 'erin', { jar }); // asserts the login form
    const t = await tokenRequest(p, second);
    eq(jose.decodeJwt(t.json.id_token).sub, 'erin', 'sub after re-login');
    void first;
  });

  await check('tamper foreign-key: same kid and claims, signature fails against JWKS', async () => {
    const r = await fetch(`${p.issuer}/__test/tamper`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'foreign-key' }) });
    eq(r.status, 204, 'tamper status');
    const s = await fullSignIn(p, 'mallory');
    const genuine = await (await fetch(`${p.issuer}/__test/last-id-token`)).text();
    assert(genuine !== s.idToken, 'id_token was replaced');
    eq(jose.decodeProtectedHeader(s.idToken).kid, jose.decodeProtectedHeader(genuine).kid, 'kid preserved');
    eq(JSON.stringify(jose.decodeJwt(s.idToken)), JSON.stringify(jose.decodeJwt(genuine)), 'claims preserved');
    eq(jose.decodeJwt(s.idToken).nonce, s.nonce, 'nonce of tampered token');
    await expectRejects(verifyIdToken(p, s.idToken), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'foreign-key token');
    await verifyIdToken(p, genuine);
    // mode resets after one use
    const next = await fullSignIn(p, 'mallory');
    await verifyIdToken(p, next.idToken);
  });

  await check('tamper replay: previous genuine id_token is served (nonce differs)', async () => {
    const prev = await fullSignIn(p, 'victim');
    const r = await fetch(`${p.issuer}/__test/tamper`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'replay' }) });
    eq(r.status, 204, 'tamper status');
    const s = await fullSignIn(p, 'victim');
    eq(s.idToken, prev.idToken, 'replayed token is the previous one');
    const { payload } = await verifyIdToken(p, s.idToken); // genuinely signed
    assert(payload.nonce !== s.nonce, 'nonce differs from this sign-in');
    eq(payload.nonce, prev.nonce, 'nonce is the previous sign-in');
    const genuine = await (await fetch(`${p.issuer}/__test/last-id-token`)).text();
    eq(jose.decodeJwt(genuine).nonce, s.nonce, 'last-id-token is the genuine one for this sign-in');
    const next = await fullSignIn(p, 'victim');
    eq(jose.decodeJwt(next.idToken).nonce, next.nonce, 'mode reset after one use');
  });

  await check('tamper API rejects bad modes', async () => {
    const r = await fetch(`${p.issuer}/__test/tamper`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'nope' }) });
    eq(r.status, 400, 'status');
    const r2 = await fetch(`${p.issuer}/__test/tamper`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'none' }) });
    eq(r2.status, 204, 'none status');
  });

  await check('PKCE is mandatory: no code_challenge -> error redirect invalid_request', async () => {
    const req = authorizationRequest(p, { pkce: false });
    const res = await request(new CookieJar(), req.url);
    eq(res.status, 303, 'status');
    const loc = new URL(res.headers.get('location'));
    eq(`${loc.origin}${loc.pathname}`, REDIRECT_URI, 'redirected to client');
    eq(loc.searchParams.get('error'), 'invalid_request', 'error');
    facts.noPkce = loc.searchParams.get('error_description');
  });

  await check('wrong code_verifier / missing verifier -> invalid_grant', async () => {
    const s = await signIn(p, 'alice');
    const t = await tokenRequest(p, { ...s, verifier: b64url(randomBytes(32)) });
    eq(t.json.error, 'invalid_grant', 'wrong verifier');
    const s2 = await signIn(p, 'alice');
    const t2 = await tokenRequest(p, s2, { omitVerifier: true });
    eq(t2.json.error, 'invalid_grant', 'missing verifier');
  });

  await check('redirect_uri must match exactly (no redirect, 400 page)', async () => {
    for (const bad of [`${REDIRECT_URI}/`, `${REDIRECT_URI}?x=1`, REDIRECT_URI.replace('127.0.0.1', 'localhost')]) {
      const req = authorizationRequest(p, { redirectUri: bad });
      const res = await request(new CookieJar(), req.url);
      eq(res.status, 400, `status for ${bad}`);
      assert((await res.text()).includes('redirect_uri did not match'), 'error text');
    }
    // a second registered redirect_uri works
    const s = await signIn(p, 'alice', { req: authorizationRequest(p, { redirectUri: 'http://localhost:3057/other' }) });
    const t = await tokenRequest(p, s);
    eq(t.status, 200, 'token with second redirect_uri');
  });

  await check('client_secret_post also works', async () => {
    const s = await fullSignIn(p, 'alice', { auth: 'post' });
    await verifyIdToken(p, s.idToken);
  });

  await check('wrong client secret -> invalid_client', async () => {
    const s = await signIn(p, 'alice');
    const body = new URLSearchParams({ grant_type: 'authorization_code', code: s.code, redirect_uri: REDIRECT_URI, code_verifier: s.verifier });
    const res = await fetch(p.discovery.token_endpoint, {
      method: 'POST', body, headers: { authorization: `Basic ${Buffer.from('mosaic:wrong').toString('base64')}` },
    });
    eq(res.status, 401, 'status');
    eq((await res.json()).error, 'invalid_client', 'error');
  });

  await check('stdout carries only the ready line; request log on stderr', async () => {
    eq(p.stdout, `ready ${p.issuer}\n`, 'stdout');
    assert(/^POST \/token 200$/m.test(p.stderr), 'stderr request log');
  });

  await check('SIGTERM exits cleanly', async () => {
    const { code, signal } = await p.stop();
    eq(code, 0, `exit code (signal ${signal})`);
    p = undefined;
  });

  console.log('providers B/C/D (--key-file, restarts on one port)');
  const k1 = join(tmp, 'k1.json');
  const k2 = join(tmp, 'k2.json');
  let kid1;
  await check('--key-file: created with a kid when missing, reused on restart, other file = other kid', async () => {
    assert(!existsSync(k1), 'k1 absent');
    const port = await freePort();
    p = await startProvider(['--key-file', k1], port);
    const jwk1 = JSON.parse(readFileSync(k1, 'utf8'));
    assert(jwk1.kid && jwk1.d && jwk1.kty === 'RSA', 'k1 is a private RSA JWK with kid');
    kid1 = jwk1.kid;
    const first = await fullSignIn(p, 'alice');
    eq(jose.decodeProtectedHeader(first.idToken).kid, kid1, 'token kid = file kid');
    const publicJwks = (await (await fetch(p.discovery.jwks_uri)).json()).keys;
    eq(publicJwks.length, 1, 'one key in JWKS');
    assert(!('d' in publicJwks[0]), 'JWKS is public');
    await p.stop();

    p = await startProvider(['--key-file', k1], port);
    const again = await fullSignIn(p, 'alice');
    eq(jose.decodeProtectedHeader(again.idToken).kid, kid1, 'same kid after restart');
    await verifyIdToken(p, first.idToken, { currentDate: new Date(jose.decodeJwt(first.idToken).iat * 1000) });
    await p.stop();

    p = await startProvider(['--key-file', k2], port);
    const other = await fullSignIn(p, 'alice');
    const kid2 = jose.decodeProtectedHeader(other.idToken).kid;
    assert(kid2 !== kid1, 'different kid with another key file');
    await expectRejects(verifyIdToken(p, first.idToken), 'ERR_JWKS_NO_MATCHING_KEY', 'old token against new JWKS');
    await p.stop(); p = undefined;
  });

  console.log('provider E (--clock-offset-secs -7200)');
  p = await startProvider(['--clock-offset-secs', '-7200']);
  await check('tamper replay before any token -> 409', async () => {
    const r = await fetch(`${p.issuer}/__test/tamper`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'replay' }) });
    eq(r.status, 409, 'status');
    eq((await fetch(`${p.issuer}/__test/last-id-token`)).status, 404, 'last-id-token before any token');
  });
  await check('clock offset -7200: flow completes, id_token expired in real time', async () => {
    const s = await fullSignIn(p, 'alice');
    const payload = jose.decodeJwt(s.idToken);
    const now = Math.floor(Date.now() / 1000);
    assert(payload.exp < now, `exp ${payload.exp} should be < now ${now}`);
    assert(Math.abs(payload.iat - (now - 7200)) < 30, `iat ${payload.iat} should be ~ now-7200`);
    eq(payload.nonce, s.nonce, 'nonce');
    await expectRejects(verifyIdToken(p, s.idToken), 'ERR_JWT_EXPIRED', 'expired token');
    facts.expired = { iat: payload.iat, exp: payload.exp, now };
  });
  await p.stop(); p = undefined;

  console.log('provider F (--sso)');
  p = await startProvider(['--sso']);
  await check('--sso: second authorization with the same cookie jar skips the login form', async () => {
    const jar = new CookieJar();
    const first = await signIn(p, 'alice', { jar });
    assert(jar.names().some((n) => n.startsWith('_session')), '_session cookie set');
    const req = authorizationRequest(p);
    const res = await request(jar, req.url);
    eq(res.status, 303, 'status');
    const cb = new URL(res.headers.get('location'));
    eq(`${cb.origin}${cb.pathname}`, REDIRECT_URI, 'straight back to the client');
    eq(cb.searchParams.get('state'), req.state, 'state');
    const t = await tokenRequest(p, { ...req, code: cb.searchParams.get('code') });
    eq(jose.decodeJwt(t.json.id_token).sub, 'alice', 'sub');
    eq(jose.decodeJwt(t.json.id_token).nonce, req.nonce, 'nonce');
    void first;
  });
  await p.stop(); p = undefined;
} catch (err) {
  results.push({ name: 'harness', ok: false, err });
  console.log(`  FAIL harness: ${err?.stack ?? err}`);
  if (p) console.log(`--- provider stderr ---\n${p.stderr}`);
} finally {
  if (p) await p.stop();
  rmSync(tmp, { recursive: true, force: true });
}

if (process.env.VERBOSE) {
  console.log('\nHTTP trace of the first sign-in:');
  for (const l of facts.trace ?? []) console.log(`  ${l}`);
  console.log(`cookies after first sign-in: ${facts.cookies?.join(', ')}`);
  console.log(`token response keys: ${facts.tokenResponseKeys?.join(', ')}`);
  console.log(`id_token claims: ${JSON.stringify(facts.idTokenClaims)}`);
  console.log(`no-PKCE error_description: ${facts.noPkce}`);
  console.log(`expired token: ${JSON.stringify(facts.expired)}`);
}

const failed = results.filter((r) => !r.ok);
console.log(`\n${failed.length ? 'FAIL' : 'PASS'}: ${results.length - failed.length}/${results.length} checks passed`);
process.exit(failed.length ? 1 : 0);
