/**
 * A schedule as `cron._lite_parse_schedule` (stack/db/extensions/pg_cron--1.6-lite.sql) returns it: the one parser,
 * in SQL, so that what `cron.schedule` accepts and what the scheduler runs cannot drift apart.
 */
export type ParsedSchedule = { seconds: number } | { reboot: true } | CronFields;

/** The values each of the five fields matches, and the flags that decide how the two day fields combine. */
export interface CronFields {
  minute: number[];
  hour: number[];
  dom: number[];
  month: number[];
  /** 0–7; Sunday is both 0 and 7. */
  dow: number[];
  /** The day-of-month field starts with `*`. */
  dom_star: boolean;
  /** The day-of-week field starts with `*`. */
  dow_star: boolean;
  /** The day-of-month field is `$` (last day of the month). */
  dom_last: boolean;
}

const DAY_MS = 86_400_000;

/**
 * Whether a 5-field schedule is due in the minute starting at `minute`, evaluated in UTC (pg_cron's default
 * `cron.timezone`). As in Vixie cron, day-of-month and day-of-week must both match when either field starts with
 * `*`, and either may match when both are restricted.
 */
export function dueInMinute(schedule: CronFields, minute: Date): boolean {
  const isLastDay = new Date(minute.getTime() + DAY_MS).getUTCDate() === 1;
  const domMatches = schedule.dom.includes(minute.getUTCDate()) || (schedule.dom_last && isLastDay);
  const dowMatches = schedule.dow.includes(minute.getUTCDay());
  const dayMatches = schedule.dom_star || schedule.dow_star ? domMatches && dowMatches : domMatches || dowMatches;
  return (
    dayMatches &&
    schedule.minute.includes(minute.getUTCMinutes()) &&
    schedule.hour.includes(minute.getUTCHours()) &&
    schedule.month.includes(minute.getUTCMonth() + 1)
  );
}
