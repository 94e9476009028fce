import { test, expect, Page } from "@playwright/test";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";

// The built site: no source maps; hashed, precompressed, immutable assets; images as <picture>
// offering AVIF with their size set; avatars uploaded, re-encoded and refused when they are bombs.
const site = path.resolve(__dirname, "../../target/site");

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : [p];
  });
}

async function signUp(page: Page, tag: string) {
  await page.goto("/signup");
  await page.getByLabel("Name").fill("Assets " + tag);
  await page.getByLabel("Email").fill(`${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Start a conversation" })).toBeVisible();
}

test("the release site ships no source maps", async ({ request }) => {
  const built = files(site);
  const pkg = built.filter((f) => f.includes(`${path.sep}pkg${path.sep}`) && !/\.(br|gz)$/.test(f));
  expect(pkg.some((f) => /mosaic\.[\w-]{10,}\.wasm$/.test(f)), "the site was built with hashed names").toBe(true);
  expect(built.filter((f) => /\.map(\.br|\.gz)?$/.test(f))).toEqual([]);
  for (const f of built.filter((f) => /\.(js|css)$/.test(f))) {
    expect(fs.readFileSync(f, "utf8"), f).not.toContain("sourceMappingURL");
  }
  for (const f of pkg.filter((f) => /\.(js|css)$/.test(f))) {
    const asset = "/pkg/" + path.basename(f);
    const res = await request.get(asset);
    expect(res.status(), asset).toBe(200);
    expect(res.headers()["sourcemap"]).toBeUndefined();
    expect(res.headers()["x-sourcemap"]).toBeUndefined();
    expect(await res.text()).not.toContain("sourceMappingURL");
    expect((await request.get(asset + ".map")).status()).toBe(404);
  }
});

test("assets are hashed, precompressed and cached forever; a repeat visit fetches none of them", async ({ page, context }) => {
  // Watched from the first page of a fresh browser context, so the first fetch of every asset is
  // seen (and checked) however the pages share them.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const seen: { url: string; cached: boolean; encoding?: string; cacheControl?: string }[] = [];
  cdp.on("Network.responseReceived", (e: any) => {
    const h = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    seen.push({ url: e.response.url, cached: Boolean(e.response.fromDiskCache || e.response.fromMemoryCache),
      encoding: h["content-encoding"], cacheControl: h["cache-control"] });
  });
  await signUp(page, "cache");
  await page.goto("/", { waitUntil: "networkidle" });
  const assets = seen.filter((r) => /\/(pkg|img)\//.test(r.url) && !r.cached);
  const kinds = new Set(assets.map((r) => r.url.split(".").pop()));
  expect([...kinds].sort(), "the CSS, the JS, the wasm and images were fetched and checked").toEqual(
    expect.arrayContaining(["css", "js", "wasm"]));
  for (const r of assets) {
    expect(r.cacheControl, r.url).toBe("public, max-age=31536000, immutable");
    expect(r.url, "content-hashed name").toMatch(/\.[\w-]{10,}\.(css|js|wasm|avif|webp|svg)$/);
    if (/\.(css|js|wasm)$/.test(r.url)) expect(r.encoding, r.url).toBe("br");
  }
  const html = seen.find((r) => new URL(r.url).pathname === "/");
  expect(html?.cacheControl, "a signed-in page carries personal data").toBe("no-store");
  expect(["br", "zstd", "gzip"], "the page is compressed on the fly").toContain(html?.encoding);

  seen.length = 0;
  const again = await context.newPage();
  const cdp2 = await context.newCDPSession(again);
  await cdp2.send("Network.enable");
  cdp2.on("Network.responseReceived", (e: any) => seen.push({ url: e.response.url, cached: Boolean(e.response.fromDiskCache || e.response.fromMemoryCache) }));
  await again.goto("/", { waitUntil: "networkidle" });
  const fetched = seen.filter((r) => /\/(pkg|img)\//.test(r.url) && !r.cached).map((r) => r.url);
  expect(fetched, "a repeat visit takes hashed assets from the cache").toEqual([]);
  expect(seen.some((r) => /\/pkg\/.*\.wasm$/.test(r.url)), "the wasm was requested (from cache)").toBe(true);
});

test("images are <picture> elements that pick AVIF and reserve their space", async ({ page }) => {
  await signUp(page, "pictures");
  for (const img of await page.locator("img").all()) {
    expect(await img.getAttribute("width")).toMatch(/^\d+$/);
    expect(await img.getAttribute("height")).toMatch(/^\d+$/);
  }
  const logo = page.locator(".sidebar-head .brand img");
  await expect(logo).toBeVisible();
  await expect.poll(() => logo.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBeGreaterThan(0);
  expect(await logo.evaluate((i: HTMLImageElement) => i.currentSrc)).toMatch(/\/img\/logo-(28|56)\.[0-9a-f]{12}\.avif$/);
  const welcome = page.locator(".welcome .illustration img");
  await expect.poll(() => welcome.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBeGreaterThan(0);
  expect(await welcome.evaluate((i: HTMLImageElement) => i.currentSrc)).toMatch(/\.avif$/);
  const box = await welcome.boundingBox();
  expect(Math.round(box!.width / box!.height * 100) / 100).toBeCloseTo(1.6, 1);
});

/** A 1-bit PNG declaring `side` × `side` pixels, all zero: kilobytes that decode to gigabytes. */
function bombPng(side: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0); ihdr.writeUInt32BE(side, 4); ihdr[8] = 1; ihdr[9] = 0;
  const rows = Buffer.alloc((1 + Math.ceil(side / 8)) * side);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(rows, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

test("an avatar upload is re-encoded and shown; a decompression bomb is refused with a clear message", async ({ page }) => {
  await signUp(page, "avatar");
  await page.goto("/settings");
  const original = fs.readFileSync(path.resolve(__dirname, "../../public/images/logo.png"));
  await page.getByLabel("New avatar").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: original });
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page).toHaveURL(/\/settings$/);
  const avatar = page.locator(".avatar-row img");
  await expect(avatar).toBeVisible();
  await expect.poll(() => avatar.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBeGreaterThan(0);
  const src = await avatar.evaluate((i: HTMLImageElement) => i.currentSrc);
  expect(src).toMatch(/\/media\/avatars\/[0-9a-f]{64}-(64|128)\.avif$/);
  const served = await page.request.get(src);
  expect(served.headers()["cache-control"]).toContain("immutable");
  expect(Buffer.compare(await served.body(), original)).not.toBe(0);
  await page.screenshot({ path: "test-results/settings-avatar.png", fullPage: true });

  await page.getByLabel("New avatar").setInputFiles({ name: "bomb.png", mimeType: "image/png", buffer: bombPng(20000) });
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByRole("alert")).toContainText("20000 × 20000 pixels");
  expect(await avatar.evaluate((i: HTMLImageElement) => i.currentSrc)).toBe(src);
  await page.getByRole("button", { name: "Remove avatar" }).click();
  await expect(page.locator(".avatar-row img")).toHaveCount(0);
});
