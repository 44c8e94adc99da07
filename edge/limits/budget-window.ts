import type { BudgetPeriod } from "../../shared/contract/budgets.ts";

/** A budget's calendar window: from local midnight of its first day to local midnight after its last, in epoch ms. */
export interface WindowBounds {
  start: number;
  resetAt: number;
}

interface LocalDate {
  year: number;
  /** 1 to 12. */
  month: number;
  day: number;
}

const dayMs = 86_400_000;

/**
 * The day or month `nowMs` falls in, in `timeZone` (IANA). A zone the runtime does not know
 * counts as UTC: regional checks zones when budgets are set, so only a runtime older than
 * regional's would meet one, and a budget must not stop being enforced for it.
 */
export function budgetWindow(period: BudgetPeriod, timeZone: string, nowMs: number): WindowBounds {
  const zone = formatterOf(timeZone);
  const today = zone ? localDate(zone, nowMs) : utcDate(nowMs);
  const first = period === "day" ? today : { ...today, day: 1 };
  const next = period === "day" ? addDays(first, 1) : addMonth(first);
  return zone ? { start: midnight(zone, first), resetAt: midnight(zone, next) } : { start: utcMidnight(first), resetAt: utcMidnight(next) };
}

// Building a formatter costs far more than using one; a key's budgets use one or two zones.
const formatters = new Map<string, Intl.DateTimeFormat | null>();

/** The zone's formatter, or null for UTC (computed without one) and for a zone the runtime does not know. */
function formatterOf(timeZone: string): Intl.DateTimeFormat | null {
  if (timeZone === "UTC") return null;
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      formatter = null;
    }
    if (formatters.size >= 256) formatters.clear();
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/**
 * The first instant of `date` in the zone: usually its local midnight. Two rounds of
 * "wall clock minus offset" settle a day that starts near a daylight-saving change; where
 * midnight itself is skipped (the clock jumps from 23:59 to 01:00), the day starts at the jump.
 */
function midnight(zone: Intl.DateTimeFormat, date: LocalDate): number {
  const wall = utcMidnight(date);
  let instant = wall - offsetAt(zone, wall);
  instant = wall - offsetAt(zone, instant);
  const local = wallClock(zone, instant);
  if (local < wall) instant += dayMs - (local % dayMs);
  return instant;
}

/** The zone's wall clock at `instant`, as if it were UTC (epoch ms). */
function wallClock(zone: Intl.DateTimeFormat, instant: number): number {
  const parts: Record<string, number> = {};
  for (const part of zone.formatToParts(instant)) if (part.type !== "literal") parts[part.type] = Number(part.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

/** How far the zone's wall clock is ahead of UTC at `instant`. */
function offsetAt(zone: Intl.DateTimeFormat, instant: number): number {
  const whole = Math.floor(instant / 1000) * 1000;
  return wallClock(zone, whole) - whole;
}

function localDate(zone: Intl.DateTimeFormat, instant: number): LocalDate {
  return utcDate(wallClock(zone, instant));
}

function utcDate(instant: number): LocalDate {
  const date = new Date(instant);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

function utcMidnight(date: LocalDate): number {
  return Date.UTC(date.year, date.month - 1, date.day);
}

function addDays(date: LocalDate, days: number): LocalDate {
  return utcDate(utcMidnight(date) + days * dayMs);
}

function addMonth(date: LocalDate): LocalDate {
  return date.month === 12 ? { year: date.year + 1, month: 1, day: 1 } : { year: date.year, month: date.month + 1, day: 1 };
}
