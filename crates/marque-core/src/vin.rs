//! Vehicle identification numbers (ISO 3779): normalisation and the check digit at position 9.

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
    let v = normalize(raw);
    let bytes: &[u8; 17] = v.as_bytes().try_into().ok()?;
    (check_char(bytes)? == bytes[8]).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn full_width_vin_is_normalised() {
        assert_eq!(
            parse("１Ｍ８ＧＤＭ９ＡＸＫＰ０４２７８８").as_deref(),
            Some("1M8GDM9AXKP042788")
        );
    }
}
