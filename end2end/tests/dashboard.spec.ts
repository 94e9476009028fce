import { test, expect, Page } from "@playwright/test";
import { replyDone, signUp, uniqueEmail, watchErrors } from "./support";

// Each test signs up a fresh user, so the tests do not depend on one another.

test("signed-out visitors are sent to sign in", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});

test("sign up, start a conversation, post, reload: the messages are there (hydrated, in place)", async ({ page }) => {
  const errors = watchErrors(page);
  await signUp(page, "js");
  // A new conversation is a page of its own: the form posts, the server starts the reply and sends
  // the browser there, and the chat panel joins the reply being written.
  await page.getByRole("textbox", { name: "Message" }).fill("Hello from the browser");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Hello from the browser");
  await replyDone(page);
  await expect(page.locator(".message.assistant .content")).toContainText('You said: "Hello from the browser"');
  await expect(page.locator(".message.assistant")).toHaveCount(1);

  // Hydration (the chat panel island): the second message goes over the socket, in place, without
  // a page load, and the saved reply replaces the live one.
  await page.evaluate(() => ((window as any).__noReload = true));
  await page.getByRole("textbox", { name: "Message" }).fill("Second message, in place");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByRole("textbox", { name: "Message" })).toHaveValue("");
  await expect(page.locator(".message.user .content").last()).toHaveText("Second message, in place");
  await replyDone(page);
  await expect(page.locator(".message.assistant")).toHaveCount(2);
  await expect(page.locator(".message.assistant .content").last()).toContainText('You said: "Second message, in place"');
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  await page.reload();
  await expect(page.locator(".message.user .content")).toHaveText(["Hello from the browser", "Second message, in place"]);
  await expect(page.locator(".message.assistant .content")).toHaveCount(2);
  await expect(page.locator(".message.assistant .content").last()).toContainText('You said: "Second message, in place"');
  await expect(page.locator(".conversations a.active")).toHaveText("Hello from the browser");
  await page.screenshot({ path: "test-results/dashboard.png", fullPage: true });
  expect(errors).toEqual([]);
});

test("a reply streams in token by token, can be stopped, and both replies are saved", async ({ page }) => {
  const errors = watchErrors(page);
  await signUp(page, "stream");
  await page.getByLabel("Model").selectOption("demo/standin-slow");
  await page.getByRole("textbox", { name: "Message" }).fill("Stream slowly please");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  const live = page.locator(".message.live .content");
  await expect(page.getByText("generating…")).toBeVisible();
  await expect(live).toContainText("You said");
  const early = (await live.textContent()) ?? "";
  await expect.poll(async () => ((await live.textContent()) ?? "").length).toBeGreaterThan(early.length);
  await page.screenshot({ path: "test-results/streaming.png", fullPage: true });
  await page.getByRole("button", { name: "Stop" }).click();
  await replyDone(page);
  await expect(page.locator(".message.assistant .badge")).toHaveText("stopped");

  await page.getByLabel("Model").selectOption("demo/standin-echo");
  await page.getByRole("textbox", { name: "Message" }).fill("Now the whole thing");
  await page.getByRole("button", { name: "Send" }).click();
  await replyDone(page);
  await page.reload();
  const replies = page.locator(".message.assistant");
  await expect(replies).toHaveCount(2);
  await expect(replies.first().locator(".badge")).toHaveText("stopped");
  await expect(replies.last().locator(".content")).toContainText("watch it arrive.");
  await expect(replies.last().locator(".badge")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("markup in messages and replies is shown as text, never run", async ({ page }) => {
  const errors = watchErrors(page);
  let dialogs = 0;
  page.on("dialog", async (d) => { dialogs++; await d.dismiss(); });
  await signUp(page, "xss");
  const attack = '<img src=x onerror="alert(1)"> **bold** [link](javascript:alert(2))';
  await page.getByRole("textbox", { name: "Message" }).fill(attack);
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  await replyDone(page);
  await page.reload();
  await expect(page.locator(".message.assistant .content")).toContainText("You said");
  expect(await page.locator(".messages img").count()).toBe(0);
  await expect(page.locator(".message.user .content strong")).toHaveText("bold");
  for (const href of await page.locator(".messages a").evaluateAll((as) => as.map((a) => a.getAttribute("href")))) {
    expect(href).not.toMatch(/^javascript:/i);
  }
  expect(dialogs).toBe(0);
  expect(errors).toEqual([]);
});

test("rename, archive and delete a conversation", async ({ page }) => {
  const errors = watchErrors(page);
  await signUp(page, "manage");
  await page.getByRole("textbox", { name: "Message" }).fill("Plan the trip");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Plan the trip");
  await replyDone(page);

  await page.getByText("Rename").click();
  await page.getByLabel("New title").fill("Trip to Lisbon");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Trip to Lisbon");

  await page.getByRole("button", { name: "Archive" }).click();
  await expect(page.getByRole("button", { name: "Unarchive" })).toBeVisible();
  await expect(page.locator(".archived .conversations a")).toHaveText(["Trip to Lisbon"]);

  // Elsewhere the archived section is closed and not read; opening it loads it in place.
  const conversationUrl = page.url();
  await page.goto("/");
  await expect(page.locator(".archived .conversations a")).toHaveCount(0);
  await page.locator("summary", { hasText: "Archived" }).click();
  await expect(page.locator(".archived .conversations a")).toHaveText(["Trip to Lisbon"]);
  await page.goto(conversationUrl);

  await page.locator("summary", { hasText: "Delete" }).click();
  await page.getByRole("button", { name: "Delete for good" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator(".conversations a")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("load more conversations and earlier messages in place", async ({ page }) => {
  const errors = watchErrors(page);
  await signUp(page, "paging");
  let long = "";
  for (let i = 0; i < 55; i++) {
    const res = await page.request.post("/api/conversations", { data: { title: `Topic ${String(i).padStart(2, "0")}` } });
    expect(res.status()).toBe(201);
    if (i === 0) long = (await res.json()).id;
  }
  for (let i = 0; i < 60; i++) {
    const res = await page.request.post(`/api/conversations/${long}/messages`, { data: { content: `Message ${i}` } });
    expect(res.status()).toBe(201);
  }
  await page.goto("/");
  const active = page.locator("nav .recent .conversations a");
  await expect(active).toHaveCount(50);
  await page.evaluate(() => ((window as any).__noReload = true));
  await page.getByRole("link", { name: "Load more" }).first().click();
  await expect(active).toHaveCount(55);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  await page.goto(`/c/${long}`);
  await expect(page.locator(".messages .content")).toHaveCount(50);
  await expect(page.locator(".messages .content").first()).toHaveText("Message 10");
  await page.getByRole("link", { name: "Load earlier messages" }).click();
  await expect(page.locator(".messages .content")).toHaveCount(60);
  await expect(page.locator(".messages .content").first()).toHaveText("Message 0");
  await expect(page.getByRole("link", { name: "Load earlier messages" })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("the settings page lists sessions and revokes another one", async ({ page, browser }) => {
  const email = uniqueEmail("sessions");
  await signUp(page, "sessions", email);
  const other = await browser.newContext();
  const laptop = await other.newPage();
  await laptop.goto("/login");
  await laptop.getByLabel("Email").fill(email);
  await laptop.getByLabel("Password").fill("correct horse battery");
  await laptop.getByRole("button", { name: "Sign in" }).click();
  await expect(laptop.getByRole("heading", { name: "Start a conversation" })).toBeVisible();

  await page.goto("/settings");
  await expect(page.locator("table.sessions tbody tr")).toHaveCount(2);
  await page.getByRole("button", { name: "Revoke" }).click();
  await expect(page.locator("table.sessions tbody tr")).toHaveCount(1);
  await page.screenshot({ path: "test-results/settings.png", fullPage: true });

  await laptop.reload();
  await expect(laptop).toHaveURL(/\/login$/);
  await other.close();
});

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("sign up, post a message, reload: the message is there", async ({ page }) => {
    await signUp(page, "nojs");
    await page.getByRole("textbox", { name: "Message" }).fill("Plain HTML works");
    await page.getByRole("button", { name: "Send" }).click();
    await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
    // The reply is written by the server meanwhile; without JavaScript it shows on the next load.
    await expect.poll(async () => {
      await page.reload();
      return page.locator(".message.assistant:not(:has(.badge))").count();
    }).toBe(1);
    await page.getByRole("textbox", { name: "Message" }).fill("And a second one");
    // The post answers with a redirect back to the conversation (a new page, its composer empty).
    await page.getByRole("button", { name: "Send" }).click();
    await expect(page.getByRole("textbox", { name: "Message" })).toHaveValue("");
    await page.goto(page.url());
    await expect(page.locator(".message.user .content")).toHaveText(["Plain HTML works", "And a second one"]);
  });

  test("a conversation's activity lists its replies' timings, by link and keyboard", async ({ page }) => {
    await signUp(page, "activity");
    await page.getByRole("textbox", { name: "Message" }).fill("Time this reply");
    await page.getByRole("button", { name: "Send" }).click();
    await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
    const conversation = page.url();
    await expect.poll(async () => {
      await page.goto(conversation);
      return page.locator(".message.assistant:not(:has(.badge))").count();
    }).toBe(1);
    const link = page.getByRole("link", { name: "Activity" });
    await link.focus();
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(/\/activity$/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Activity: Time this reply");
    const rows = page.locator(".activity-log tbody tr");
    await expect(rows).toHaveCount(2);
    await expect(rows.nth(0)).toContainText("Asked demo/standin-echo");
    await expect(rows.nth(1)).toContainText("Reply complete");
    await expect(rows.nth(1)).toContainText(/first token \d+ ms/);
    await page.screenshot({ path: "test-results/activity.png", fullPage: true });
    await page.getByRole("link", { name: "← Back to the conversation" }).click();
    await expect(page).toHaveURL(conversation);
  });

  test("a bad sign-in shows one message for wrong email or password", async ({ page, request }) => {
    // An account whose password we then get wrong, made outside this browser.
    const email = `known-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
    const made = await request.post("/_fn/sign_up", { form: { name: "Known", email, password: "the right password" } });
    expect(made.ok()).toBe(true);
    const messages: string[] = [];
    for (const [who, password] of [[email, "the wrong password"], ["nobody@example.com", "any password"]]) {
      await page.goto("/login");
      await page.getByLabel("Email").fill(who);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect(page.getByRole("alert")).toBeVisible();
      messages.push((await page.getByRole("alert").textContent()) ?? "");
    }
    expect(messages, "a wrong password and an unknown email read the same").toEqual([
      "That email and password do not match an account.",
      "That email and password do not match an account.",
    ]);
  });
});
