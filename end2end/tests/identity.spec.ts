import { test, expect, Page, Browser } from "@playwright/test";

// Sign-in through a real OpenID provider (end2end/oidc, started by tools/mosaic e2e as "Test SSO"),
// the admin area and the account's own credentials, with JavaScript on and off.

function unique(tag: string) {
  return `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
}

/** Clicks "Sign in with Test SSO" and signs in at the provider as `login`. */
async function ssoSignIn(page: Page, login: string) {
  await page.goto("/login");
  await page.getByRole("link", { name: "Sign in with Test SSO" }).click();
  await page.locator("input[name=login]").fill(login);
  await page.locator("input[name=password]").fill("anything");
  await page.locator("button[type=submit]").click();
  await expect(page.getByRole("heading", { name: "Start a conversation" })).toBeVisible();
}

async function signUp(page: Page, email: string) {
  await page.goto("/signup");
  await page.getByLabel("Name").fill("Member " + email.split("@")[0]);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Start a conversation" })).toBeVisible();
}

async function noJs(browser: Browser) {
  const context = await browser.newContext({ javaScriptEnabled: false });
  return { context, page: await context.newPage() };
}

test("sign in through the OpenID provider, and again: the same account", async ({ page }) => {
  const login = unique("sso");
  await page.goto("/login");
  await page.screenshot({ path: "test-results/sign-in-with-sso.png", fullPage: true });
  await ssoSignIn(page, login);
  await expect(page.locator(".sidebar-foot .who")).toContainText(login.charAt(0).toUpperCase() + login.slice(1));
  await page.screenshot({ path: "test-results/sso-signed-in.png", fullPage: true });
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByText(`${login}@example.com`)).toBeVisible();
  // No password to change on a provider account; sign out and in again.
  await expect(page.getByRole("heading", { name: "Password" })).toHaveCount(0);
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
  await ssoSignIn(page, login);
});

test("sign in through the OpenID provider without JavaScript", async ({ browser }) => {
  const { context, page } = await noJs(browser);
  await ssoSignIn(page, unique("sso-nojs"));
  await context.close();
});

test("an unreachable sign-in is explained on the sign-in page", async ({ page }) => {
  await page.goto("/auth/oidc/test/callback?state=forged&code=forged");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("alert")).toContainText("expired, was already used, or was started in another browser");
});

test("an admin manages users, preferences and jobs by keyboard without JavaScript", async ({ browser }) => {
  const member = `${unique("member")}@example.com`;
  {
    const { context, page } = await noJs(browser);
    await signUp(page, member);
    await context.close();
  }
  const { context, page } = await noJs(browser);
  await ssoSignIn(page, "e2e-boss");
  await page.getByRole("link", { name: "Admin" }).click();
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();

  // Search, then ban with a reason using the keyboard only.
  await page.getByRole("searchbox", { name: "Search by email or name" }).fill(member);
  await page.keyboard.press("Enter");
  await expect(page.locator("table.admin-users tbody tr")).toHaveCount(1);
  await page.getByRole("textbox", { name: /Reason to ban/ }).focus();
  await page.keyboard.type("spam links");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: /^Ban / })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/admin$/);
  await page.getByRole("searchbox", { name: "Search by email or name" }).fill(member);
  await page.keyboard.press("Enter");
  await expect(page.locator("table.admin-users tbody tr")).toContainText("Banned: spam links");
  await page.screenshot({ path: "test-results/admin-users.png", fullPage: true });
  await page.getByRole("button", { name: /^Unban / }).click();

  // Enforce a preference.
  await page.getByRole("link", { name: "Preferences" }).click();
  await page.getByLabel("Key").fill("ui.density");
  await page.getByLabel("Value (JSON)").fill('"compact"');
  await page.getByLabel("Enforce it (users cannot change it)").check();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("table").first()).toContainText("ui.density");
  await expect(page.locator("table").first()).toContainText("Enforced");
  // A value that is not JSON is explained and changes nothing.
  await page.getByLabel("Key").fill("theme");
  await page.getByLabel("Value (JSON)").fill("dark");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert")).toContainText("must be JSON");

  // Start a job by hand.
  await page.getByRole("link", { name: "Jobs" }).click();
  await page.getByRole("button", { name: "Run session-sweep now" }).click();
  await expect(page).toHaveURL(/\/admin\/jobs$/);
  await page.reload();
  await expect(page.locator("section", { hasText: "session-sweep" }).first()).toContainText(/succeeded|running/);
  await page.screenshot({ path: "test-results/admin-jobs.png", fullPage: true });

  // The audit trail has all of it.
  await page.getByRole("link", { name: "Audit trail" }).click();
  for (const action of ["user.ban", "user.unban", "preference.set", "job.run"]) {
    await expect(page.locator("table.audit")).toContainText(action);
  }
  await page.screenshot({ path: "test-results/admin-audit.png", fullPage: true });
  await context.close();

  // The member sees the enforced key locked, and makes a token whose secret is shown once.
  const { context: mctx, page: mpage } = await noJs(browser);
  await mpage.goto("/login");
  await mpage.getByLabel("Email").fill(member);
  await mpage.getByLabel("Password").fill("correct horse battery");
  await mpage.getByRole("button", { name: "Sign in" }).click();
  await mpage.goto("/settings");
  await expect(mpage.locator("table.preferences tr", { hasText: "ui.density" })).toContainText("set by your administrator");
  await expect(mpage.locator("table.preferences tr", { hasText: "ui.density" })).toContainText('"compact"');
  await mpage.getByLabel("Name", { exact: true }).fill("laptop script");
  await mpage.getByRole("button", { name: "Create token" }).click();
  await expect(mpage.getByRole("textbox", { name: "The new token" })).toHaveValue(/^mosaic_/);
  await mpage.screenshot({ path: "test-results/settings-token.png", fullPage: true });
  await mpage.reload();
  await expect(mpage.getByRole("textbox", { name: "The new token" })).toHaveCount(0);
  await expect(mpage.locator("table.tokens")).toContainText("laptop script");
  // And the member finds no admin area.
  const res = await mpage.goto("/admin");
  expect(res?.status()).toBe(404);
  await mctx.close();
});
