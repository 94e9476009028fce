// What the browser suites share: a fresh user per test, the page's errors, a finished reply.
import { expect, Page } from "@playwright/test";

/** An email no other test uses. */
export function uniqueEmail(tag: string) {
  return `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** Signs a new user up; the page is then the empty dashboard. */
export async function signUp(page: Page, tag: string, email = uniqueEmail(tag)) {
  await page.goto("/signup");
  await page.getByLabel("Name").fill("E2E " + tag);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Start a conversation" })).toBeVisible();
}

/** Collects the page's uncaught errors and console errors (a test expects none). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  return errors;
}

/** Waits until no reply is being written (the Send button is back). */
export async function replyDone(page: Page) {
  await expect(page.locator(".message.live")).toHaveCount(0, { timeout: 15_000 });
  await expect(page.getByRole("button", { name: "Send" })).toBeVisible();
}

/** Ctrl+K until the search box has focus: the shortcut is the page's script, which may still be
 *  loading when the page shows (a key pressed before it is lost, as in any app). Fails if it never
 *  takes focus. */
export async function focusSearch(page: Page) {
  const box = page.getByRole("searchbox", { name: "Search conversations" });
  await expect(async () => {
    await page.keyboard.press("Control+k");
    await expect(box).toBeFocused({ timeout: 250 });
  }).toPass({ timeout: 10_000 });
}
