import { z } from "zod";

// `timestamptz::text` under DateStyle ISO: `2025-06-01 12:34:56.123456+00`, offset `+05:30` or `-03:30:45` at most.
const pattern = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2})){0,2}$/;

/**
 * True for a timestamp as Postgres prints a `timestamptz` (what a page cursor carries back),
 * with a date that exists: text that merely looks like one (`2025-02-31 ...`) would make the
 * `::timestamptz` cast fail inside the query, a 500 instead of the client's 400.
 */
export function isPgTimestampText(text: string): boolean {
  const match = pattern.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second, offsetHours] = match.slice(1, 8).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < 1 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 || offsetHours > 15) return false;
  // Day 0 of the next month is the last day of this one.
  return day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A zod string that is a `timestamptz` as Postgres printed it. */
export const pgTimestampText = z.string().max(40).refine(isPgTimestampText, "not a timestamp");

/**
 * An ISO 8601 time a query may filter by. Year 0000 passes ISO 8601 but not Postgres (there
 * is no year 0 in its calendar): refused here as a 400 instead of failing in the query.
 */
export const isoDateTimeParam = z.iso
  .datetime({ offset: true })
  .refine((text) => Number(text.slice(0, 4)) >= 1, "the year must be 0001 or later");
