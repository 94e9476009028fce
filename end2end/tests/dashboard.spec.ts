import { test, expect, Page } from "@playwright/test";

// Each test signs up a fresh user, so the tests do not depend on one another.
function uniqueEmail(tag: string) {
  return `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

async function signUp(page: Page, tag: string) {
  await page.goto("/signup");
  await page.getByLabel("Name").fill("E2E " + tag);
  await page.getByLabel("Email").fill(uniqueEmail(tag));
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Start a conversation" })).toBeVisible();
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  return errors;
}

test("signed-out visitors are sent to sign in", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});

test("sign up, start a conversation, post, reload: the message is there (hydrated, in place)", async ({ page }) => {
  const errors = watchErrors(page);
  await signUp(page, "js");
  await page.getByRole("textbox", { name: "Message" }).fill("Hello from the browser");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Hello from the browser");

  // Hydration: a second message is posted in place, without a page load (the marker survives).
  await page.evaluate(() => ((window as any).__noReload = true));
  await page.getByRole("textbox", { name: "Message" }).fill("Second message, in place");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.locator(".messages .content").last()).toHaveText("Second message, in place");
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  await expect(page.getByRole("textbox", { name: "Message" })).toHaveValue("");

  await page.reload();
  await expect(page.locator(".messages .content")).toHaveText(["Hello from the browser", "Second message, in place"]);
  await expect(page.locator(".conversations a.active")).toHaveText("Hello from the browser");
  await page.screenshot({ path: "test-results/dashboard.png", fullPage: true });
  expect(errors).toEqual([]);
});

test("rename, archive and delete a conversation", async ({ page }) => {
  const errors = watchErrors(page);
  await signUp(page, "manage");
  await page.getByRole("textbox", { name: "Message" }).fill("Plan the trip");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Plan the trip");

  await page.getByText("Rename").click();
  await page.getByLabel("New title").fill("Trip to Lisbon");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Trip to Lisbon");

  await page.getByRole("button", { name: "Archive" }).click();
  await expect(page.getByRole("button", { name: "Unarchive" })).toBeVisible();
  await expect(page.locator(".archived .conversations a")).toHaveText(["Trip to Lisbon"]);

  await page.locator("summary", { hasText: "Delete" }).click();
  await page.getByRole("button", { name: "Delete for good" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator(".conversations a")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("sign up, post a message, reload: the message is there", async ({ page }) => {
    await signUp(page, "nojs");
    await page.getByRole("textbox", { name: "Message" }).fill("Plain HTML works");
    await page.getByRole("button", { name: "Send" }).click();
    await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
    await page.getByRole("textbox", { name: "Message" }).fill("And a second one");
    await page.getByRole("button", { name: "Send" }).click();
    await page.reload();
    await expect(page.locator(".messages .content")).toHaveText(["Plain HTML works", "And a second one"]);
  });

  test("a bad sign-in shows one message for wrong email or password", async ({ page }) => {
    await page.goto("/login");
    await page.getByLabel("Email").fill("nobody@example.com");
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText("That email and password do not match an account.");
  });
});
