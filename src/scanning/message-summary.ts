import { addressParser } from 'postal-mime';

import type { HeaderField, MessageView } from './types.js';

/** Envelope-like facts about a message, read from its top-level headers for quarantine metadata. */
export interface MessageSummary {
  internetMessageId?: string;
  sender?: string;
  recipients: string[];
  subject?: string;
  /** The Date header as ISO 8601, when it parses. */
  sentAt?: string;
}

const MAX_RECIPIENTS = 500;

/** Reads Message-ID, From, To, Cc, Subject and Date from the view's headers. Never throws. */
export function summarizeMessage(view: MessageView): MessageSummary {
  const first = (key: string): string | undefined =>
    view.headers.find((field) => field.key === key)?.value;
  const summary: MessageSummary = {
    recipients: collectAddresses(view.headers, ['to', 'cc']).slice(0, MAX_RECIPIENTS),
  };

  const messageId = first('message-id')?.trim();
  if (messageId) {
    summary.internetMessageId = messageId.slice(0, 998);
  }
  const sender = collectAddresses(view.headers, ['from'])[0];
  if (sender) {
    summary.sender = sender;
  }
  if (view.subject) {
    summary.subject = view.subject.slice(0, 998);
  }
  const date = Date.parse(first('date') ?? '');
  if (Number.isFinite(date)) {
    summary.sentAt = new Date(date).toISOString();
  }
  return summary;
}

function collectAddresses(headers: readonly HeaderField[], keys: readonly string[]): string[] {
  const addresses: string[] = [];
  for (const field of headers) {
    if (!keys.includes(field.key)) {
      continue;
    }
    try {
      for (const entry of addressParser(field.value, { flatten: true })) {
        if ('address' in entry && entry.address) {
          addresses.push(entry.address.toLowerCase());
        }
      }
    } catch {
      // A header the parser cannot read contributes no address; the raw copy keeps it anyway.
    }
  }
  return addresses;
}
