import { test, expect } from "@playwright/test";
import * as fs from "fs";
import * as path from "path";

// The release build ships no source maps: no .map files in the built site, no sourceMappingURL in
// what it serves, and no .map URL answers.
const site = path.resolve(__dirname, "../../target/site");

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : [p];
  });
}

test("the release site ships no source maps", async ({ request }) => {
  const built = files(site);
  expect(built.some((f) => f.endsWith("mosaic.wasm")), "the site was built").toBe(true);
  expect(built.filter((f) => f.endsWith(".map"))).toEqual([]);
  for (const f of built.filter((f) => /\.(js|css)$/.test(f))) {
    expect(fs.readFileSync(f, "utf8"), f).not.toContain("sourceMappingURL");
  }
  for (const asset of ["/pkg/mosaic.js", "/pkg/mosaic.css"]) {
    const res = await request.get(asset);
    expect(res.status()).toBe(200);
    expect(res.headers()["sourcemap"]).toBeUndefined();
    expect(res.headers()["x-sourcemap"]).toBeUndefined();
    expect(await res.text()).not.toContain("sourceMappingURL");
  }
  expect((await request.get("/pkg/mosaic.js.map")).status()).toBe(404);
  expect((await request.get("/pkg/mosaic.wasm.map")).status()).toBe(404);
});
