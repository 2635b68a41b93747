//! When a schedule fires: a cron expression (5 fields, or 6 with seconds first) evaluated in
//! an IANA time zone by a cron library (croner, POSIX semantics; daylight-saving gaps and
//! repeats handled by it), plus a deterministic offset inside the schedule's spread window so
//! that many tenants on one expression do not all start in the same second.
//!
//! A **tick** is one fire time of the expression; it names the schedule's run for that time
//! (the database admits one run per schedule and tick). After downtime only the latest
//! missed tick is run: one catch-up run, never a storm.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::Cron;

use super::Invalid;

/// The longest spread window (a day): offsets past the next tick make no sense.
pub const MAX_SPREAD_SECS: u32 = 86_400;

/// A parsed, valid schedule timing.
#[derive(Debug, Clone)]
pub struct Timing {
    cron: Cron,
    zone: Tz,
    /// Seconds after each tick this schedule's run starts (`< spread`).
    offset_secs: u32,
}

impl Timing {
    /// `salt` (the schedule's id) places the offset inside `spread_secs`.
    pub fn parse(cron: &str, zone: &str, spread_secs: u32, salt: &[u8]) -> Result<Self, Invalid> {
        let text = cron.trim();
        if text.is_empty() || text.len() > 200 {
            return Err(Invalid::new(
                "cron",
                "give a cron expression such as \"0 2 * * *\"",
            ));
        }
        let fields = text.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(Invalid::new(
                "cron",
                format!(
                    "{text:?} has {fields} fields; give 5 (minute hour day month weekday) or 6 (with seconds first)"
                ),
            ));
        }
        let cron: Cron = text
            .parse()
            .map_err(|e| Invalid::new("cron", format!("{text:?} is not a cron expression: {e}")))?;
        let zone: Tz = zone.trim().parse().map_err(|_| {
            Invalid::new(
                "timezone",
                format!("{zone:?} is not an IANA time zone (such as \"Europe/Berlin\" or \"UTC\")"),
            )
        })?;
        if spread_secs > MAX_SPREAD_SECS {
            return Err(Invalid::new(
                "spread_secs",
                format!("at most {MAX_SPREAD_SECS} (a day)"),
            ));
        }
        let timing = Self {
            cron,
            zone,
            offset_secs: offset(salt, spread_secs),
        };
        // An expression that never fires (30 February) is a mistake, said now.
        timing
            .next_tick_after(Utc::now())
            .ok_or_else(|| Invalid::new("cron", format!("{text:?} never fires")))?;
        Ok(timing)
    }

    pub fn offset(&self) -> Duration {
        Duration::seconds(i64::from(self.offset_secs))
    }

    /// The first tick strictly after `after`.
    pub fn next_tick_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The latest tick at or before `at`.
    pub fn last_tick_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&self.zone);
        self.cron
            .find_previous_occurrence(&local, true)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// When the run of the first tick after `after` starts (tick + offset).
    pub fn next_run_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_tick_after(after).map(|t| t + self.offset())
    }

    /// When the next run starts, seen from `now`: today's tick whose offset has not passed
    /// yet, or else the next tick's.
    pub fn next_start(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.last_tick_at_or_before(now)
            .map(|t| t + self.offset())
            .filter(|start| *start > now)
            .or_else(|| self.next_run_after(now))
    }

    /// The tick due at `now`: the latest tick whose start time (tick + offset) has come.
    pub fn due_tick(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.last_tick_at_or_before(now - self.offset())
    }
}

/// A stable offset in `0..spread` from `salt` (FNV-1a: the same on every worker and release).
fn offset(salt: &[u8], spread_secs: u32) -> u32 {
    if spread_secs == 0 {
        return 0;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(spread_secs)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn timing(cron: &str, zone: &str) -> Timing {
        Timing::parse(cron, zone, 0, b"s").unwrap()
    }

    #[test]
    fn a_daily_time_follows_the_zone_through_both_changes() {
        let t = timing("0 2 * * *", "Europe/Berlin");
        // Winter: 02:00 CET is 01:00 UTC; summer: 02:00 CEST is 00:00 UTC.
        assert_eq!(
            t.next_tick_after(utc(2026, 1, 10, 12, 0)),
            Some(utc(2026, 1, 11, 1, 0))
        );
        assert_eq!(
            t.next_tick_after(utc(2026, 7, 10, 12, 0)),
            Some(utc(2026, 7, 11, 0, 0))
        );
    }

    #[test]
    fn the_spring_gap_fires_once_and_the_autumn_repeat_once() {
        // 29 March 2026: Berlin skips 02:00–03:00. The 02:30 run happens once that day.
        let t = timing("30 2 * * *", "Europe/Berlin");
        let mut fires = Vec::new();
        let mut at = utc(2026, 3, 27, 12, 0);
        while let Some(next) = t.next_tick_after(at) {
            if next > utc(2026, 3, 31, 0, 0) {
                break;
            }
            fires.push(next);
            at = next;
        }
        let days: Vec<u32> = fires
            .iter()
            .map(|f| chrono::Datelike::day(&f.with_timezone(&chrono_tz::Europe::Berlin)))
            .collect();
        assert_eq!(days, [28, 29, 30], "{fires:?}");
        assert_eq!(fires[0], utc(2026, 3, 28, 1, 30));
        assert_eq!(fires[2], utc(2026, 3, 30, 0, 30));
        // 25 October 2026: 02:30 happens twice on the wall clock; the run happens once.
        let mut fires = Vec::new();
        let mut at = utc(2026, 10, 24, 12, 0);
        while let Some(next) = t.next_tick_after(at) {
            if next > utc(2026, 10, 27, 0, 0) {
                break;
            }
            fires.push(next);
            at = next;
        }
        // Once, at the first 02:30 (CEST), not again an hour later (CET).
        assert_eq!(
            fires,
            [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
            "{fires:?}"
        );
    }

    #[test]
    fn after_downtime_the_latest_missed_tick_is_due() {
        let t = timing("*/5 * * * *", "UTC");
        assert_eq!(
            t.due_tick(utc(2026, 5, 1, 10, 17)),
            Some(utc(2026, 5, 1, 10, 15))
        );
        let with_seconds = timing("*/2 * * * * *", "UTC");
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 5).unwrap();
        assert_eq!(
            with_seconds.due_tick(now),
            Some(Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 4).unwrap())
        );
    }

    #[test]
    fn the_spread_offset_is_stable_and_inside_the_window() {
        let a = Timing::parse("0 2 * * *", "UTC", 600, b"tenant-a").unwrap();
        let again = Timing::parse("0 2 * * *", "UTC", 600, b"tenant-a").unwrap();
        assert_eq!(a.offset(), again.offset());
        let offsets: std::collections::HashSet<i64> = (0..200)
            .map(|i| {
                Timing::parse("0 2 * * *", "UTC", 600, format!("t{i}").as_bytes())
                    .unwrap()
                    .offset()
                    .num_seconds()
            })
            .collect();
        assert!(offsets.iter().all(|o| (0..600).contains(o)));
        assert!(
            offsets.len() > 100,
            "200 tenants spread over {} seconds",
            offsets.len()
        );
        let due = a.due_tick(utc(2026, 5, 2, 2, 0));
        assert_eq!(
            due,
            Some(utc(2026, 5, 1, 2, 0)),
            "today's run starts after its offset"
        );
    }

    #[test]
    fn bad_expressions_and_zones_name_their_field() {
        for (cron, zone, field) in [
            ("0 2 * *", "UTC", "cron"),
            ("61 * * * *", "UTC", "cron"),
            ("every night", "UTC", "cron"),
            ("0 0 30 2 *", "UTC", "cron"),
            ("0 2 * * *", "Mars/Olympus", "timezone"),
        ] {
            let err = Timing::parse(cron, zone, 0, b"s").unwrap_err();
            assert_eq!(err.field, field, "{cron} {zone}: {err}");
        }
        assert_eq!(
            Timing::parse("0 2 * * *", "UTC", MAX_SPREAD_SECS + 1, b"s")
                .unwrap_err()
                .field,
            "spread_secs"
        );
    }
}
