import { loadSettings } from '../../src/config/settings.js';
import { type CompiledRuleSet, compileRuleSet } from '../../src/rules/compile-rules.js';
import { createRuleHook } from '../../src/rules/evaluate-rules.js';
import { createEmbeddedEngines } from '../../src/scanning/engines.js';
import { createPipeline, type Pipeline } from '../../src/scanning/pipeline.js';
import { silentLogger } from '../../src/shared/logger.js';

/** An attachment of a test message. */
export interface TestAttachment {
  name: string;
  content: Uint8Array | string;
  type?: string;
}

/** Parts of a test message; every field has a harmless default. */
export interface TestMessage {
  from?: string;
  to?: string;
  subject?: string;
  body?: string;
  headers?: Record<string, string>;
  attachments?: TestAttachment[];
}

/** Builds an RFC 5322 message with base64 attachments. */
export function buildMessage(message: TestMessage = {}): Uint8Array {
  const boundary = 'rules-test-boundary';
  const lines = [
    `From: ${message.from ?? 'Alice Example <alice@partner.example>'}`,
    `To: ${message.to ?? 'bob@contoso.com'}`,
    `Subject: ${message.subject ?? 'Quarterly figures'}`,
    'Date: Tue, 03 Mar 2026 10:15:00 +0000',
    'Message-ID: <rules-test@partner.example>',
    'MIME-Version: 1.0',
    ...Object.entries(message.headers ?? {}).map(([key, value]) => `${key}: ${value}`),
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    message.body ?? 'Please find the figures for this quarter below.',
  ];
  for (const attachment of message.attachments ?? []) {
    const bytes =
      typeof attachment.content === 'string'
        ? Buffer.from(attachment.content)
        : Buffer.from(attachment.content);
    lines.push(
      `--${boundary}`,
      `Content-Type: ${attachment.type ?? 'application/octet-stream'}; name="${attachment.name}"`,
      `Content-Disposition: attachment; filename="${attachment.name}"`,
      'Content-Transfer-Encoding: base64',
      '',
      bytes.toString('base64').replace(/.{76}/g, '$&\r\n'),
    );
  }
  lines.push(`--${boundary}--`, '');
  return Buffer.from(lines.join('\r\n'));
}

/** Builds a minimal PE image: `MZ`, and e_lfanew at 0x3c pointing to `PE\0\0`. */
export function peImage(): Uint8Array {
  const bytes = Buffer.alloc(512);
  bytes.write('MZ', 0, 'latin1');
  bytes.writeUInt32LE(0x80, 0x3c);
  bytes.write('PE\0\0', 0x80, 'latin1');
  return bytes;
}

/** Compiles a rule set with a generous size limit and no list files. */
export function compileTestRules(ruleSet: unknown, version?: number): Promise<CompiledRuleSet> {
  return compileRuleSet(ruleSet, { maxRules: 5000, version });
}

/** Builds the embedded pipeline with a fixed rule set. */
export async function createRulesPipeline(
  ruleSet: unknown,
  overrides: Record<string, string> = {},
): Promise<Pipeline> {
  const compiled = await compileTestRules(ruleSet);
  const settings = loadSettings({ MAILSWEEP_ORG_DOMAINS: 'contoso.com', ...overrides });
  return createPipeline({
    limits: settings.limits,
    actions: settings.actions,
    engines: await createEmbeddedEngines(settings),
    logger: silentLogger,
    rules: createRuleHook({ current: () => compiled }),
  });
}
