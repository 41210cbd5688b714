import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';

import { Cron } from 'croner';

import { settingDefault } from '../../src/config/settings.js';
import { resolveSchedule } from '../../src/functions-host/local-host.js';
import { registeredFunctions, type TimerJob } from '../../src/functions-host/registry.js';

/** Matches a `%NAME%` schedule, which the Functions host reads from the app setting NAME. */
const SETTING_REFERENCE = /^%([A-Za-z0-9_]+)%$/;

describe('timer schedules', () => {
  let timers: readonly TimerJob[];
  let mainBicep: string;

  before(async () => {
    const warn = console.warn;
    // @azure/functions prints a warning per registration outside the Functions runtime.
    console.warn = () => undefined;
    try {
      await import('../../functions/index.js');
    } finally {
      console.warn = warn;
    }
    timers = registeredFunctions().timers;
    mainBicep = await readFile(new URL('../../infra/bicep/main.bicep', import.meta.url), 'utf8');
  });

  it('resolves every timer in an empty environment', () => {
    assert.ok(timers.length > 0);
    for (const timer of timers) {
      const schedule = resolveSchedule(timer.schedule, {});
      assert.ok(schedule, `${timer.name} has no schedule without its setting`);
      assert.doesNotThrow(() => new Cron(schedule), `${timer.name}: ${schedule}`);
    }
  });

  it('deploys the documented default of each schedule setting', () => {
    for (const timer of timers) {
      const key = SETTING_REFERENCE.exec(timer.schedule)?.[1];
      if (key === undefined) {
        continue;
      }
      // main.bicep writes the app setting from a parameter: `KEY: param` and `param param string = '...'`.
      const parameter = new RegExp(`^\\s*${key}: (\\w+)$`, 'm').exec(mainBicep)?.[1];
      assert.ok(parameter, `main.bicep sets no app setting ${key}`);
      const deployed = new RegExp(`^param ${parameter} string = '([^']*)'$`, 'm').exec(mainBicep)?.[1];
      assert.equal(deployed, settingDefault(key), `${key} in main.bicep`);
    }
  });
});
