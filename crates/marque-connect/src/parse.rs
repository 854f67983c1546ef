//! Parsing source text into typed canonical values: dates and timestamps in the formats Chinese
//! systems export, amounts (commas, ¥, 万), numbers that spreadsheets mangled.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use marque_core::text::halfwidth;

/// Date formats tried when a connector gives none.
pub const DEFAULT_DATE_FORMATS: &[&str] = &[
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y年%m月%d日",
    "%Y.%m.%d",
    "%d/%m/%Y",
];

/// Date-time formats tried when a connector gives none (after RFC 3339).
pub const DEFAULT_TIMESTAMP_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y%m%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
];

const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// `+08:00`, `-05:00`, `Z` or `UTC` as an offset.
pub fn parse_offset(s: &str) -> Option<FixedOffset> {
    if s == "Z" || s.eq_ignore_ascii_case("utc") {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * secs)
}

/// Strips what spreadsheets and people add around a value: spaces, full-width forms, a leading
/// apostrophe (Excel's "text" marker). Borrows when nothing but trimming was needed, which is
/// almost always.
pub fn clean(raw: &str) -> Cow<'_, str> {
    let strip = |s: &str| -> (usize, usize) {
        let t = trim(s);
        let u = match t.strip_prefix('\'') {
            Some(rest) => trim(rest),
            None => t,
        };
        let start = u.as_ptr() as usize - s.as_ptr() as usize;
        (start, start + u.len())
    };
    if !may_have_fullwidth(raw) {
        let (a, b) = strip(raw);
        return Cow::Borrowed(&raw[a..b]);
    }
    let s = halfwidth(raw);
    let (a, b) = strip(&s);
    Cow::Owned(s[a..b].to_string())
}

/// `str::trim`, without decoding characters when neither end can be white space (nearly
/// always).
pub fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    // The lead byte of the last character: at most three continuation bytes back.
    let last = b.iter().rev().take(4).find(|c| !(0x80..=0xBF).contains(*c));
    match (b.first(), last) {
        (Some(f), Some(l)) if solid_lead(*f) && solid_lead(*l) => s,
        _ => s.trim(),
    }
}

/// Whether a character starting with lead byte `c` is certainly not white space: Unicode white
/// space is ASCII (tab to carriage return, space) or starts with 0xC2 (U+0085, U+00A0), 0xE1
/// (U+1680), 0xE2 (U+2000–U+205F) or 0xE3 (U+3000).
fn solid_lead(c: u8) -> bool {
    if c.is_ascii() {
        !c.is_ascii_whitespace() && c != 0x0B
    } else {
        !matches!(c, 0xC2 | 0xE1 | 0xE2 | 0xE3)
    }
}

/// Whether `s` may hold a character [`halfwidth`] rewrites: all of them are encoded with lead
/// byte 0xEF (U+FF01–U+FF5E) or 0xE3 (U+3000).
fn may_have_fullwidth(s: &str) -> bool {
    // A plain loop, not `memchr2`: fields are short, and this runs on every text field.
    !s.is_ascii()
        && s.bytes()
            .fold(false, |seen, b| seen | (b == 0xEF) | (b == 0xE3))
        && s.chars().any(is_fullwidth)
}

/// The characters [`halfwidth`] rewrites.
fn is_fullwidth(c: char) -> bool {
    matches!(c, '\u{FF01}'..='\u{FF5E}' | '\u{3000}')
}

fn plausible(d: NaiveDate) -> bool {
    use chrono::Datelike;
    (1900..=2100).contains(&d.year())
}

/// A calendar date as days since 1970-01-01.
pub fn parse_date(raw: &str, formats: &[String]) -> Result<i32, String> {
    let s = clean(raw);
    if formats.is_empty()
        && let Some(d) = fast_iso_date(s.as_bytes())
        && plausible(d)
    {
        return Ok(d.num_days_from_ce_compat());
    }
    let date = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        // 20230501: chrono's %Y would swallow the month, so split by hand.
        NaiveDate::from_ymd_opt(
            s[..4].parse().unwrap_or(0),
            s[4..6].parse().unwrap_or(0),
            s[6..].parse().unwrap_or(0),
        )
    } else {
        try_formats(&s, formats, DEFAULT_DATE_FORMATS, |s, f| {
            NaiveDate::parse_from_str(s, f).ok()
        })
        .or_else(|| parse_naive_datetime(&s, &[]).map(|dt| dt.date()))
        .or_else(|| {
            DateTime::parse_from_rfc3339(&s)
                .ok()
                .map(|dt| dt.date_naive())
        })
    };
    match date {
        Some(d) if plausible(d) => Ok(d.num_days_from_ce_compat()),
        Some(d) => Err(format!("date {d} is outside 1900–2100")),
        None => Err(format!("{s:?} is not a valid date")),
    }
}

trait DaysSinceEpoch {
    fn num_days_from_ce_compat(&self) -> i32;
}
impl DaysSinceEpoch for NaiveDate {
    fn num_days_from_ce_compat(&self) -> i32 {
        use chrono::Datelike;
        self.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE
    }
}

fn try_formats<T>(
    s: &str,
    given: &[String],
    defaults: &[&str],
    f: impl Fn(&str, &str) -> Option<T>,
) -> Option<T> {
    if given.is_empty() {
        defaults.iter().find_map(|fmt| f(s, fmt))
    } else {
        given.iter().find_map(|fmt| f(s, fmt))
    }
}

fn parse_naive_datetime(s: &str, formats: &[String]) -> Option<NaiveDateTime> {
    try_formats(s, formats, DEFAULT_TIMESTAMP_FORMATS, |s, f| {
        NaiveDateTime::parse_from_str(s, f).ok()
    })
}

/// An instant as microseconds since the epoch (UTC). Values without an offset are read in
/// `offset` (the connector's time zone, +08:00 by default); a bare date means local midnight.
pub fn parse_timestamp(raw: &str, formats: &[String], offset: FixedOffset) -> Result<i64, String> {
    let s = clean(raw);
    match fast_timestamp(s.as_bytes(), formats, offset) {
        Some(micros) => Ok(micros),
        None => parse_timestamp_general(&s, formats, offset),
    }
}

/// [`parse_timestamp`] without its fast path.
fn parse_timestamp_general(
    s: &str,
    formats: &[String],
    offset: FixedOffset,
) -> Result<i64, String> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.timestamp_micros());
    }
    let naive = parse_naive_datetime(s, formats).or_else(|| {
        let days = parse_date(s, formats).ok()?;
        let d = NaiveDate::from_num_days_from_ce_opt(days + UNIX_EPOCH_DAYS_FROM_CE)?;
        Some(d.and_time(NaiveTime::MIN))
    });
    match naive {
        Some(n) if plausible(n.date()) => offset
            .from_local_datetime(&n)
            .single()
            .map(|dt| dt.timestamp_micros())
            .ok_or_else(|| format!("{s:?} does not exist in {offset}")),
        Some(n) => Err(format!("timestamp {n} is outside 1900–2100")),
        None => Err(format!("{s:?} is not a valid date-time")),
    }
}

/// A money amount: `189800`, `189,800.00`, `¥189,800`, `18.98万`, `1.898E+05`.
pub fn parse_amount(raw: &str) -> Result<f64, String> {
    let s = clean(raw);
    if is_plain_decimal(s.as_bytes())
        && let Ok(v) = s.parse::<f64>()
        && v.is_finite()
    {
        return Ok((v * 100.0).round() / 100.0);
    }
    let mut t: String = s
        .chars()
        .filter(|c| !matches!(c, ',' | '¥' | '￥' | ' '))
        .collect();
    let mut scale = 1.0;
    for (suffix, factor) in [("万元", 1e4), ("万", 1e4), ("元", 1.0)] {
        if let Some(stem) = t.strip_suffix(suffix) {
            t = stem.to_string();
            scale = factor;
            break;
        }
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok((v * scale * 100.0).round() / 100.0),
        _ => Err(format!("{s:?} is not an amount")),
    }
}

/// A whole number, accepting `12,345`, `12345.0` and `1.2345E+04`.
pub fn parse_integer(raw: &str) -> Result<i64, String> {
    let s = clean(raw);
    if let Ok(v) = s.parse::<i64>() {
        return Ok(v);
    }
    let t: String = s.chars().filter(|c| *c != ',').collect();
    if let Ok(v) = t.parse::<i64>() {
        return Ok(v);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9e15 => Ok(v as i64),
        _ => Err(format!("{s:?} is not a whole number")),
    }
}

/// `-?digits[.digits]`: what [`parse_amount`] reads without rewriting.
fn is_plain_decimal(b: &[u8]) -> bool {
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let mut dots = 0;
    !b.is_empty()
        && b[0].is_ascii_digit()
        && b.iter().all(|&c| {
            dots += usize::from(c == b'.');
            c.is_ascii_digit() || (c == b'.' && dots == 1)
        })
}

fn digits_at(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let d = b.get(at..at + n)?;
    d.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// `YYYY-MM-DD` exactly (the first default date format, the common case), or `None` to let the
/// general parser decide.
fn fast_iso_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(
        digits_at(b, 0, 4)? as i32,
        digits_at(b, 5, 2)?,
        digits_at(b, 8, 2)?,
    )
}

/// `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`, optionally followed by `Z` or `±HH:MM`: the
/// shapes nearly every export uses, parsed without chrono's format interpreter. `None` means "ask
/// the general parser", which gives the same answer for every string accepted here; naive values
/// take this path only when the connector's formats would read them the same way.
fn fast_timestamp(b: &[u8], formats: &[String], offset: FixedOffset) -> Option<i64> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let sep = b[10];
    let date = NaiveDate::from_ymd_opt(
        digits_at(b, 0, 4)? as i32,
        digits_at(b, 5, 2)?,
        digits_at(b, 8, 2)?,
    )?;
    let time = NaiveTime::from_hms_opt(
        digits_at(b, 11, 2)?,
        digits_at(b, 14, 2)?,
        digits_at(b, 17, 2)?,
    )?;
    let naive = date.and_time(time);
    if !plausible(date) {
        return None;
    }
    let tz = match &b[19..] {
        [] => {
            let format = match sep {
                b' ' => "%Y-%m-%d %H:%M:%S",
                b'T' => "%Y-%m-%dT%H:%M:%S",
                _ => return None,
            };
            let first = formats
                .first()
                .map_or(DEFAULT_TIMESTAMP_FORMATS[0], String::as_str);
            // With the defaults, `T` is the second format; the first cannot read it.
            let same = first == format || (formats.is_empty() && sep == b'T');
            if !same {
                return None;
            }
            offset
        }
        // RFC 3339 is tried before any format, so an explicit offset decides.
        [b'Z'] if sep == b'T' || sep == b' ' => FixedOffset::east_opt(0)?,
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest[2] == b':' => {
            let (h, m) = (digits_at(rest, 0, 2)?, digits_at(rest, 3, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = (h * 3600 + m * 60) as i32;
            FixedOffset::east_opt(if *sign == b'-' { -secs } else { secs })?
        }
        _ => return None,
    };
    tz.from_local_datetime(&naive)
        .single()
        .map(|dt| dt.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_agrees_with_str_trim_for_every_kind_of_end() {
        let ends = [
            "", "a", " ", "\t", "\u{0B}", "\u{85}", "\u{A0}", "\u{1680}", "\u{2003}", "\u{205F}",
            "\u{3000}", "王", "é", "\u{FF21}", "😀", "\u{E000}",
        ];
        for a in ends {
            for b in ends {
                for mid in ["", "x", "李 娜"] {
                    let s = format!("{a}{mid}{b}");
                    assert_eq!(trim(&s), s.trim(), "trim({s:?})");
                }
            }
        }
    }

    fn day(y: i32, m: u32, d: u32) -> i32 {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .num_days_from_ce_compat()
    }

    #[test]
    fn dates_in_every_export_format() {
        for raw in [
            "2023-05-01",
            "2023/5/1",
            "20230501",
            "2023年5月1日",
            "2023.05.01",
            " ２０２３-０５-０１ ",
            "2023-05-01 10:00:00",
        ] {
            assert_eq!(parse_date(raw, &[]), Ok(day(2023, 5, 1)), "{raw}");
        }
        assert_eq!(parse_date("1970-01-01", &[]), Ok(0));
    }

    #[test]
    fn impossible_dates_are_errors() {
        for raw in ["2023-02-30", "20231301", "", "soon", "0023-01-01"] {
            assert!(parse_date(raw, &[]).is_err(), "{raw}");
        }
    }

    #[test]
    fn timestamps_default_to_china_time() {
        let cst = parse_offset("+08:00").unwrap();
        let utc_midnight = parse_timestamp("2023-05-01T00:00:00Z", &[], cst).unwrap();
        assert_eq!(
            parse_timestamp("2023-05-01 08:00:00", &[], cst),
            Ok(utc_midnight)
        );
        assert_eq!(
            parse_timestamp("2023-05-01T08:00:00+08:00", &[], cst),
            Ok(utc_midnight)
        );
        assert!(parse_timestamp("2023-05-01 25:00:00", &[], cst).is_err());
    }

    #[test]
    fn fast_paths_agree_with_the_general_parser() {
        let cst = parse_offset("+08:00").unwrap();
        let custom = ["%Y-%m-%d %H:%M:%S".to_string()];
        let other = ["%d/%m/%Y %H:%M".to_string()];
        let mut fast_hits = 0;
        for s in [
            "2023-05-01 10:00:00",
            "2023-05-01T10:00:00",
            "2023-05-01T10:00:00Z",
            "2023-05-01 10:00:00Z",
            "2023-05-01T10:00:00+08:00",
            "2023-05-01 10:00:00-05:30",
            "2023-12-31T23:59:59+00:00",
            "1899-12-31T23:59:59+00:00",
        ] {
            for formats in [&[][..], &custom[..], &other[..]] {
                if let Some(fast) = fast_timestamp(s.as_bytes(), formats, cst) {
                    fast_hits += 1;
                    assert_eq!(
                        Ok(fast),
                        parse_timestamp_general(s, formats, cst),
                        "{s} {formats:?}"
                    );
                }
            }
        }
        assert!(
            fast_hits >= 15,
            "the fast path must cover the common shapes"
        );
        assert!(fast_timestamp(b"2023-05-01T10:00:00", &other, cst).is_none());
        assert!(fast_timestamp(b"2023-05-01 10:00:00+08:60", &[], cst).is_none());
        assert!(fast_timestamp(b"2023-02-30 10:00:00", &[], cst).is_none());
        assert_eq!(parse_date("2023-05-01", &[]), Ok(day(2023, 5, 1)));
        assert!(parse_date("1800-05-01", &[]).is_err());
        assert_eq!(parse_amount("-12.5"), Ok(-12.5));
        assert_eq!(parse_amount("1.2.3").ok(), None);
        assert_eq!(clean(" 'abc "), "abc");
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\u{3000}a\u{3000}",
            "a\u{b}",
            "\u{85}x",
            "王 ",
            " 伟",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
        assert_eq!(clean("\u{3000}ＡＢ１"), "AB1");
    }

    #[test]
    fn amounts_as_people_write_them() {
        assert_eq!(parse_amount("189,800.00"), Ok(189800.0));
        assert_eq!(parse_amount("¥189800"), Ok(189800.0));
        assert_eq!(parse_amount("18.98万"), Ok(189800.0));
        assert_eq!(parse_amount("1.898E+05"), Ok(189800.0));
        assert_eq!(parse_amount("'350.5"), Ok(350.5));
        assert!(parse_amount("abc").is_err());
        assert!(parse_amount("NaN").is_err());
    }

    #[test]
    fn integers_survive_spreadsheets() {
        assert_eq!(parse_integer("12,345"), Ok(12345));
        assert_eq!(parse_integer("1.2345E+04"), Ok(12345));
        assert_eq!(parse_integer("１２３"), Ok(123));
        assert!(parse_integer("12.5").is_err());
    }
}
