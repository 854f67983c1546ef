//! Phone numbers as Chinese customer data holds them: +86 mobiles in any format, landlines with
//! area codes, masked numbers from auto media (138****8000) and placeholders (13800000000).

use crate::text::halfwidth;

/// What a raw phone field turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phone {
    /// A mainland mobile in E.164, e.g. `+8613912345678`. Usable as a key.
    Mobile(String),
    /// A landline in E.164 with its area code, e.g. `+862161234567`. Usable as a key.
    Landline(String),
    /// A masked mobile: only the visible prefix and suffix digits are known. Partial evidence,
    /// never a key.
    Masked { prefix: String, suffix: String },
    /// A well-formed number that is known to stand for "no number" (13800000000, all one digit,
    /// ascending runs). Never evidence.
    Placeholder,
    /// Not a phone number.
    Invalid,
}

impl Phone {
    /// The E.164 form when this value can serve as a key.
    pub fn key(&self) -> Option<&str> {
        match self {
            Phone::Mobile(s) | Phone::Landline(s) => Some(s),
            _ => None,
        }
    }
}

/// Numbers that data entry uses for "unknown"; their owners are not customers.
const PLACEHOLDERS: &[&str] = &[
    "13800000000",
    "13800138000",
    "12345678901",
    "13888888888",
    "13000000000",
];

fn is_placeholder(national: &str) -> bool {
    let b = national.as_bytes();
    if PLACEHOLDERS.contains(&national) || b.iter().skip(1).all(|&c| c == b[1]) {
        return true;
    }
    // 1 followed by a run of one digit in the last eight, e.g. 13900000000 / 15111111111
    b.len() == 11 && b[3..].iter().all(|&c| c == b[3])
}

/// Normalises one raw phone field.
pub fn parse(raw: &str) -> Phone {
    let s = halfwidth(raw);
    let s = s.trim();
    if s.is_empty() {
        return Phone::Invalid;
    }
    if let Some(masked) = parse_masked(s) {
        return masked;
    }
    // Keep digits only, but remember whether it looked international.
    let plus = s.starts_with('+');
    let mut d: String = s.chars().filter(char::is_ascii_digit).collect();
    // Anything else than digits and separators means it is not a number.
    if s.chars()
        .any(|c| !(c.is_ascii_digit() || " -+()./'".contains(c)))
    {
        return Phone::Invalid;
    }
    if let Some(rest) = d.strip_prefix("0086") {
        d = rest.to_string();
    } else if (plus || d.len() == 13) && d.starts_with("86") {
        d = d[2..].to_string();
    } else if plus {
        return Phone::Invalid; // another country: out of scope for a China CDP
    }
    let b = d.as_bytes();
    if b.len() >= 7 && b.iter().all(|&c| c == b[0]) {
        return Phone::Placeholder;
    }
    if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
        return if is_placeholder(&d) {
            Phone::Placeholder
        } else {
            Phone::Mobile(format!("+86{d}"))
        };
    }
    // Landline: 0 + area code (2–3 digits) + 7–8 digits subscriber number, or without the 0.
    let national = d.strip_prefix('0').unwrap_or(&d);
    if (9..=11).contains(&national.len()) && !national.starts_with('1') {
        let sub = &national[national.len() - 7.min(national.len())..];
        if sub.bytes().all(|c| c == sub.as_bytes()[0]) {
            return Phone::Placeholder;
        }
        return Phone::Landline(format!("+86{national}"));
    }
    Phone::Invalid
}

fn parse_masked(s: &str) -> Option<Phone> {
    if !s.contains('*') && !s.contains('x') && !s.contains('X') {
        return None;
    }
    let t = s.trim_start_matches('+').trim_start_matches("86");
    let t: String = t.chars().filter(|c| !" -".contains(*c)).collect();
    let first = t.find(['*', 'x', 'X'])?;
    let last = t.rfind(['*', 'x', 'X'])?;
    let (prefix, mask, suffix) = (&t[..first], &t[first..=last], &t[last + 1..]);
    let ok = t.len() == 11
        && prefix.bytes().all(|c| c.is_ascii_digit())
        && suffix.bytes().all(|c| c.is_ascii_digit())
        && mask.chars().all(|c| "*xX".contains(c))
        && prefix.starts_with('1');
    ok.then(|| Phone::Masked {
        prefix: prefix.to_string(),
        suffix: suffix.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mobile(s: &str) -> Phone {
        Phone::Mobile(s.to_string())
    }

    #[test]
    fn mobiles_in_every_common_format() {
        for raw in [
            "13912345678",
            "139 1234 5678",
            "139-1234-5678",
            "+86 139 1234 5678",
            "+8613912345678",
            "008613912345678",
            "8613912345678",
            "１３９１２３４５６７８",
            "'13912345678",
        ] {
            assert_eq!(parse(raw), mobile("+8613912345678"), "{raw}");
        }
    }

    #[test]
    fn landlines_keep_area_code() {
        assert_eq!(
            parse("021-61234567"),
            Phone::Landline("+862161234567".into())
        );
        assert_eq!(
            parse("(0755) 8765 4321"),
            Phone::Landline("+8675587654321".into())
        );
    }

    #[test]
    fn masked_numbers_are_partial_evidence() {
        assert_eq!(
            parse("138****8000"),
            Phone::Masked {
                prefix: "138".into(),
                suffix: "8000".into()
            }
        );
        assert_eq!(parse("138****8000").key(), None);
    }

    #[test]
    fn placeholders_are_rejected() {
        for raw in [
            "13800000000",
            "11111111111",
            "13888888888",
            "15100000000",
            "021-00000000",
        ] {
            assert_eq!(parse(raw), Phone::Placeholder, "{raw}");
        }
    }

    #[test]
    fn garbage_is_invalid() {
        for raw in ["", "n/a", "12345", "+1 415 555 0100", "无"] {
            assert_eq!(parse(raw), Phone::Invalid, "{raw}");
        }
    }
}
