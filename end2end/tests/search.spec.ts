import { test, expect } from "@playwright/test";
import { focusSearch, replyDone, signUp, watchErrors } from "./support";
import * as path from "path";

test("import a ChatGPT export, find a word from it as you type, open the result at its message", async ({ page }) => {
  const errors = watchErrors(page);
  await signUp(page, "import");
  await page.goto("/settings");
  await page.getByLabel(/Import conversations from/).setInputFiles(path.join(__dirname, "../fixtures/chatgpt-conversations.json"));
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await expect(page).toHaveURL(/\/imports\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("status").filter({ hasText: "Imported 2 conversations" })).toBeVisible({ timeout: 15_000 });
  await page.screenshot({ path: "test-results/import-done.png", fullPage: true });
  await page.getByRole("link", { name: "Open your conversations" }).click();

  // The imported conversations sit in the sidebar by their own dates; Ctrl+K goes to search.
  await expect(page.locator(".conversations a", { hasText: "Australian animals" })).toBeVisible();
  await focusSearch(page);
  await page.keyboard.type("quokk");
  const live = page.locator("#search-live .search-results li");
  await expect(live).toHaveCount(1);
  await expect(live.locator("mark").first()).toHaveText(/quokka/i);
  await expect(live.locator(".result-title")).toHaveText("Australian animals");
  await page.screenshot({ path: "test-results/search-live.png", fullPage: true });
  await live.locator("a").click();
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}\?at=[0-9a-f-]{36}#m-[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Australian animals");
  const target = page.locator(".message:target");
  await expect(target).toContainText("Rottnest Island");
  await expect(target).toBeInViewport();
  await page.screenshot({ path: "test-results/search-opened.png", fullPage: true });

  // Enter in the box opens the full results page.
  await focusSearch(page);
  await page.keyboard.type("sourdough");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/search\?q=sourdough/);
  await expect(page.locator("main .search-results li")).toHaveCount(1);
  await expect(page.locator("main .search-results .badge")).toHaveText("archived");
  expect(errors).toEqual([]);
});

test("the keyboard: Enter sends, Shift+Enter is a new line, Escape stops, ? lists the shortcuts", async ({ page }) => {
  const errors = watchErrors(page);
  await signUp(page, "keys");
  // The keys below are the page's script's (one window listener): wait until it listens.
  await focusSearch(page);
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill("first line");
  await box.press("Shift+Enter");
  await box.type("second line");
  await expect(box).toHaveValue("first line\nsecond line");
  await box.press("Enter");
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  await expect(page.locator(".message.user .content").first()).toContainText("second line");
  await replyDone(page);

  // Escape stops a reply being written.
  await page.getByLabel("Model").selectOption("demo/standin-slow");
  await box.fill("stream slowly");
  await box.press("Enter");
  await expect(page.getByText("generating…")).toBeVisible();
  // Without the page's script (a send without it loads the page anew) the key is lost: press it
  // until the reply stops, well within the 4 s the slow model takes to finish on its own.
  await expect(async () => {
    await page.keyboard.press("Escape");
    await expect(page.locator(".message.live")).toHaveCount(0, { timeout: 300 });
  }).toPass({ timeout: 3_000, intervals: [100] });
  await replyDone(page);
  await expect(page.locator(".message.assistant .badge").last()).toHaveText("stopped");

  // ? (outside a text box) opens the list; Escape closes it.
  await page.locator("main h1").click();
  await page.keyboard.press("Shift+?");
  const dialog = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(dialog).toBeVisible();
  await page.screenshot({ path: "test-results/shortcuts.png" });
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();

  // Turned off in settings: Enter makes a new line, Ctrl+Enter sends.
  await page.goto("/settings");
  await page.getByLabel(/Enter sends the message/).uncheck();
  await page.getByRole("button", { name: "Save" }).first().click();
  await page.goto("/");
  await focusSearch(page);
  await box.fill("one");
  await box.press("Enter");
  await box.type("two");
  await expect(box).toHaveValue("one\ntwo");
  await box.press("Control+Enter");
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  expect(errors).toEqual([]);
});
