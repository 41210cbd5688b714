import { z } from 'zod';

/**
 * Query parameters that bound a time range, inclusive at both ends. Each takes an ISO 8601
 * date-time with a time zone (`2027-01-01T08:00:00Z`, `2027-01-01T09:00:00+01:00`) or a date alone
 * (`2027-01-01`), which is a UTC day. A date-time without a time zone is rejected, because the
 * server cannot know the caller's zone.
 */

/** The error of a bound in neither form. Both forms carry it, because zod reports only the first one's. */
const BOUND_ERROR =
  'must be an ISO 8601 date-time with a time zone, such as 2027-01-01T08:00:00Z, ' +
  'or a date alone, such as 2027-01-01 (a UTC day)';

const dateTimeSchema = z.iso.datetime({ offset: true, error: BOUND_ERROR });

const dateSchema = z.iso.date({ error: BOUND_ERROR });

/** A lower bound: a date alone means the start of that UTC day (00:00:00.000Z). */
export const fromBoundSchema = z
  .union([dateTimeSchema, dateSchema.transform((day) => `${day}T00:00:00.000Z`)])
  .describe('Inclusive lower bound: a date-time with a time zone, or a date for 00:00 UTC that day');

/**
 * An upper bound: a date alone means the end of that UTC day (23:59:59.999Z), so that
 * `from=2027-01-01&to=2027-01-01` covers the whole day. Times are stored to the millisecond.
 */
export const toBoundSchema = z
  .union([dateTimeSchema, dateSchema.transform((day) => `${day}T23:59:59.999Z`)])
  .describe('Inclusive upper bound: a date-time with a time zone, or a date for the end of that UTC day');
