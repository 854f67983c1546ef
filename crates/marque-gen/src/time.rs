//! The calendar of the modelled world: days since 2019-01-01 up to 2026-10-31, and formatting.

use std::fmt::Write;

use chrono::{Datelike, NaiveDate};

/// Days since 2019-01-01 (day 0).
pub type Day = i32;

/// `NaiveDate::num_days_from_ce` of 2019-01-01.
const START_CE: i32 = 737_060;
/// One past the last day of the span (2026-10-31 is `END - 1`).
pub const END: Day = 2861;
/// Unix seconds of 2019-01-01T00:00:00+08:00.
pub const START_UNIX_LOCAL: i64 = 1_546_272_000;

/// The calendar date of a day.
pub fn date(d: Day) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(START_CE + d.clamp(-100_000, 100_000)).unwrap_or_default()
}

/// Appends `YYYY-MM-DD`.
pub fn iso(out: &mut String, d: Day) {
    let x = date(d);
    let _ = write!(out, "{:04}-{:02}-{:02}", x.year(), x.month(), x.day());
}

/// `YYYY-MM-DD` as a new string.
pub fn iso_string(d: Day) -> String {
    let mut s = String::with_capacity(10);
    iso(&mut s, d);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_constants_match_the_calendar() {
        assert_eq!(date(0), NaiveDate::from_ymd_opt(2019, 1, 1).unwrap());
        assert_eq!(
            date(END - 1),
            NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()
        );
        let t = date(0).and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
        assert_eq!(t - 8 * 3600, START_UNIX_LOCAL);
        assert_eq!(iso_string(59), "2019-03-01");
    }
}
