//! Vehicle identification numbers (ISO 3779): normalisation (full-width, lower case, spaces,
//! dashes) and the check digit at position 9.
//!
//! ISO 3779 leaves position 9 free outside North America, but China's GB 16735 makes it a check
//! digit for every road vehicle sold there, and DOMAIN.md says so: [`parse`] validates it
//! strictly. A VIN whose only fault is its check digit (a typo, or an imported vehicle built for
//! a market without one) is reported by [`check`] as [`VinCheck::BadCheckDigit`], so a caller
//! can still use it as weak evidence; I, O and Q are never allowed.

/// Transliteration of a VIN character to its numeric value; `None` for I, O, Q and others.
fn value(c: u8) -> Option<u32> {
    Some(match c {
        b'0'..=b'9' => (c - b'0') as u32,
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => return None,
    })
}

const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// The check character for a 17-character VIN (position 9 is ignored), or `None` when the VIN
/// has a character that is not allowed.
pub fn check_char(vin: &[u8; 17]) -> Option<u8> {
    let mut sum = 0;
    for (i, &c) in vin.iter().enumerate() {
        if i == 8 {
            continue;
        }
        sum += value(c)? * WEIGHTS[i];
    }
    Some(match sum % 11 {
        10 => b'X',
        d => b'0' + d as u8,
    })
}

/// Upper-cases, removes spaces and dashes and converts full-width characters; does not validate.
pub fn normalize(raw: &str) -> String {
    crate::text::halfwidth(raw)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// The normalised VIN when it has 17 allowed characters and a correct check digit.
pub fn parse(raw: &str) -> Option<String> {
    if raw.is_ascii() {
        // The common case, without building the normalised string first: `halfwidth` leaves
        // ASCII alone, so normalising is dropping blanks and dashes and upper-casing.
        let mut v = [0u8; 17];
        let mut n = 0;
        for b in raw.bytes() {
            if (b as char).is_whitespace() || b == b'-' {
                continue;
            }
            *v.get_mut(n)? = b.to_ascii_uppercase();
            n += 1;
        }
        return (n == 17 && check_char(&v)? == v[8])
            .then(|| v.iter().map(|&b| b as char).collect());
    }
    let v = normalize(raw);
    let bytes: &[u8; 17] = v.as_bytes().try_into().ok()?;
    (check_char(bytes)? == bytes[8]).then_some(v)
}

/// The outcome of validating a raw VIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VinCheck {
    /// 17 allowed characters and a correct check digit: a key.
    Valid(String),
    /// 17 allowed characters but a wrong check digit: weak evidence only, never a key.
    BadCheckDigit(String),
    /// Wrong length or a character that is not allowed (I, O, Q, punctuation).
    Invalid,
}

/// Normalises and classifies a raw VIN.
pub fn check(raw: &str) -> VinCheck {
    let v = normalize(raw);
    let Ok(bytes) = <&[u8; 17]>::try_from(v.as_bytes()) else {
        return VinCheck::Invalid;
    };
    match check_char(bytes) {
        None => VinCheck::Invalid,
        Some(c) if c == bytes[8] => VinCheck::Valid(v),
        Some(_) if value(bytes[8]).is_some() || bytes[8] == b'X' => VinCheck::BadCheckDigit(v),
        Some(_) => VinCheck::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_fast_path_parses_as_normalising_first_does() {
        let slow = |raw: &str| {
            let v = normalize(raw);
            let bytes: &[u8; 17] = v.as_bytes().try_into().ok()?;
            (check_char(bytes)? == bytes[8]).then_some(v)
        };
        for raw in [
            "1M8GDM9AXKP042788",
            "1m8gdm9axkp042788",
            "1M8-GDM9A XKP042788",
            "1M8GDM9AXKP04278",
            "1M8GDM9AXKP0427888",
            "1M8GDM9A1KP042788",
            "1M8GDM9AXKP04278\u{b}8",
            "IM8GDM9AXKP042788",
            "",
            "  ",
        ] {
            assert_eq!(parse(raw), slow(raw), "{raw:?}");
        }
        assert!(parse("1m8gdm9axkp042788").is_some());
    }

    #[test]
    fn known_valid_vins_pass() {
        // Published examples with correct check digits.
        assert_eq!(
            parse("1M8GDM9AXKP042788").as_deref(),
            Some("1M8GDM9AXKP042788")
        );
        assert_eq!(
            parse("11111111111111111").as_deref(),
            Some("11111111111111111")
        );
        assert_eq!(
            parse(" 1m8gdm9a-xkp042788 ").as_deref(),
            Some("1M8GDM9AXKP042788")
        );
    }

    #[test]
    fn wrong_check_digit_or_letters_fail() {
        assert_eq!(parse("1M8GDM9A1KP042788"), None);
        assert_eq!(parse("1M8GDM9AXKP04278"), None);
        assert_eq!(parse("IM8GDM9AXKP042788"), None, "I is not allowed");
        assert_eq!(parse("1M8GDM9AXKP04278O"), None, "O is not allowed");
        assert_eq!(parse("1M8GDM9AXKQ042788"), None, "Q is not allowed");
        assert_eq!(check("1M8GDM9AXKQ042788"), VinCheck::Invalid);
    }

    #[test]
    fn wrong_check_digit_is_kept_apart_as_weak_evidence() {
        assert_eq!(
            check("1m8gdm9a1kp042788"),
            VinCheck::BadCheckDigit("1M8GDM9A1KP042788".into())
        );
        assert_eq!(
            check("1M8GDM9AXKP042788"),
            VinCheck::Valid("1M8GDM9AXKP042788".into())
        );
        assert_eq!(check("LSVAU2180N2"), VinCheck::Invalid, "too short");
    }

    #[test]
    fn chinese_vin_with_check_digit_validates() {
        // A WMI of a Chinese maker (LSV) with its check digit computed per GB 16735.
        let mut v = *b"LSVAU2180N2183294";
        v[8] = check_char(&v).unwrap();
        let s = String::from_utf8(v.to_vec()).unwrap();
        assert_eq!(parse(&s.to_lowercase()).as_deref(), Some(s.as_str()));
    }

    #[test]
    fn full_width_vin_is_normalised() {
        assert_eq!(
            parse("１Ｍ８ＧＤＭ９ＡＸＫＰ０４２７８８").as_deref(),
            Some("1M8GDM9AXKP042788")
        );
    }
}
