import type { HeaderField, MessageView, TextBody } from '../../../src/scanning/types.js';

/** Builds a MessageView from literal headers and bodies, with a raw form that matches them. */
export function makeView(
  options: { headers?: [string, string][]; bodies?: TextBody[]; raw?: string } = {},
): MessageView {
  const headers: HeaderField[] = (options.headers ?? []).map(([key, value]) => ({ key, value }));
  const bodies = options.bodies ?? [];
  const raw =
    options.raw ??
    `${headers.map((field) => `${field.key}: ${field.value}`).join('\r\n')}\r\n\r\n` +
      bodies.map((body) => body.text).join('\r\n');
  return {
    raw: new TextEncoder().encode(raw),
    context: {},
    headers,
    subject: headers.find((field) => field.key === 'subject')?.value ?? '',
    bodies,
    parts: [],
    nestedMessages: [],
    complete: true,
  };
}

/** Builds a plain-text message with a subject and one body. */
export function textMessage(
  subject: string,
  text: string,
  from = 'Ann <ann@example.org>',
): MessageView {
  return makeView({
    headers: [
      ['from', from],
      ['subject', subject],
    ],
    bodies: [{ path: '1', type: 'plain', text }],
  });
}
