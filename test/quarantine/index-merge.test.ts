import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { PartitionMerge, type IndexEntity, type PartitionPages } from '../../src/quarantine/index-merge.js';

/** Pages of the rows after `after`, `pageSize` at a time, as a Table query with `RowKey gt` returns them. */
async function* pagesOf(rowKeys: string[], after: string | undefined, pageSize: number): AsyncGenerator<IndexEntity[]> {
  const rows = rowKeys.filter((key) => after === undefined || key > after).map((rowKey) => ({ rowKey }));
  for (let start = 0; start < rows.length; start += pageSize) {
    yield rows.slice(start, start + pageSize);
  }
}

/** Reads every partition to the end in pages of `limit` rows, resuming from the last row key. */
async function readInPages(partitions: string[][], limit: number, maxFetchedRows: number, pageSize: number) {
  const seen: string[] = [];
  let after: string | undefined;
  let requests = 0;
  for (;;) {
    requests += 1;
    assert.ok(requests < 1000, 'paging ends');
    const sources: PartitionPages[] = partitions.map((keys) => pagesOf(keys, after, pageSize));
    const merge = new PartitionMerge(sources, maxFetchedRows);
    let taken = 0;
    let last: string | undefined;
    for (let row = await merge.next(); row !== undefined; row = await merge.next()) {
      seen.push(row.rowKey!);
      last = row.rowKey;
      taken += 1;
      if (taken >= limit) {
        break;
      }
    }
    if (last === undefined || (taken < limit && !merge.stoppedAtLimit)) {
      return seen;
    }
    after = last;
  }
}

function key(n: number): string {
  return String(n).padStart(13, '0');
}

describe('PartitionMerge', () => {
  const partitions = [
    [1, 2, 5, 8, 9, 12, 20].map(key),
    [2, 3, 5, 13, 20, 21].map(key),
    [],
    [4, 5, 6, 7, 30].map(key),
  ];
  const expected = [...new Set(partitions.flat())].sort();

  it('merges in row-key order and returns a shared row once', async () => {
    const seen = await readInPages(partitions, 100, 1000, 2);
    assert.deepEqual(seen, expected);
  });

  it('resumes without gaps or repeats when the read bound stops it', async () => {
    for (const [limit, maxFetched, pageSize] of [[3, 4, 2], [5, 1, 1], [2, 7, 3], [100, 3, 1]] as const) {
      const seen = await readInPages(partitions, limit, maxFetched, pageSize);
      assert.deepEqual(seen, expected, `limit ${limit}, bound ${maxFetched}, page ${pageSize}`);
    }
  });

  it('reports a stop at the read bound', async () => {
    const merge = new PartitionMerge([pagesOf(partitions[0]!, undefined, 1)], 2);
    assert.equal((await merge.next())?.rowKey, key(1));
    assert.equal((await merge.next())?.rowKey, key(2));
    assert.equal(await merge.next(), undefined);
    assert.equal(merge.stoppedAtLimit, true);
    assert.equal(merge.fetchedRows, 2);
  });

  it('ends without a stop when every partition is read', async () => {
    const merge = new PartitionMerge([pagesOf([key(1)], undefined, 5), pagesOf([], undefined, 5)], 10);
    assert.equal((await merge.next())?.rowKey, key(1));
    assert.equal(await merge.next(), undefined);
    assert.equal(merge.stoppedAtLimit, false);
  });
});
