/**
 * Reads several index partitions as one list in row-key order. A user with several addresses has
 * one partition per address, and an item addressed to two of them has a row in both. Row keys
 * are the inverted quarantine time and the item id, the same in every partition, so merging by
 * row key orders the items newest first across partitions, and equal row keys are one item.
 */

/** A table row as the Tables SDK returns it; only `rowKey` is read here. */
export type IndexEntity = Record<string, unknown> & { rowKey?: string };

/** Pages of one partition's rows in row-key order, as `listEntities(...).byPage()` yields them. */
export type PartitionPages = AsyncIterator<readonly IndexEntity[]>;

interface Cursor {
  pages: PartitionPages;
  buffer: IndexEntity[];
  done: boolean;
}

/**
 * Merges the row streams of several partitions, newest first, each item once.
 *
 * Before it consumes a row, every partition that is not exhausted has a buffered head, so the
 * smallest head is the next row overall. When the merge stops, every row with a key up to the
 * last consumed one has been consumed in every partition. A later query with `RowKey gt` that
 * key therefore resumes without a gap or a repeat.
 */
export class PartitionMerge {
  /** Rows read from storage so far, buffered ones included. */
  fetchedRows = 0;
  /** True when the merge stopped at `maxFetchedRows` while rows may remain. */
  stoppedAtLimit = false;
  private readonly cursors: Cursor[];

  /**
   * @param partitions one page stream per partition
   * @param maxFetchedRows no page is requested once this many rows were read
   */
  constructor(
    partitions: readonly PartitionPages[],
    private readonly maxFetchedRows: number,
  ) {
    this.cursors = partitions.map((pages) => ({ pages, buffer: [], done: false }));
  }

  /**
   * Returns the next row in row-key order, or undefined when every partition is exhausted or
   * the read limit stopped the merge (then `stoppedAtLimit` is true).
   */
  async next(): Promise<IndexEntity | undefined> {
    if (!(await this.fillBuffers())) {
      this.stoppedAtLimit = true;
      return undefined;
    }
    let smallest: string | undefined;
    for (const cursor of this.cursors) {
      const key = cursor.buffer[0]?.rowKey;
      if (key !== undefined && (smallest === undefined || key < smallest)) {
        smallest = key;
      }
    }
    if (smallest === undefined) {
      return undefined;
    }
    let row: IndexEntity | undefined;
    for (const cursor of this.cursors) {
      if (cursor.buffer[0]?.rowKey === smallest) {
        row = cursor.buffer.shift();
      }
    }
    return row;
  }

  /**
   * Reads a page for every partition whose buffer is empty, in parallel, until each has a head
   * or is exhausted. Returns false when a page is needed but the read limit is reached.
   */
  private async fillBuffers(): Promise<boolean> {
    for (;;) {
      const empty = this.cursors.filter((cursor) => !cursor.done && cursor.buffer.length === 0);
      if (empty.length === 0) {
        return true;
      }
      if (this.fetchedRows >= this.maxFetchedRows) {
        return false;
      }
      await Promise.all(empty.map((cursor) => this.readPage(cursor)));
    }
  }

  private async readPage(cursor: Cursor): Promise<void> {
    const page = await cursor.pages.next();
    if (page.done === true) {
      cursor.done = true;
      return;
    }
    // A row without a string row key cannot be ordered; the index never writes one.
    const rows = page.value.filter((row) => typeof row.rowKey === 'string');
    this.fetchedRows += page.value.length;
    cursor.buffer.push(...rows);
  }
}
