import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { loadSettings, settingsSchema } from '../../src/config/settings.js';

const EXAMPLE = path.resolve(import.meta.dirname, '../../local.settings.example.json');

/** Keys that the Functions host reads itself; mailsweep's settings schema does not know them. */
const FUNCTIONS_RUNTIME_KEYS = new Set(['FUNCTIONS_WORKER_RUNTIME', 'AzureWebJobsStorage']);

function readExample(): Record<string, string> {
  const parsed = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as { Values: Record<string, string> };
  return parsed.Values;
}

describe('local.settings.example.json', () => {
  it('lists every setting of the schema', () => {
    const listed = new Set(Object.keys(readExample()));
    const missing = Object.keys(settingsSchema.shape).filter((key) => !listed.has(key));
    assert.deepEqual(missing, [], 'add these keys to local.settings.example.json');
  });

  it('lists only settings of the schema and runtime keys', () => {
    const known = new Set(Object.keys(settingsSchema.shape));
    const unknown = Object.keys(readExample()).filter(
      (key) => !known.has(key) && !FUNCTIONS_RUNTIME_KEYS.has(key),
    );
    assert.deepEqual(unknown, [], 'these keys are neither settings nor Functions runtime keys');
  });

  it('loads as valid settings', () => {
    assert.doesNotThrow(() => loadSettings(readExample()));
  });
});
