//! Renderers that apply dirt to one value: phone formats, full-width digits, masking, resident
//! id variants, date and amount formats, name spellings.

use std::fmt::Write;

use chrono::Datelike;
use rand::Rng;

use crate::dirt::DirtRates;
use crate::names::{Name, Spelling};
use crate::rng::chance;
use crate::time::{self, Day};

/// Replaces ASCII digits (and X/x) by their full-width forms.
pub fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' | 'X' | 'x' => char::from_u32(c as u32 - 0x20 + 0xFF00).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// A phone written as a customer or clerk would type it. `mask` writes `138****8000`.
pub fn phone<R: Rng + ?Sized>(rng: &mut R, dirt: &DirtRates, n: u64, mask: bool) -> String {
    let d = n.to_string();
    if d.len() != 11 {
        return d;
    }
    let (a, b, c) = (&d[..3], &d[3..7], &d[7..]);
    if mask {
        return format!("{a}****{c}");
    }
    let s = if chance(rng, dirt.phone_format_noise) {
        match rng.random_range(0..5) {
            0 => format!("+86{d}"),
            1 => format!("+86 {a} {b} {c}"),
            2 => format!("{a}-{b}-{c}"),
            3 => format!("{a} {b} {c}"),
            _ => format!("86-{d}"),
        }
    } else {
        d
    };
    if chance(rng, dirt.fullwidth_digits) {
        fullwidth(&s)
    } else {
        s
    }
}

/// A name written with the traditional / homophone dirt applied.
pub fn name<R: Rng + ?Sized>(rng: &mut R, dirt: &DirtRates, n: &Name) -> String {
    let spelling = if chance(rng, dirt.traditional_name) {
        Spelling::Traditional
    } else if chance(rng, dirt.homophone_name) {
        Spelling::Homophone
    } else {
        Spelling::Plain
    };
    let mut s = String::with_capacity(12);
    n.render(spelling, &mut s);
    s
}

/// A resident id as a DMS clerk enters it: missing, lower-case x, full-width, or clean.
pub fn resident_id<R: Rng + ?Sized>(rng: &mut R, dirt: &DirtRates, id: &str) -> String {
    if chance(rng, dirt.missing_resident_id) {
        return String::new();
    }
    let s = if id.ends_with('X') && chance(rng, dirt.lowercase_x_resident_id) {
        id.replace('X', "x")
    } else {
        id.to_string()
    };
    if chance(rng, dirt.fullwidth_digits) {
        fullwidth(&s)
    } else {
        s
    }
}

/// An invoice date in one of the formats DMS exports use.
pub fn sales_date<R: Rng + ?Sized>(rng: &mut R, dirt: &DirtRates, d: Day) -> String {
    let x = time::date(d);
    let (y, m, dd) = (x.year(), x.month(), x.day());
    let mut s = String::with_capacity(16);
    let style = if chance(rng, dirt.mixed_date_format) {
        rng.random_range(1..5)
    } else {
        0
    };
    let _ = match style {
        0 => write!(s, "{y:04}-{m:02}-{dd:02}"),
        1 => write!(s, "{y}/{m}/{dd}"),
        2 => write!(s, "{y:04}{m:02}{dd:02}"),
        3 => write!(s, "{y}年{m}月{dd}日"),
        _ => write!(s, "{y:04}.{m:02}.{dd:02}"),
    };
    s
}

/// An impossible date of the invoice's year, such as `2023-02-30`.
pub fn impossible_date<R: Rng + ?Sized>(rng: &mut R, d: Day) -> String {
    const BAD: &[&str] = &[
        "02-30", "02-31", "04-31", "06-31", "09-31", "11-31", "13-01", "00-10",
    ];
    format!(
        "{}-{}",
        time::date(d).year(),
        BAD[rng.random_range(0..BAD.len())]
    )
}

/// A price in yuan: `189800`, `189,800.00` or `18.98万`.
pub fn amount<R: Rng + ?Sized>(rng: &mut R, dirt: &DirtRates, yuan: u32) -> String {
    if !chance(rng, dirt.mixed_amount_format) {
        return yuan.to_string();
    }
    if rng.random_bool(0.5) {
        format!("{},{:03}.00", yuan / 1000, yuan % 1000)
    } else {
        let wan = yuan / 100; // in units of 0.01 万
        let s = format!("{}.{:02}", wan / 100, wan % 100);
        let s = s.trim_end_matches('0').trim_end_matches('.');
        format!("{s}万")
    }
}

/// Money with two decimals: `380.00`.
pub fn money(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn amounts_and_phones_render() {
        let mut all = DirtRates::none();
        all.mixed_amount_format = 1.0;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            seen.insert(amount(&mut rng, &all, 189_800));
        }
        assert!(
            seen.contains("189,800.00") && seen.contains("18.98万"),
            "{seen:?}"
        );
        assert_eq!(amount(&mut rng, &DirtRates::none(), 189_800), "189800");
        assert_eq!(
            phone(&mut rng, &DirtRates::none(), 13_812_348_000, true),
            "138****8000"
        );
        assert_eq!(
            phone(&mut rng, &DirtRates::none(), 13_812_348_000, false),
            "13812348000"
        );
        assert_eq!(fullwidth("13x"), "１３ｘ");
        let mut noisy = DirtRates::none();
        noisy.phone_format_noise = 1.0;
        noisy.fullwidth_digits = 0.5;
        for _ in 0..50 {
            let s = phone(&mut rng, &noisy, 13_812_348_001, false);
            assert_eq!(
                marque_core::phone::parse(&s),
                marque_core::phone::Phone::Mobile("+8613812348001".into()),
                "{s}"
            );
        }
    }
}
