//! Chinese resident identity numbers (GB 11643): 18 characters with an ISO 7064 MOD 11-2 check
//! character, old 15-digit numbers upgraded to 18, the birth date and gender they encode, and
//! the keyed hash under which they are stored (never in clear).

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::name::Gender;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// The check character for the first 17 digits, or `None` if one of them is not a digit.
pub fn check_char(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (i, &c) in first17.iter().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        sum += (c - b'0') as u32 * WEIGHTS[i];
    }
    Some(CHECK[(sum % 11) as usize])
}

/// A resident id that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentId {
    /// 18 characters, upper-case X.
    pub number: String,
    pub birth_date: NaiveDate,
    /// `true` for male (odd sequence digit), as the number encodes it.
    pub male: bool,
}

impl ResidentId {
    /// The gender the sequence digit encodes (odd: male).
    pub fn gender(&self) -> Gender {
        if self.male {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// The six-digit administrative division code of registration (e.g. `310115`).
    pub fn region_code(&self) -> &str {
        &self.number[..6]
    }

    /// The number masked for display: first 6 and last 4 characters (`110105********002X`).
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.number[..6], &self.number[14..])
    }

    /// The keyed hash under which the number is stored; see [`keyed_hash`].
    pub fn keyed_hash(&self, key: &[u8]) -> String {
        hmac_hex(&self.number, key)
    }
}

/// Province-level codes (the first two digits) that GB/T 2260 assigns, plus 81–83 used by
/// residence permits of Hong Kong, Macao and Taiwan residents.
const PROVINCES: &[u8] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];

fn clean(raw: &str) -> String {
    crate::text::halfwidth(raw)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// Upgrades an old 15-digit number (6 region + YYMMDD + 3 sequence, all born 19YY) to its
/// 18-character form, computing the check character.
pub fn upgrade15(old: &str) -> Option<String> {
    let b = old.as_bytes();
    if b.len() != 15 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let first17 = format!("{}19{}", &old[..6], &old[6..]);
    let c = check_char(first17.as_bytes())? as char;
    Some(format!("{first17}{c}"))
}

/// Parses and validates: full-width digits, spaces and a lower-case x are accepted, old 15-digit
/// numbers are upgraded to 18, the province code, check character and birth date must be right.
pub fn parse(raw: &str) -> Option<ResidentId> {
    let mut s = clean(raw);
    if s.len() == 15 {
        s = upgrade15(&s)?;
    }
    let b = s.as_bytes();
    if b.len() != 18 || check_char(&b[..17])? != b[17] {
        return None;
    }
    if !PROVINCES.contains(&((b[0] - b'0') * 10 + (b[1] - b'0'))) {
        return None;
    }
    let year: i32 = s[6..10].parse().ok()?;
    let month: u32 = s[10..12].parse().ok()?;
    let day: u32 = s[12..14].parse().ok()?;
    let birth_date = NaiveDate::from_ymd_opt(year, month, day)?;
    if !(1900..=2100).contains(&year) {
        return None;
    }
    let male = (b[16] - b'0') % 2 == 1;
    Some(ResidentId {
        number: s,
        birth_date,
        male,
    })
}

fn hmac_hex(data: &str, key: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// HMAC-SHA256 of a resident id under a secret key, as 64 lower-case hex characters: the only
/// form in which ids are stored. The raw value is normalised first (full-width, spaces, x, and
/// a 15-digit number upgraded), so every spelling of one valid number hashes the same; a value
/// that is not a valid number is hashed as cleaned.
pub fn keyed_hash(id: &str, key: &[u8]) -> String {
    match parse(id) {
        Some(v) => v.keyed_hash(key),
        None => hmac_hex(&clean(id), key),
    }
}

/// Builds a valid number from region code (6 digits), birth date and a 3-digit sequence
/// (odd for men). Used by the generator and by tests.
pub fn build(region: u32, birth: NaiveDate, sequence: u32) -> String {
    use chrono::Datelike;
    let first = format!(
        "{:06}{:04}{:02}{:02}{:03}",
        region % 1_000_000,
        birth.year(),
        birth.month(),
        birth.day(),
        sequence % 1000
    );
    let c = check_char(first.as_bytes()).expect("all digits") as char;
    format!("{first}{c}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_example_validates() {
        // GB 11643-1999's worked example.
        let id = parse("11010519491231002X").unwrap();
        assert_eq!(
            id.birth_date,
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert!(!id.male);
        assert!(parse("11010519491231002x").is_some(), "lower-case x");
        assert!(
            parse("１１０１０５１９４９１２３１００２Ｘ").is_some(),
            "full-width"
        );
    }

    #[test]
    fn wrong_check_or_date_fails() {
        assert!(parse("110105194912310021").is_none());
        assert!(parse("11010519491231002").is_none());
        // valid check digit but 31 February
        let bad = format!("1101051949023100{}", "2");
        let c = check_char(bad.as_bytes()).unwrap() as char;
        assert!(parse(&format!("{bad}{c}")).is_none());
    }

    #[test]
    fn missing_or_placeholder_ids_are_rejected() {
        // DMS rows without an id number, or with stand-ins typed to get past a required field.
        for raw in [
            "",
            " ",
            "无",
            "000000000000000000",
            "111111111111111111",
            "123456789012345678",
        ] {
            assert!(parse(raw).is_none(), "{raw:?}");
        }
    }

    #[test]
    fn old_15_digit_numbers_are_upgraded() {
        // 110105491231002 is the 15-digit form of 11010519491231002X.
        assert_eq!(
            upgrade15("110105491231002").as_deref(),
            Some("11010519491231002X")
        );
        let id = parse("110105491231002").unwrap();
        assert_eq!(id.number, "11010519491231002X");
        assert_eq!(
            id.birth_date,
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.gender(), Gender::Female);
        assert!(parse("110105491331002").is_none(), "month 13");
    }

    #[test]
    fn spaces_and_dashes_inside_are_ignored() {
        assert!(parse("110105 19491231 002X").is_some());
        assert!(parse("110105-19491231-002x").is_some());
    }

    #[test]
    fn unknown_province_code_fails() {
        // A correct check character but province 99 does not exist.
        let first = "99010519491231002";
        let c = check_char(first.as_bytes()).unwrap() as char;
        assert!(parse(&format!("{first}{c}")).is_none());
    }

    #[test]
    fn derived_evidence_and_masking() {
        let id = parse("11010519491231002X").unwrap();
        assert_eq!(id.region_code(), "110105");
        assert_eq!(id.masked(), "110105********002X");
        let d = NaiveDate::from_ymd_opt(1985, 7, 9).unwrap();
        assert_eq!(
            parse(&build(310104, d, 123)).unwrap().gender(),
            Gender::Male
        );
    }

    #[test]
    fn keyed_hash_is_stable_across_spellings_and_keys_matter() {
        let key = b"secret";
        let h = keyed_hash("11010519491231002X", key);
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(!h.contains("110105"));
        for spelling in [
            "11010519491231002x",
            "１１０１０５１９４９１２３１００２Ｘ",
            "110105491231002",
        ] {
            assert_eq!(keyed_hash(spelling, key), h, "{spelling}");
        }
        assert_ne!(keyed_hash("11010519491231002X", b"other"), h);
        // RFC 4231 test case 2 pins the HMAC-SHA256 construction.
        assert_eq!(
            hmac_hex("what do ya want for nothing?", b"Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn build_makes_valid_numbers() {
        let d = NaiveDate::from_ymd_opt(1985, 7, 9).unwrap();
        let n = build(310104, d, 123);
        let id = parse(&n).unwrap();
        assert_eq!(id.birth_date, d);
        assert!(id.male);
    }
}
