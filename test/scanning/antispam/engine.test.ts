import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  createEmbeddedAntispam,
  GTUBE,
  type SpamModel,
  trainSpamModel,
} from '../../../src/scanning/antispam/index.js';
import { createDeadline } from '../../../src/scanning/deadline.js';
import type { Deadline, EngineResult, MessageView } from '../../../src/scanning/types.js';
import { makeView, textMessage } from './views.js';

const model: SpamModel = await trainSpamModel(
  [
    { view: textMessage('cheap pills', 'buy cheap pills now, limited offer, buy now'), spam: true },
    { view: textMessage('cheap pills', 'cheap pills, buy now, best offer'), spam: true },
    { view: textMessage('lunch', 'shall we meet for lunch on friday at noon'), spam: false },
    { view: textMessage('lunch', 'lunch on friday works, see you at noon'), spam: false },
  ],
  { threshold: 0.9 },
);

async function scan(
  view: MessageView,
  deadline: Deadline = createDeadline(5000),
): Promise<EngineResult> {
  return createEmbeddedAntispam({ model }).scan(view, deadline);
}

describe('createEmbeddedAntispam', () => {
  it('reports GTUBE in a text body with its path', async () => {
    const view = makeView({ bodies: [{ path: '1.2', type: 'html', text: `<p>${GTUBE}</p>` }] });
    const result = await scan(view);
    const gtube = result.findings.find((finding) => finding.signature === 'Spam.GTUBE');
    assert.ok(gtube);
    assert.equal(gtube.category, 'spam');
    assert.equal(gtube.mimePath, '1.2');
    assert.equal(gtube.score, 1);
  });

  it('reports GTUBE split by quoted-printable soft line breaks', async () => {
    const split = `${GTUBE.slice(0, 20)}=\r\n${GTUBE.slice(20, 50)}=\n${GTUBE.slice(50)}`;
    const raw = `Subject: test\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${split}\r\n`;
    const view = makeView({ headers: [['subject', 'test']], raw });
    const result = await scan(view);
    const gtube = result.findings.find((finding) => finding.signature === 'Spam.GTUBE');
    assert.ok(gtube);
    assert.equal(gtube.mimePath, '');
  });

  it('finds GTUBE past the first mebibyte', async () => {
    const padding = 'x'.repeat(1024 * 1024 + 100);
    const raw = `Subject: t\r\n\r\n${padding}\r\n${GTUBE.slice(0, 30)}=\r\n${GTUBE.slice(30)}\r\n`;
    const result = await scan(makeView({ raw }));
    assert.ok(result.findings.some((finding) => finding.signature === 'Spam.GTUBE'));
  });

  it('finds GTUBE broken after every character', async () => {
    const raw = `Subject: t\r\n\r\nprefix XJS ${[...GTUBE].join('=\r\n')}\r\n`;
    const result = await scan(makeView({ raw }));
    assert.ok(result.findings.some((finding) => finding.signature === 'Spam.GTUBE'));
  });

  it('finds GTUBE after a false start', async () => {
    const raw = `Subject: t\r\n\r\n${GTUBE.slice(0, 30)}${GTUBE}\r\n`;
    const result = await scan(makeView({ raw }));
    assert.ok(result.findings.some((finding) => finding.signature === 'Spam.GTUBE'));
  });

  it('gives no GTUBE finding for a partial string', async () => {
    const view = textMessage('test', GTUBE.slice(0, 40));
    const result = await scan(view);
    assert.ok(!result.findings.some((finding) => finding.signature === 'Spam.GTUBE'));
  });

  it('reports a timeout when the raw search outlives the deadline', async () => {
    const expired: Deadline = { expiresAt: 0, expired: () => true };
    const result = await scan(makeView({ raw: 'Subject: t\r\n\r\nno test string here' }), expired);
    assert.ok(result.findings.some((finding) => finding.signature === 'limit.scan-timeout'));
  });

  it('reports Exchange verdicts from the headers', async () => {
    const view = makeView({ headers: [['x-forefront-antispam-report', 'SFV:SPM;CAT:PHSH;']] });
    const result = await scan(view);
    const signatures = result.findings.map((finding) => finding.signature);
    assert.ok(signatures.includes('Exchange.SFV.SPM'));
    assert.ok(signatures.includes('Exchange.CAT.PHSH'));
  });

  it('returns the score with the model threshold', async () => {
    const result = await scan(textMessage('cheap pills', 'buy cheap pills now'));
    assert.ok(result.spam);
    assert.equal(result.spam.threshold, 0.9);
    assert.ok(result.spam.score >= 0.9);
    const bayes = result.findings.find((finding) => finding.signature === 'Spam.Bayes');
    assert.ok(bayes);
    assert.equal(bayes.score, result.spam.score);
  });

  it('gives no Bayes finding below the threshold', async () => {
    const result = await scan(textMessage('lunch', 'lunch on friday at noon'));
    assert.ok(result.spam);
    assert.ok(result.spam.score < 0.9);
    assert.deepEqual(result.findings, []);
  });

  it('uses a threshold given as an option', async () => {
    const engine = createEmbeddedAntispam({ model, threshold: 0.999999 });
    const result = await engine.scan(textMessage('lunch', 'lunch on friday'), createDeadline(5000));
    assert.equal(result.spam?.threshold, 0.999999);
    assert.equal(engine.name, 'embedded-spam');
    assert.equal(engine.stage, 'antispam');
  });

  it('rejects a threshold outside 0 to 1', () => {
    for (const threshold of [0, 1, -0.5, Number.NaN]) {
      assert.throws(() => createEmbeddedAntispam({ model, threshold }), { code: 'config-invalid' });
    }
  });
});
