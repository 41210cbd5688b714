import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { Browser, Page } from 'playwright-core';
import PostalMime from 'postal-mime';

import { loadSettings } from '../../src/config/settings.js';
import { buildRecipientDigest } from '../../src/digests/digest-content.js';
import { createGraphCredential } from '../../src/graph/graph-credential.js';
import { GraphClient } from '../../src/graph/graph-client.js';
import { getQuarantineRuntime } from '../../src/quarantine/quarantine-runtime.js';
import { toOutgoingMime } from '../../src/shared/outgoing-mime.js';
import { startLoopHarness, type LoopHarness } from '../e2e/loop-harness.js';
import { finding, newItem, uniqueAddress } from '../quarantine/quarantine-test-support.js';
import {
  ARTIFACTS_FOLDER,
  findChromium,
  launchChromium,
  NO_CHROMIUM_MESSAGE,
  startCountingServer,
  type CountingServer,
} from './browser-support.js';

const chromiumPath = findChromium();
const HIDDEN_FOLDER = 'mailsweep quarantine';
const USER_TOKEN = randomBytes(24).toString('hex');
const userAddress = uniqueAddress('webuser');
const otherAddress = uniqueAddress('webother');
const tag = randomBytes(4).toString('hex');

function mime(subject: string, body: string, extraHeaders: string[] = []): Buffer {
  return Buffer.from(
    [
      `Message-ID: <${randomBytes(8).toString('hex')}@fabrikam.com>`,
      'From: sender@fabrikam.com',
      `To: ${userAddress}`,
      `Subject: ${subject}`,
      ...extraHeaders,
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
      '',
    ].join('\r\n'),
  );
}

/** Builds a phishing mail whose HTML runs a script and loads a remote image from `imageHost`. */
function phishingMime(imageHost: string): Buffer {
  const boundary = `b${tag}`;
  const html =
    '<html><body><p>Verify your account now</p>' +
    `<script>window.__pwned = true; fetch('${imageHost}/script-ran');</script>` +
    `<img src="${imageHost}/pixel.gif" alt="">` +
    `<form action="${imageHost}/steal"><input name="password"></form></body></html>`;
  return Buffer.from(
    [
      `Message-ID: <phish-${tag}@fabrikam.com>`,
      'From: it-support@fabrikam.com',
      `To: ${userAddress}`,
      `Subject: Verify your mailbox ${tag}`,
      'Authentication-Results: mx.contoso.com; spf=fail smtp.mailfrom=fabrikam.com; dkim=none; dmarc=fail header.from=fabrikam.com',
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/html; charset=utf-8',
      '',
      html,
      `--${boundary}`,
      'Content-Type: application/pdf; name="invoice.pdf"',
      'Content-Disposition: attachment; filename="invoice.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.concat([Buffer.from('MZ'), Buffer.alloc(256)]).toString('base64'),
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}

describe('web interface in Chromium', { skip: chromiumPath === undefined ? NO_CHROMIUM_MESSAGE : false }, () => {
  let harness: LoopHarness;
  let browser: Browser;
  let imageHost: CountingServer;
  const ids = { spam: '', phishing: '', other: '' };
  let inboxId = '';

  before(async () => {
    imageHost = await startCountingServer();
    harness = await startLoopHarness({
      env: {
        MAILSWEEP_LOCAL_USER_TOKEN: USER_TOKEN,
        MAILSWEEP_LOCAL_USER_ADDRESS: userAddress,
        MAILSWEEP_QUARANTINE_CONTAINER: `webui-${tag}`,
      },
    });
    const mailbox = harness.sim.addMailbox(userAddress);
    inboxId = [...mailbox.folders.values()].find((folder) => folder.wellKnownName === 'inbox')?.id ?? '';
    harness.sim.addMailbox(otherAddress);
    const hiddenId = await hiddenFolderOf(harness, userAddress);

    const { store } = await getQuarantineRuntime();
    const spamRaw = mime(`Cheap watches ${tag}`, 'Buy now, limited offer.', [
      'Authentication-Results: mx.contoso.com; spf=pass smtp.mailfrom=fabrikam.com',
    ]);
    const receivedAt = new Date(Date.now() - 60_000);
    const spamMessageId = `<spam-${tag}@fabrikam.com>`;
    harness.sim.deliverMessage(userAddress, {
      mime: spamRaw,
      folder: hiddenId,
      receivedAt,
      internetMessageId: spamMessageId,
    });
    ids.spam = (
      await store.put(
        spamRaw,
        newItem(userAddress, {
          subject: `Cheap watches ${tag}`,
          folder: inboxId,
          internetMessageId: spamMessageId,
          receivedAt: receivedAt.toISOString(),
        }),
      )
    ).id;
    ids.phishing = (
      await store.put(
        phishingMime(imageHost.url),
        newItem(userAddress, {
          subject: `Verify your mailbox ${tag}`,
          sender: 'it-support@fabrikam.com',
          verdict: {
            category: 'phishing',
            action: 'quarantine',
            findings: [
              { ...finding('phishing', 'Phish.CredentialForm'), stage: 'antiphishing', engine: 'embedded-phishing' },
              finding('malware', 'Exe.DisguisedAsPdf', '2'),
            ],
            durationMs: 3,
          },
        }),
      )
    ).id;
    ids.other = (
      await store.put(
        mime(`Other user's invoice ${tag}`, 'Not yours.'),
        newItem(otherAddress, {
          subject: `Other user's invoice ${tag}`,
          verdict: { category: 'malware', action: 'quarantine', findings: [finding('malware', 'Eicar-Test-Signature')], durationMs: 1 },
        }),
      )
    ).id;
    browser = await launchChromium(chromiumPath ?? '');
  });

  after(async () => {
    await browser?.close();
    await harness?.close();
    await imageHost?.close();
  });

  async function signIn(token: string, width = 1280): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.goto(`${harness.host.url}/api/ui/`);
    await page.getByLabel('Local token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#list-view').waitFor({ state: 'visible' });
    return page;
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(ARTIFACTS_FOLDER, `${name}.png`), fullPage: true });

  it('serves the page with a strict CSP', async () => {
    const response = await fetch(`${harness.host.url}/api/ui/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  });

  it('lists and filters as the administrator', async () => {
    const page = await signIn(harness.adminToken);
    await page.getByLabel('Recipient').fill(userAddress);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.locator('#items tbody tr');
    await rows.filter({ hasText: `Verify your mailbox ${tag}` }).waitFor();
    // The unfiltered first page may still be on screen for a moment; wait for the filtered one.
    await page
      .waitForFunction("document.querySelectorAll('#items tbody tr').length === 2", undefined, { timeout: 10_000 })
      .catch(() => undefined);
    assert.equal(await rows.count(), 2);
    assert.match(await page.locator('#who').textContent() ?? '', /administrator/);

    await page.getByLabel('Category', { exact: true }).selectOption('phishing');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('#items tbody tr').filter({ hasText: 'Cheap watches' }).waitFor({ state: 'detached' });
    assert.equal(await rows.count(), 1);
    await page.locator('#counts button').first().waitFor();
    assert.match((await page.locator('#counts').textContent()) ?? '', /phishing: \d+/);
    await shot(page, 'admin-list-filtered');

    await page.getByRole('button', { name: 'Audit log' }).click();
    await page.locator('#audit tbody tr').first().waitFor();
    assert.ok((await page.locator('#audit tbody tr').count()) > 0);
    await page.getByRole('button', { name: 'Release requests' }).click();
    await page.locator('#requests-view').waitFor({ state: 'visible' });
    await shot(page, 'admin-release-requests');
    await page.close();
  });

  it('shows findings, true types and authentication results', async () => {
    const page = await signIn(harness.adminToken);
    await page.goto(`${harness.host.url}/api/ui/?item=${ids.phishing}`);
    await page.locator('#item-view').waitFor({ state: 'visible' });
    assert.match((await page.locator('#findings').textContent()) ?? '', /Phish\.CredentialForm/);
    assert.match((await page.locator('#auth-results').textContent()) ?? '', /dmarc=fail/);
    const attachments = (await page.locator('#attachments').textContent()) ?? '';
    assert.match(attachments, /invoice\.pdf/);
    assert.match(attachments, /application\/x-msdownload/);
    await shot(page, 'admin-item-phishing');
    await page.close();
  });

  it('neither runs the script nor loads the image of a phishing mail', async () => {
    const page = await signIn(USER_TOKEN);
    const foreign: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(harness.host.url)) foreign.push(request.url());
    });
    await page.getByRole('button', { name: `Verify your mailbox ${tag}` }).click();
    await page.locator('#item-view').waitFor({ state: 'visible' });
    assert.match((await page.locator('#item-body').textContent()) ?? '', /Verify your account now/);
    assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined');
    assert.equal(await page.locator('iframe, img, form[action]').count(), 0);
    await page.waitForLoadState('networkidle');
    assert.deepEqual(foreign, []);
    assert.deepEqual(imageHost.requests, []);
    await shot(page, 'user-item-phishing');
    await page.close();
  });

  it('releases spam as its user', async () => {
    const page = await signIn(USER_TOKEN);
    const rows = page.locator('#items tbody tr');
    await rows.first().waitFor();
    const listed = (await page.locator('#items tbody').textContent()) ?? '';
    assert.ok(!listed.includes("Other user's invoice"), 'the other user\'s item is listed');
    await page.getByRole('button', { name: `Cheap watches ${tag}` }).click();
    await page.locator('#item-view').waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Release to mailbox' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await page.locator('#status').filter({ hasText: 'released to its mailbox' }).waitFor();
    assert.match((await page.locator('#item-facts').textContent()) ?? '', /released/);
    const inInbox = [...harness.sim.mailbox(userAddress).messages.values()].filter(
      (message) => message.internetMessageId === `<spam-${tag}@fabrikam.com>` && message.folderId === inboxId,
    );
    assert.equal(inInbox.length, 1);
    await shot(page, 'user-released');
    await page.close();
  });

  it('offers no release of phishing to its user', async () => {
    const page = await signIn(USER_TOKEN);
    await page.goto(`${harness.host.url}/api/ui/?item=${ids.phishing}`);
    await page.locator('#item-view').waitFor({ state: 'visible' });
    assert.equal(await page.getByRole('button', { name: 'Release to mailbox' }).isVisible(), false);
    await page.close();
  });

  it('requests a release where the server allows it', async (t) => {
    const response = await fetch(`${harness.host.url}/api/quarantine/items/${ids.phishing}`, {
      headers: { authorization: `Bearer ${USER_TOKEN}` },
    });
    const { item } = (await response.json()) as { item: { allowedActions?: string[] } };
    if (!item.allowedActions?.includes('request-release')) {
      t.skip('this server lists no request-release action, so release requests are not served');
      return;
    }
    const page = await signIn(USER_TOKEN);
    await page.goto(`${harness.host.url}/api/ui/?item=${ids.phishing}`);
    await page.getByRole('button', { name: 'Request release' }).click();
    await page.getByLabel('Note for the administrator (optional)').fill('I expected this mail');
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await page.locator('#status').filter({ hasText: 'release request was sent' }).waitFor();
    await shot(page, 'user-requested-release');
    await page.close();
  });

  it('downloads the original message as the administrator, never as its user', async () => {
    // Users may not download phishing or malware (src/quarantine/quarantine-policy.ts).
    const userPage = await signIn(USER_TOKEN);
    await userPage.goto(`${harness.host.url}/api/ui/?item=${ids.phishing}`);
    await userPage.locator('#item-view').waitFor({ state: 'visible' });
    assert.equal(await userPage.getByRole('button', { name: 'Download .eml' }).count(), 0);
    await userPage.close();

    const page = await signIn(harness.adminToken);
    await page.goto(`${harness.host.url}/api/ui/?item=${ids.phishing}`);
    await page.locator('#item-view').waitFor({ state: 'visible' });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download .eml' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `${ids.phishing}.eml`);
    const path = await download.path();
    const { store } = await getQuarantineRuntime();
    assert.deepEqual(await readFile(path), await store.getContent(ids.phishing));
    await page.close();
  });

  it('deletes selected items in bulk as the administrator', async () => {
    const bulkAddress = uniqueAddress('webbulk');
    const { store } = await getQuarantineRuntime();
    const bulkIds = [];
    for (const index of [1, 2]) {
      const raw = mime(`Bulk item ${index} ${tag}`, `Body ${index}`);
      bulkIds.push((await store.put(raw, newItem(bulkAddress, { subject: `Bulk item ${index} ${tag}` }))).id);
    }
    const page = await signIn(harness.adminToken);
    await page.getByLabel('Mailbox', { exact: true }).fill(bulkAddress);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('#items tbody tr').filter({ hasText: 'Bulk item 2' }).waitFor();
    await page.getByLabel('Select all on this page').check();
    assert.equal(await page.locator('#selected-count').textContent(), '2 selected');
    await page.getByRole('button', { name: 'Delete selected' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await page.locator('#status').filter({ hasText: '2 done, 0 failed' }).waitFor();
    assert.equal(await page.locator('#items tbody tr').count(), 0);
    for (const id of bulkIds) {
      await assert.rejects(store.getMetadata(id));
    }
    await page.close();
  });

  it('hides another user\'s item from a user', async () => {
    const page = await signIn(USER_TOKEN);
    await page.goto(`${harness.host.url}/api/ui/?item=${ids.other}`);
    await page.locator('#alert').filter({ hasText: 'not found' }).waitFor();
    assert.equal(await page.locator('#item-view').isVisible(), false);
    assert.ok(!((await page.content()).includes("Other user's invoice")));
    await shot(page, 'user-other-item');
    await page.close();
  });

  it('fits a 360 px wide screen', async () => {
    const page = await signIn(USER_TOKEN, 360);
    await page.locator('#items tbody tr').first().waitFor();
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
    await shot(page, 'user-list-360px');
    await page.close();
  });

  it('signs in with the keyboard alone', async () => {
    const page = await browser.newPage();
    await page.goto(`${harness.host.url}/api/ui/`);
    await page.locator('#token').waitFor({ state: 'visible' });
    assert.equal(await page.evaluate('document.activeElement.id'), 'token');
    await page.keyboard.type(USER_TOKEN);
    await page.keyboard.press('Enter');
    await page.locator('#list-view').waitFor({ state: 'visible' });
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.tagName'), 'A');
    await page.close();
  });

  it('shows control characters in message text as markers', async () => {
    const { store } = await getQuarantineRuntime();
    const disguised = 'invoice\u202Egpj.exe';
    const raw = mime(`Invoice ${tag}`, 'See the attached invoice.\u202E', [
      'MIME-Version: 1.0',
    ]);
    const withAttachment = Buffer.from(
      raw
        .toString('utf8')
        .replace('Content-Type: text/plain; charset=utf-8', `Content-Type: multipart/mixed; boundary="d${tag}"`)
        .replace(
          'See the attached invoice.\u202E',
          [
            `--d${tag}`,
            'Content-Type: text/plain; charset=utf-8',
            '',
            'See the attached invoice.\u202E',
            `--d${tag}`,
            "Content-Type: application/octet-stream; name*=utf-8''invoice%E2%80%AEgpj.exe",
            "Content-Disposition: attachment; filename*=utf-8''invoice%E2%80%AEgpj.exe",
            'Content-Transfer-Encoding: base64',
            '',
            Buffer.from('MZ').toString('base64'),
            `--d${tag}--`,
          ].join('\r\n'),
        ),
    );
    const id = (
      await store.put(
        withAttachment,
        newItem(userAddress, {
          subject: `Invoice ${disguised} ${tag}`,
          sender: 'billing@fabrikam.com',
          verdict: {
            category: 'unscannable',
            action: 'quarantine',
            findings: [finding('unscannable', 'limit.archive-depth', '2'), finding('malware', 'Disguised.Filename', '2')],
            durationMs: 1,
          },
        }),
      )
    ).id;

    const page = await signIn(USER_TOKEN);
    const marked = `Invoice invoice⟨U+202E⟩gpj.exe ${tag}`;
    await page.getByRole('button', { name: marked }).click();
    await page.locator('#item-view').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#item-subject').textContent(), marked);
    assert.match((await page.locator('#attachments').textContent()) ?? '', /invoice⟨U\+202E⟩gpj\.exe/);
    assert.match((await page.locator('#item-body').textContent()) ?? '', /invoice\.⟨U\+202E⟩/);
    assert.equal(await page.evaluate("document.body.textContent.includes('\\u202E')"), false);
    // Unscannable items may hide malware, so their user gets no download, only a request.
    assert.equal(await page.getByRole('button', { name: 'Download .eml' }).isVisible(), false);
    assert.equal(await page.getByRole('button', { name: 'Request release' }).isVisible(), true);
    await shot(page, 'user-item-disguised-name');
    await page.close();

    const adminPage = await signIn(harness.adminToken);
    await adminPage.goto(`${harness.host.url}/api/ui/?item=${id}`);
    await adminPage.locator('#item-view').waitFor({ state: 'visible' });
    assert.equal(await adminPage.getByRole('button', { name: 'Download as encrypted zip' }).isVisible(), true);
    const [download] = await Promise.all([
      adminPage.waitForEvent('download'),
      adminPage.getByRole('button', { name: 'Download .eml' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `${id}.eml`);
    assert.deepEqual(await readFile(await download.path()), await store.getContent(id));
    await adminPage.close();
  });

  it('offers no release of an item without a mailbox', async () => {
    const { store } = await getQuarantineRuntime();
    const item = newItem(userAddress, { subject: `From the command line ${tag}`, source: 'mail/scan.eml' });
    delete item.mailbox;
    const id = (await store.put(mime(`From the command line ${tag}`, 'Scanned from a file.'), item)).id;

    const page = await signIn(harness.adminToken);
    await page.goto(`${harness.host.url}/api/ui/?item=${id}`);
    await page.locator('#item-view').waitFor({ state: 'visible' });
    assert.equal(await page.getByRole('button', { name: 'Release to mailbox' }).isVisible(), false);
    assert.equal(await page.getByRole('button', { name: 'Download .eml' }).isVisible(), true);
    await page.close();
  });

  it('renders a digest with its links', async () => {
    const mail = buildRecipientDigest(
      {
        recipient: userAddress,
        items: [
          {
            id: ids.spam,
            sender: 'sender@fabrikam.com',
            subject: '<b>Cheap</b> & "watches"',
            category: 'spam',
            signatures: [],
            quarantinedAt: new Date().toISOString(),
            expiresAt: new Date().toISOString(),
            size: 10,
          },
        ],
        moreCount: 3,
      },
      harness.host.url,
    );
    // The HTML part of the sent MIME message, as a mail client decodes it.
    const html = (await PostalMime.parse(await toOutgoingMime(mail, 'digest@contoso.com'))).html;
    assert.ok(html);
    const page = await browser.newPage({ javaScriptEnabled: false });
    await page.setContent(html);
    assert.equal(await page.locator('tbody tr').count(), 1);
    assert.equal(await page.locator('tbody a').textContent(), '<b>Cheap</b> & "watches"');
    assert.equal(await page.locator('tbody a').getAttribute('href'), `${harness.host.url}/api/ui/?item=${ids.spam}`);
    assert.match((await page.locator('body').textContent()) ?? '', /3 more messages are not listed/);
    await shot(page, 'digest');
    await page.close();
  });
});

async function hiddenFolderOf(harness: LoopHarness, mailbox: string): Promise<string> {
  const settings = loadSettings(process.env);
  const { credential } = createGraphCredential(settings.graph, { ca: harness.sim.certificate });
  const client = new GraphClient({ credential, baseUrl: settings.graph.baseUrl, ca: harness.sim.certificate });
  try {
    return await client.ensureHiddenFolder(mailbox, HIDDEN_FOLDER);
  } finally {
    client.close();
  }
}
