// Bytes on the wire for the dashboard, measured from a real Chromium (Debian's), as the benchmark
// reports them: a first visit with an empty cache, then a repeat visit in a new tab of the same
// browser profile. Counts what the network delivered (compressed bodies plus headers, from the
// DevTools protocol's encodedDataLength), grouped by kind; cached responses count 0.
//
//   BASE_URL=http://127.0.0.1:3901 MOSAIC_EMAIL=bench@example.com MOSAIC_PASSWORD=… \
//     node end2end/bench/transfer.mjs /c/<conversation id>
//
// Prints one JSON object: { first: {total, html, css, js, wasm, image, other}, repeat: {...}, requests }.
import { chromium } from "@playwright/test";

const base = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const path = process.argv[2] ?? "/";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
});

function kind(url, mime) {
  if (mime.includes("html")) return "html";
  if (url.endsWith(".css") || mime.includes("css")) return "css";
  if (url.endsWith(".wasm") || mime.includes("wasm")) return "wasm";
  if (url.endsWith(".js") || mime.includes("javascript")) return "js";
  if (mime.startsWith("image/")) return "image";
  return "other";
}

async function visit(context) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const seen = new Map();
  cdp.on("Network.responseReceived", (e) => {
    seen.set(e.requestId, { url: e.response.url, mime: e.response.mimeType ?? "", bytes: 0, status: e.response.status,
      cached: Boolean(e.response.fromDiskCache || e.response.fromMemoryCache || e.response.fromServiceWorker) });
  });
  cdp.on("Network.loadingFinished", (e) => {
    const r = seen.get(e.requestId);
    if (r) r.bytes = r.cached ? 0 : e.encodedDataLength;
  });
  await page.goto(base + path, { waitUntil: "networkidle" });
  // Hydrated: the client has taken over the page (its WebSocket may still be connecting).
  await page.waitForFunction(() => document.querySelector("main") !== null);
  await page.waitForTimeout(300);
  const totals = { total: 0, html: 0, css: 0, js: 0, wasm: 0, image: 0, other: 0 };
  const requests = [];
  for (const r of seen.values()) {
    const k = kind(r.url, r.mime);
    totals[k] += r.bytes;
    totals.total += r.bytes;
    requests.push({ url: r.url.replace(base, ""), kind: k, bytes: r.bytes, cached: r.cached, status: r.status });
  }
  await page.close();
  return { totals, requests };
}

const context = await browser.newContext();
const signIn = await context.request.post(base + "/_fn/sign_in", {
  form: { email: process.env.MOSAIC_EMAIL ?? "bench@example.com", password: process.env.MOSAIC_PASSWORD ?? "benchmark-password" },
  headers: { accept: "application/json" },
});
if (!signIn.ok()) {
  console.error(`sign-in failed: ${signIn.status()} ${await signIn.text()}`);
  process.exit(1);
}
const first = await visit(context);
const repeat = await visit(context);
await browser.close();
console.log(JSON.stringify({ path, first: first.totals, repeat: repeat.totals, requests: { first: first.requests, repeat: repeat.requests } }, null, 1));
