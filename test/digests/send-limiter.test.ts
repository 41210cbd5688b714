import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { SendLimiter } from '../../src/digests/send-limiter.js';

/** Creates a limiter on a simulated clock that advances only when the limiter waits. */
function simulated(options: ConstructorParameters<typeof SendLimiter>[0] = {}) {
  const clock = { now: 0, waits: [] as number[] };
  const limiter = new SendLimiter({
    ...options,
    now: () => clock.now,
    wait: async (ms) => {
      clock.waits.push(ms);
      clock.now += ms;
    },
  });
  return { clock, limiter };
}

describe('SendLimiter', () => {
  it('sends 30 messages a minute at most', async () => {
    const { clock, limiter } = simulated();
    const times: number[] = [];
    for (let i = 0; i < 95; i += 1) {
      assert.equal(await limiter.acquire(1), 'ok');
      times.push(clock.now);
    }
    for (let i = 30; i < times.length; i += 1) {
      assert.ok((times[i] ?? 0) - (times[i - 30] ?? 0) >= 60_000, `send ${i} is within a minute of send ${i - 30}`);
    }
    assert.equal(clock.now, 3 * 60_000);
  });

  it('stops at the daily recipient limit', async () => {
    const { limiter } = simulated({ messagesPerMinute: 1000, recipientsPerDay: 5 });
    assert.equal(await limiter.acquire(3), 'ok');
    assert.equal(await limiter.acquire(2), 'ok');
    assert.equal(await limiter.acquire(1), 'daily-limit');
  });

  it('counts recipients sent by earlier runs', async () => {
    const { limiter } = simulated({ recipientsPerDay: 10, recipientsSentToday: 9 });
    assert.equal(await limiter.acquire(1), 'ok');
    assert.equal(await limiter.acquire(1), 'daily-limit');
  });

  it('frees the daily budget after 24 hours', async () => {
    const { clock, limiter } = simulated({ recipientsPerDay: 2 });
    await limiter.acquire(2);
    assert.equal(await limiter.acquire(1), 'daily-limit');
    clock.now += 24 * 3_600_000 + 1;
    assert.equal(await limiter.acquire(1), 'ok');
  });

  it('returns deadline rather than wait past it', async () => {
    const { clock, limiter } = simulated({ messagesPerMinute: 2 });
    await limiter.acquire(1);
    await limiter.acquire(1);
    assert.equal(await limiter.acquire(1, 30_000), 'deadline');
    assert.deepEqual(clock.waits, []);
  });
});
