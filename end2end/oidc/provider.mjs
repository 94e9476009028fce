#!/usr/bin/env node
// Local OpenID Connect provider for Mosaic's test suites, built on panva's
// OpenID Certified `oidc-provider`. See README.md in this directory.
//
//   node end2end/oidc/provider.mjs --port 4111 \
//     --redirect-uri http://127.0.0.1:3057/auth/oidc/test/callback [--redirect-uri ...] \
//     [--key-file /tmp/k.json] [--clock-offset-secs -7200] [--sso]
//
// stdout carries exactly one line, `ready http://127.0.0.1:<port>`, once the
// server listens; everything else (oidc-provider notices, request log) goes to
// stderr.

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync, createHash } from 'node:crypto';
import { parseArgs } from 'node:util';

// ---------------------------------------------------------------------------
// stdout hygiene: oidc-provider prints notices with console.info; keep stdout
// for the single `ready` line.
// ---------------------------------------------------------------------------
for (const name of ['log', 'info', 'debug']) {
  console[name] = (...args) => console.error(...args);
}

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------
function die(msg) {
  process.stderr.write(`provider.mjs: ${msg}\n`);
  process.exit(2);
}

// node:util parseArgs refuses `--clock-offset-secs -7200` (value looks like
// an option); glue such values to their option first.
const VALUE_OPTIONS = new Set(['--port', '--redirect-uri', '--key-file', '--clock-offset-secs']);
const argv = [];
for (let i = 2; i < process.argv.length; i += 1) {
  const a = process.argv[i];
  if (VALUE_OPTIONS.has(a) && i + 1 < process.argv.length) {
    argv.push(`${a}=${process.argv[i + 1]}`);
    i += 1;
  } else {
    argv.push(a);
  }
}

let args;
try {
  ({ values: args } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'key-file': { type: 'string' },
      'clock-offset-secs': { type: 'string' },
      sso: { type: 'boolean', default: false },
    },
    strict: true,
  }));
} catch (err) {
  die(err.message);
}

if (args.port === undefined || !/^\d+$/.test(args.port)) die('--port <number> is required (0 = pick a free port)');
const requestedPort = Number(args.port);
const redirectUris = args['redirect-uri'] ?? [];
if (redirectUris.length === 0) die('at least one --redirect-uri is required');
const clockOffsetSecs = args['clock-offset-secs'] === undefined ? 0 : Number(args['clock-offset-secs']);
if (!Number.isFinite(clockOffsetSecs)) die('--clock-offset-secs must be a number');

// ---------------------------------------------------------------------------
// Clock offset: must happen BEFORE oidc-provider / jose are imported, hence
// the dynamic imports below.
// ---------------------------------------------------------------------------
if (clockOffsetSecs !== 0) {
  const RealDate = Date;
  const offsetMs = clockOffsetSecs * 1000;
  function ShiftedDate(...a) {
    if (!new.target) return new RealDate(RealDate.now() + offsetMs).toString();
    return Reflect.construct(RealDate, a.length ? a : [RealDate.now() + offsetMs], new.target);
  }
  Object.setPrototypeOf(ShiftedDate, RealDate); // Date.parse, Date.UTC
  ShiftedDate.prototype = RealDate.prototype;
  ShiftedDate.now = () => RealDate.now() + offsetMs;
  globalThis.Date = ShiftedDate;
  process.stderr.write(`provider.mjs: process clock shifted by ${clockOffsetSecs}s (now ${new Date().toISOString()})\n`);
}

const { default: Provider } = await import('oidc-provider');
const jose = await import('jose');

// ---------------------------------------------------------------------------
// Signing key
// ---------------------------------------------------------------------------
function generateSigningJwk() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  // kid = RFC 7638 thumbprint, so distinct keys always get distinct kids.
  const thumb = createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }))
    .digest('base64url');
  return { ...jwk, kid: thumb, alg: 'RS256', use: 'sig' };
}

function loadOrCreateKey(path) {
  if (!path) return generateSigningJwk();
  if (existsSync(path)) {
    const jwk = JSON.parse(readFileSync(path, 'utf8'));
    if (jwk.kty !== 'RSA' || !jwk.d) die(`${path}: not an RSA private JWK`);
    if (!jwk.kid) die(`${path}: JWK has no kid`);
    return { alg: 'RS256', use: 'sig', ...jwk };
  }
  const jwk = generateSigningJwk();
  writeFileSync(path, `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o600 });
  return jwk;
}

const signingJwk = loadOrCreateKey(args['key-file']);

// ---------------------------------------------------------------------------
// Accounts: any login id is a valid account.
// ---------------------------------------------------------------------------
function accountClaims(id) {
  const email = id.includes('@') ? id : `${id}@example.com`;
  const local = email.split('@')[0];
  return {
    sub: id,
    email,
    email_verified: !id.startsWith('unverified'),
    name: local.charAt(0).toUpperCase() + local.slice(1),
  };
}

// ---------------------------------------------------------------------------
// HTTP server first (so --port 0 works and the issuer knows its real port).
// ---------------------------------------------------------------------------
let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const server = createServer((req, res) => handler(req, res));
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(requestedPort, '127.0.0.1', resolve);
});
const port = server.address().port;
const issuer = `http://127.0.0.1:${port}`;

// ---------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------
const SCOPES = 'openid email profile';

// Interaction cookies expire after ttl.Interaction measured on the (possibly
// shifted) process clock; with a negative clock offset they would be born
// expired, so stretch the TTL by the offset.
const interactionTtl = 60 * 60 + Math.max(0, -clockOffsetSecs);

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'mosaic',
    client_secret: 'mosaic-secret',
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // oidc-provider accepts client_secret_post from a client registered for
    // client_secret_basic as well (both are "client secret" methods).
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingJwk] },
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put the scope-derived claims (email, name, ...) into the ID token even
  // though an access token is issued too (default would be userinfo-only).
  conformIdTokenClaims: false,
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() { return accountClaims(id); },
    };
  },
  // No consent screen: the client is first-party, grant everything it may ask.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    if (!ctx.oidc.session.accountId) return undefined;
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(SCOPES);
    await grant.save();
    return grant;
  },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
  },
  ttl: {
    AccessToken: 60 * 60,
    AuthorizationCode: 60,
    IdToken: 60 * 60,
    Interaction: interactionTtl,
    Session: 14 * 24 * 60 * 60,
    Grant: 14 * 24 * 60 * 60,
  },
  renderError(ctx, out, _error) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><title>oidc error</title><pre id="error">${
      Object.entries(out).map(([k, v]) => `${k}: ${String(v).replace(/[<>&]/g, '')}`).join('\n')
    }</pre>`;
  },
});

// Surface provider-side failures in the test output.
for (const event of ['server_error', 'authorization.error', 'grant.error', 'interaction.error', 'discovery.error', 'jwks.error', 'userinfo.error']) {
  provider.on(event, (...a) => {
    const err = a.find((x) => x instanceof Error);
    if (err) process.stderr.write(`  ${event}: ${err.name} ${err.message}${err.error_description ? ` (${err.error_description})` : ''}\n`);
  });
}

// ---------------------------------------------------------------------------
// Request log (outermost middleware).
// ---------------------------------------------------------------------------
provider.use(async (ctx, next) => {
  try {
    await next();
    process.stderr.write(`${ctx.method} ${ctx.path} ${ctx.status}\n`);
  } catch (err) {
    process.stderr.write(`${ctx.method} ${ctx.path} ${err.status ?? 500}${err.expose ? ` ${err.message}` : ''}\n`);
    throw err;
  }
});

// The devInteractions pages @import a Google web font; tests run offline, so
// drop it rather than have Chromium wait on it.
provider.use(async (ctx, next) => {
  await next();
  if (typeof ctx.body === 'string' && ctx.response.is('html')) {
    ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);/g, '');
  }
});

// ---------------------------------------------------------------------------
// No single sign-on (unless --sso): the provider's `_session` cookie is
// neither accepted nor handed out, so every authorization request shows the
// login form, whatever the browser / cookie jar still holds. (With a kept
// session, logging in as a different account makes oidc-provider insert an
// auto-submitted logout form, which a non-browser client would have to drive.)
// ---------------------------------------------------------------------------
if (!args.sso) {
  const sessionCookie = /^_session(\.sig)?=/;
  provider.use(async (ctx, next) => {
    const cookie = ctx.get('cookie');
    if (cookie) {
      const kept = cookie.split(/;\s*/).filter((c) => !sessionCookie.test(c)).join('; ');
      if (kept) ctx.req.headers.cookie = kept; else delete ctx.req.headers.cookie;
    }
    try {
      await next();
    } finally {
      const set = ctx.response.get('set-cookie');
      if (Array.isArray(set) && set.some((c) => sessionCookie.test(c))) {
        const kept = set.filter((c) => !sessionCookie.test(c));
        if (kept.length) ctx.set('set-cookie', kept); else ctx.remove('set-cookie');
      }
    }
  });
}

// ===========================================================================
// TEST ATTACK HOOKS — not part of the provider setup above.
//
//   POST /__test/tamper {"mode": "none" | "foreign-key" | "replay"}  -> 204
//     applies to the NEXT successful /token response's id_token, then resets.
//   GET  /__test/last-id-token  -> last id_token the provider genuinely issued
// ===========================================================================
const tamper = {
  mode: 'none',
  lastIssued: undefined, // genuine id_token of the latest successful /token
};

async function reSignWithForeignKey(idToken) {
  const header = jose.decodeProtectedHeader(idToken);
  const claims = jose.decodeJwt(idToken);
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: false });
  return new jose.SignJWT(claims).setProtectedHeader({ ...header, alg: 'RS256' }).sign(privateKey);
}

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/tamper') {
    if (ctx.method !== 'POST') ctx.throw(405);
    let body;
    try { body = await readJson(ctx.req); } catch { ctx.throw(400, 'invalid JSON'); }
    const { mode } = body;
    if (!['none', 'foreign-key', 'replay'].includes(mode)) ctx.throw(400, 'mode must be none, foreign-key or replay');
    if (mode === 'replay' && !tamper.lastIssued) ctx.throw(409, 'replay needs a previous successful /token response');
    tamper.mode = mode;
    process.stderr.write(`  tamper mode armed: ${mode}\n`);
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/__test/last-id-token') {
    if (!tamper.lastIssued) ctx.throw(404, 'no id_token issued yet');
    ctx.type = 'text/plain';
    ctx.body = tamper.lastIssued;
    return;
  }

  await next();

  if (ctx.method === 'POST' && ctx.path === '/token' && ctx.status === 200
      && ctx.body && typeof ctx.body === 'object' && typeof ctx.body.id_token === 'string') {
    const genuine = ctx.body.id_token;
    const previous = tamper.lastIssued;
    tamper.lastIssued = genuine;
    const { mode } = tamper;
    tamper.mode = 'none';
    if (mode === 'foreign-key') {
      ctx.body = { ...ctx.body, id_token: await reSignWithForeignKey(genuine) };
      process.stderr.write('  tamper: id_token re-signed with a foreign key\n');
    } else if (mode === 'replay') {
      ctx.body = { ...ctx.body, id_token: previous };
      process.stderr.write('  tamper: id_token replaced by the previous one\n');
    }
  }
});
// ===========================================================================

handler = provider.callback();

function shutdown(signal) {
  process.stderr.write(`provider.mjs: ${signal}, exiting\n`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

process.stderr.write(`provider.mjs: kid ${signingJwk.kid}, client mosaic, redirect_uris ${redirectUris.join(' ')}\n`);
process.stdout.write(`ready ${issuer}\n`);
