//! Chinese resident identity numbers: 18 characters, ISO 7064 MOD 11-2 check character, with the
//! birth date and gender they encode.

use chrono::NaiveDate;

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

/// Parses and validates: full-width digits and a lower-case x are accepted, the check character
/// and the birth date must be right.
pub fn parse(raw: &str) -> Option<ResidentId> {
    let s: String = crate::text::halfwidth(raw)
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    let b = s.as_bytes();
    if b.len() != 18 || check_char(&b[..17])? != b[17] {
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
    fn build_makes_valid_numbers() {
        let d = NaiveDate::from_ymd_opt(1985, 7, 9).unwrap();
        let n = build(310104, d, 123);
        let id = parse(&n).unwrap();
        assert_eq!(id.birth_date, d);
        assert!(id.male);
    }
}
