// mailsweep quarantine web interface. Plain DOM code, no framework: every value from the API is
// written with textContent or as an attribute, never parsed as HTML, and text taken from a message
// passes through toVisibleText first, so that control characters cannot disguise it.

import { toVisibleText } from './visible-text.js';

const TOKEN_KEY = 'mailsweep.localToken';
const CATEGORIES = ['spam', 'phishing', 'malware', 'policy', 'unscannable', 'clean'];
/** Categories a user without a role may not download (src/quarantine/quarantine-policy.ts). */
const DANGEROUS_CATEGORIES = ['malware', 'phishing', 'unscannable'];
/** Categories the API downloads as an encrypted zip unless format=eml is asked for. */
const ZIP_BY_DEFAULT_CATEGORIES = ['malware', 'unscannable'];

const state = {
  me: undefined,
  filters: {},
  /** Continuation tokens of the pages shown after the first, in order; the last one reloads the current page. */
  pageTokens: [],
  nextToken: undefined,
  items: new Map(),
  selected: new Set(),
  currentItem: undefined,
  auditToken: undefined,
};

const $ = (id) => document.getElementById(id);

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = toVisibleText(text);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, toVisibleText(value));
  return node;
}

function announce(message) {
  $('alert').textContent = '';
  $('status').textContent = message;
}

function fail(message) {
  $('status').textContent = '';
  $('alert').textContent = message;
}

/** Calls the API with the local token, if one is kept, or with the App Service cookie. */
async function api(path, options = {}) {
  const headers = new Headers(options.headers);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.set('authorization', `Bearer ${token}`);
  const response = await fetch(`/api/${path}`, {
    ...options,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
  });
  let body;
  if ((response.headers.get('content-type') ?? '').includes('application/json')) {
    body = await response.json();
  }
  return { status: response.status, ok: response.ok, body, response };
}

function errorText(result, action) {
  const detail = result.body && typeof result.body.error === 'string' ? result.body.error : '';
  return `${action} failed (HTTP ${result.status})${detail ? `: ${detail}` : ''}`;
}

function formatDate(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace('T', ' ').slice(0, 16);
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

// ---- actions allowed on an item

/**
 * Actions offered on an item. The server's `allowedActions` decides when it sends one; otherwise
 * the rules of the quarantine API are applied here, and the server still checks every call.
 */
function actionsFor(item) {
  if (Array.isArray(item.allowedActions)) return new Set(item.allowedActions);
  const me = state.me;
  const actions = new Set();
  const readsAll = me.isAdmin || me.isReader;
  if (readsAll || !DANGEROUS_CATEGORIES.includes(item.category)) actions.add('download');
  if (item.releasedAt) return actions;
  // The caller's own addresses, aliases included; whoami leaves them out for administrators.
  const ownAddresses = Array.isArray(me.addresses) ? me.addresses : [];
  const own = ownAddresses.includes((item.mailbox ?? '').toLowerCase());
  if (me.isAdmin || own) actions.add('delete');
  // An item from the command line has no mailbox to release to.
  const hasMailbox = (item.mailbox ?? '').trim() !== '';
  if (hasMailbox && (me.isAdmin || (own && item.category === 'spam'))) actions.add('release');
  return actions;
}

// ---- sign-in and views

async function start() {
  wireEvents();
  const result = await api('quarantine/whoami');
  if (result.status === 401) {
    showSignIn(result.body?.signIn);
    return;
  }
  if (!result.ok) {
    fail(errorText(result, 'Loading your account'));
    return;
  }
  state.me = result.body;
  let role = '';
  if (state.me.isAdmin) role = ' (administrator)';
  else if (state.me.isReader) role = ' (reader)';
  $('who').textContent = `Signed in as ${toVisibleText(state.me.mailbox ?? state.me.id)}${role}`;
  $('sign-out').hidden = false;
  $('views').hidden = false;
  for (const node of document.querySelectorAll('[data-admin]')) node.hidden = !state.me.isAdmin;
  const readsAll = state.me.isAdmin || state.me.isReader;
  for (const node of document.querySelectorAll('[data-reader]')) node.hidden = !readsAll;

  // On a narrow screen the filters start folded, so that the list is in view.
  if (window.matchMedia('(max-width: 40rem)').matches) $('filter-box').open = false;
  state.filters = readFilters();
  const linked = new URLSearchParams(location.search).get('item');
  if (linked && /^[0-9a-f]{32}$/.test(linked)) {
    await openItem(linked);
  } else {
    await showList();
  }
}

function showSignIn(kind) {
  show('sign-in');
  if (kind === 'local-token') {
    $('token-form').hidden = false;
    $('token').focus();
    if (sessionStorage.getItem(TOKEN_KEY)) fail('The token was not accepted.');
    return;
  }
  const target = `${location.pathname}${location.search}`;
  $('aad-link').href = `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(target)}`;
  $('aad-sign-in').hidden = false;
}

function show(view) {
  for (const id of ['sign-in', 'list-view', 'item-view', 'requests-view', 'audit-view']) {
    $(id).hidden = id !== view;
  }
  const current = { 'list-view': 'list', 'item-view': 'list', 'requests-view': 'requests', 'audit-view': 'audit' }[view];
  for (const button of document.querySelectorAll('#views button')) {
    if (button.dataset.view === current) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
}

// ---- list

function readFilters() {
  const form = new FormData($('filters'));
  const filters = {};
  for (const [name, raw] of form) {
    const value = String(raw).trim();
    if (value === '') continue;
    if (name === 'from') filters.from = `${value}T00:00:00Z`;
    else if (name === 'to') filters.to = `${value}T23:59:59.999Z`;
    else filters[name] = value;
  }
  return filters;
}

async function showList() {
  show('list-view');
  history.replaceState(null, '', location.pathname);
  // The list first: counting reads up to 5,000 index rows and must not delay the first rows.
  await loadPage(undefined);
  await loadCounts();
}

async function loadCounts() {
  const box = $('counts');
  const result = await api('quarantine/counts');
  box.replaceChildren();
  if (!result.ok) {
    box.append(element('p', 'Counts are unavailable.'));
    return;
  }
  const { counts, complete } = result.body;
  for (const category of CATEGORIES) {
    const label = `${category}: ${counts[category]}${complete ? '' : '+'}`;
    const button = element('button', label, { type: 'button', 'data-category': category });
    button.addEventListener('click', async () => {
      $('f-category').value = category;
      await applyFilters();
    });
    box.append(button);
  }
}

async function applyFilters() {
  state.filters = readFilters();
  state.pageTokens = [];
  await loadPage(undefined);
}

async function loadPage(token) {
  performance.mark('ms-list-request');
  const query = new URLSearchParams(state.filters);
  if (token) query.set('continuation', token);
  const result = await api(`quarantine/items?${query}`);
  if (!result.ok) {
    fail(errorText(result, 'Listing'));
    return;
  }
  renderItems(result.body.items);
  state.nextToken = result.body.continuation;
  $('next-page').disabled = state.nextToken === undefined;
  $('first-page').disabled = token === undefined;
  performance.mark('ms-list-rendered');
  performance.measure('ms-first-page', 'ms-list-request', 'ms-list-rendered');
  announce(`${result.body.items.length} messages on this page${state.nextToken ? '; more on the next page' : ''}.`);
}

function renderItems(items) {
  const body = $('items').tBodies[0];
  state.items = new Map(items.map((item) => [item.id, item]));
  state.selected.clear();
  const readsAll = state.me.isAdmin || state.me.isReader;
  const rows = items.map((item) => {
    const row = element('tr', undefined, { 'data-id': item.id });
    const box = element('input', undefined, { type: 'checkbox', 'aria-label': `Select ${item.subject ?? item.id}` });
    box.addEventListener('change', () => {
      if (box.checked) state.selected.add(item.id);
      else state.selected.delete(item.id);
      updateSelection();
    });
    const open = element('button', item.subject || '(no subject)', { type: 'button', class: 'link' });
    open.addEventListener('click', () => openItem(item.id));
    const cells = [
      box,
      formatDate(item.receivedAt ?? item.quarantinedAt),
      item.sender ?? '',
      open,
      item.category,
      ...(readsAll ? [item.mailbox ?? ''] : []),
      item.releasedAt ? `released ${formatDate(item.releasedAt)}` : 'quarantined',
    ];
    for (const cell of cells) {
      const td = element('td');
      if (cell instanceof Node) td.append(cell);
      else td.textContent = toVisibleText(cell);
      row.append(td);
    }
    row.children[4].className = `category ${item.category}`;
    return row;
  });
  body.replaceChildren(...rows);
  $('list-empty').hidden = items.length > 0;
  $('select-all').checked = false;
  updateSelection();
}

function updateSelection() {
  const chosen = [...state.selected].map((id) => state.items.get(id));
  $('selected-count').textContent = `${chosen.length} selected`;
  const can = (action) => chosen.length > 0 && chosen.every((item) => actionsFor(item).has(action));
  $('bulk-release').disabled = !can('release');
  $('bulk-request').disabled = !can('request-release');
  $('bulk-delete').disabled = !can('delete');
}

async function runBulk(action) {
  const ids = [...state.selected];
  const verb = { release: 'Release', delete: 'Delete', 'request-release': 'Request release of' }[action];
  const answer = await confirmAction(`${verb} ${ids.length} messages?`, bulkText(action), action === 'request-release');
  if (answer === undefined) return;
  let done = 0;
  const failures = [];
  for (const id of ids) {
    const result = await runAction(action, id, answer.note);
    if (result.ok) done += 1;
    else failures.push(errorText(result, id));
  }
  await loadPage(state.pageTokens.at(-1));
  announce(`${verb} ${ids.length} messages: ${done} done, ${failures.length} failed.`);
  if (failures.length > 0) fail(failures.join('; '));
}

function bulkText(action) {
  if (action === 'delete') return 'The stored copies are deleted for good.';
  if (action === 'release') return 'The messages go back to the folders they came from.';
  return 'An administrator decides on each request.';
}

function runAction(action, id, note) {
  if (action === 'release') return api(`quarantine/items/${id}/release`, { method: 'POST' });
  if (action === 'delete') return api(`quarantine/items/${id}`, { method: 'DELETE' });
  const body = JSON.stringify(note ? { note } : {});
  return api(`quarantine/items/${id}/release-requests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
}

// ---- item

async function openItem(id) {
  const result = await api(`quarantine/items/${id}`);
  if (!result.ok) {
    // The list is shown first, because loading it clears the alert region.
    if (!state.items.size) await showList();
    fail(result.status === 404 ? 'This message was not found, or it is not yours to see.' : errorText(result, 'Opening the message'));
    return;
  }
  state.currentItem = { ...result.body.item, category: result.body.item.verdict.category };
  renderItem(result.body.item, result.body.preview, result.body.previewUnavailable);
  show('item-view');
  history.replaceState(null, '', `${location.pathname}?item=${id}`);
  $('item-subject').focus();
}

function renderItem(item, preview, unavailable) {
  const heading = $('item-subject');
  heading.textContent = toVisibleText(item.subject || '(no subject)');
  heading.tabIndex = -1;
  const facts = [
    ['Sender', item.sender],
    ['Recipients', (item.recipients ?? []).join(', ')],
    ['Mailbox', item.mailbox],
    ['Received', formatDate(item.receivedAt)],
    ['Quarantined', formatDate(item.quarantinedAt)],
    ['Category', item.verdict.category],
    ['Size', formatSize(item.size)],
    ['Status', item.releasedAt ? `released ${formatDate(item.releasedAt)}` : 'quarantined'],
  ];

  $('item-facts').replaceChildren(
    ...facts.flatMap(([name, value]) => [element('dt', name), element('dd', value ?? '')]),
  );
  $('findings').tBodies[0].replaceChildren(
    ...item.verdict.findings.map((finding) => {
      const row = element('tr');
      for (const value of [finding.stage, finding.engine, finding.signature, finding.reason, finding.mimePath || 'whole message']) {
        row.append(element('td', value));
      }
      return row;
    }),
  );

  const headers = preview?.headers ?? [];
  const authResults = headers.filter((header) => header.name.toLowerCase() === 'authentication-results');
  const authText = authResults.map((header) => toVisibleText(header.value, { multiline: true })).join('\n\n');
  $('auth-results').textContent = authResults.length > 0 ? authText : 'None in the message.';
  $('attachments').tBodies[0].replaceChildren(
    ...(preview?.attachments ?? []).map((attachment) => {
      const row = element('tr');
      const detected = attachment.detectedType ? `${attachment.detectedType} (.${attachment.detectedExtension})` : 'not recognised';
      for (const value of [attachment.filename ?? `part ${attachment.path}`, attachment.declaredType, detected, formatSize(attachment.size), attachment.findings.join(', ')]) {
        row.append(element('td', value));
      }
      return row;
    }),
  );

  let text = 'No text body.';
  if (unavailable === 'message-too-large') text = 'The message is too large to preview; download it instead.';
  else if (preview && preview.body) {
    text = toVisibleText(preview.body, { multiline: true }) + (preview.bodyTruncated ? '\n[… cut at 64 KiB]' : '');
  }
  $('item-body').textContent = text;
  $('body-heading').textContent = preview?.bodyKind === 'html-text' ? 'Message text (taken from its HTML)' : 'Message text';
  $('item-headers').replaceChildren(
    ...headers.flatMap((header) => [element('dt', header.name), element('dd', header.value)]),
  );

  const actions = actionsFor({ ...item, category: item.verdict.category });
  $('act-download').hidden = !actions.has('download');
  const zipByDefault = ZIP_BY_DEFAULT_CATEGORIES.includes(item.verdict.category);
  $('act-download-zip').hidden = !(Array.isArray(item.allowedActions) && actions.has('download') && zipByDefault);
  $('act-release').hidden = !actions.has('release');
  $('act-request').hidden = !actions.has('request-release');
  $('act-delete').hidden = !actions.has('delete');
}

async function itemAction(action) {
  const item = state.currentItem;
  const text = {
    release: ['Release this message?', 'It goes back to the folder it came from, in front of its recipient.'],
    'request-release': ['Request the release of this message?', 'An administrator decides on the request.'],
    delete: ['Delete this message?', 'The stored copy is deleted for good.'],
  }[action];
  const answer = await confirmAction(text[0], text[1], action === 'request-release');
  if (answer === undefined) return;
  const result = await runAction(action, item.id, answer.note);
  if (!result.ok) {
    fail(errorText(result, { release: 'Release', delete: 'Delete', 'request-release': 'Release request' }[action]));
    return;
  }
  if (action === 'delete') {
    announce('The message was deleted.');
    await showList();
    return;
  }
  await openItem(item.id);
  announce(action === 'release' ? 'The message was released to its mailbox.' : 'Your release request was sent to the administrators.');
}

async function download(format) {
  const item = state.currentItem;
  // Named explicitly, because the API zips malware and unscannable items when no format is given.
  const query = `?format=${format === 'zip' ? 'zip' : 'eml'}`;
  const token = sessionStorage.getItem(TOKEN_KEY);
  const response = await fetch(`/api/quarantine/items/${item.id}/message${query}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    credentials: 'same-origin',
  });
  if (!response.ok) {
    fail(`Download failed (HTTP ${response.status})`);
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = element('a', undefined, { href: url, download: `${item.id}.${format === 'zip' ? 'zip' : 'eml'}` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  announce(format === 'zip' ? 'Downloaded as a zip; its password is "infected".' : 'Downloaded the original message.');
}

// ---- confirmation dialog

function confirmAction(title, text, withNote) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-note-field').hidden = !withNote;
  $('confirm-note').value = '';
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        const note = $('confirm-note').value.trim();
        resolve(dialog.returnValue === 'ok' ? { note: note || undefined } : undefined);
      },
      { once: true },
    );
  });
}

// ---- administrators: release requests and audit log

async function showRequests() {
  show('requests-view');
  const result = await api('quarantine/release-requests?status=pending');
  const body = $('requests').tBodies[0];
  $('requests-missing').hidden = result.status !== 404;
  if (!result.ok) {
    body.replaceChildren();
    if (result.status !== 404) fail(errorText(result, 'Loading release requests'));
    return;
  }
  const requests = result.body.requests ?? result.body.items ?? [];
  body.replaceChildren(
    ...requests.map((request) => {
      const row = element('tr');
      const open = element('button', request.subject || request.quarantineId, { type: 'button', class: 'link' });
      open.addEventListener('click', () => openItem(request.quarantineId));
      const decide = element('td');
      for (const decision of ['approve', 'deny']) {
        const button = element('button', decision === 'approve' ? 'Approve' : 'Deny', { type: 'button' });
        button.addEventListener('click', () => decideRequest(request, decision));
        decide.append(button);
      }
      const itemCell = element('td');
      itemCell.append(open);
      row.append(element('td', formatDate(request.requestedAt)), element('td', request.requestedBy ?? ''), itemCell, element('td', request.note ?? ''), decide);
      return row;
    }),
  );
  announce(`${requests.length} pending release requests.`);
}

async function decideRequest(request, decision) {
  const answer = await confirmAction(decision === 'approve' ? 'Approve and release?' : 'Deny the request?', 'The requester sees the decision.', false);
  if (answer === undefined) return;
  const id = request.id ?? request.requestId;
  const result = await api(`quarantine/release-requests/${encodeURIComponent(id)}/${decision}`, { method: 'POST' });
  if (!result.ok) {
    fail(errorText(result, decision === 'approve' ? 'Approval' : 'Denial'));
    return;
  }
  await showRequests();
  announce(decision === 'approve' ? 'Approved and released.' : 'Denied.');
}

async function showAudit(more) {
  show('audit-view');
  if (!$('audit-day').value) $('audit-day').value = new Date().toISOString().slice(0, 10);
  const query = new URLSearchParams({ day: $('audit-day').value, limit: '100' });
  if (more && state.auditToken) query.set('continuation', state.auditToken);
  const result = await api(`quarantine/audit?${query}`);
  if (!result.ok) {
    fail(errorText(result, 'Loading the audit log'));
    return;
  }
  state.auditToken = result.body.continuation;
  $('audit-next').disabled = state.auditToken === undefined;
  $('audit').tBodies[0].replaceChildren(
    ...result.body.entries.map((entry) => {
      const row = element('tr');
      for (const value of [formatDate(entry.time), entry.actorMailbox ?? entry.actorId, entry.actorRole, entry.action, entry.quarantineId ?? '', entry.result, entry.detail ?? '']) {
        row.append(element('td', value));
      }
      return row;
    }),
  );
  announce(`${result.body.entries.length} audit entries.`);
}

// ---- events

function wireEvents() {
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value);
    $('token').value = '';
    location.reload();
  });
  $('sign-out').addEventListener('click', () => {
    const local = sessionStorage.getItem(TOKEN_KEY) !== null;
    sessionStorage.removeItem(TOKEN_KEY);
    if (local) location.replace(location.pathname);
    else location.assign(`/.auth/logout?post_logout_redirect_uri=${encodeURIComponent(location.pathname)}`);
  });

  for (const button of document.querySelectorAll('#views button')) {
    button.addEventListener('click', () => {
      $('alert').textContent = '';
      if (button.dataset.view === 'requests') return showRequests();
      if (button.dataset.view === 'audit') return showAudit(false);
      return showList();
    });
  }

  $('filters').addEventListener('submit', async (event) => {
    event.preventDefault();
    await applyFilters();
  });
  $('filters').addEventListener('reset', () => setTimeout(applyFilters, 0));
  $('next-page').addEventListener('click', async () => {
    state.pageTokens.push(state.nextToken);
    await loadPage(state.nextToken);
  });
  $('first-page').addEventListener('click', async () => {
    state.pageTokens = [];
    await loadPage(undefined);
  });

  $('select-all').addEventListener('change', () => {
    const checked = $('select-all').checked;
    for (const box of $('items').tBodies[0].querySelectorAll('input[type=checkbox]')) {
      box.checked = checked;
      const id = box.closest('tr').dataset.id;
      if (checked) state.selected.add(id);
      else state.selected.delete(id);
    }
    updateSelection();
  });
  $('bulk-release').addEventListener('click', () => runBulk('release'));
  $('bulk-request').addEventListener('click', () => runBulk('request-release'));
  $('bulk-delete').addEventListener('click', () => runBulk('delete'));

  $('back').addEventListener('click', () => showList());
  $('act-download').addEventListener('click', () => download('eml'));
  $('act-download-zip').addEventListener('click', () => download('zip'));
  $('act-release').addEventListener('click', () => itemAction('release'));
  $('act-request').addEventListener('click', () => itemAction('request-release'));
  $('act-delete').addEventListener('click', () => itemAction('delete'));

  $('audit-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    await showAudit(false);
  });
  $('audit-next').addEventListener('click', () => showAudit(true));
}

start().catch((error) => fail(`The page failed to start: ${error.message}`));
