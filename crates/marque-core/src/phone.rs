//! Phone numbers as Chinese customer data holds them, to E.164: +86 mobiles in any format
//! (+86 / 0086 / 86 prefixes, spaces, dashes, parentheses, full-width digits), landlines with
//! their area codes (and an extension kept apart), masked numbers from auto media (138****8000)
//! kept as partial evidence, and placeholders (13800000000, one digit repeated) rejected.

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
    /// 12345678901, 400/800 service lines). Never evidence.
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

    /// The E.164 form (`+8613812345678`) of a mobile or landline; same as [`Phone::key`].
    pub fn e164(&self) -> Option<&str> {
        self.key()
    }

    /// The masked form `138****8000` of a masked number (for blocking masked leads against
    /// full numbers on prefix and suffix); `None` for every other kind.
    pub fn masked_pattern(&self) -> Option<String> {
        match self {
            Phone::Masked { prefix, suffix } => Some(format!(
                "{prefix}{}{suffix}",
                "*".repeat(11usize.saturating_sub(prefix.len() + suffix.len()))
            )),
            _ => None,
        }
    }

    /// The blocking pattern `139****5678` (first three and last four digits) shared by a
    /// mobile and every masked form of it that shows at least those digits; `None` for
    /// landlines, placeholders and masks that hide them.
    pub fn block_pattern(&self) -> Option<String> {
        match self {
            Phone::Mobile(e) => mobile_block_pattern(e),
            Phone::Masked { prefix, suffix } if suffix.len() >= 4 => Some(format!(
                "{}****{}",
                prefix.get(..3)?,
                &suffix[suffix.len() - 4..]
            )),
            _ => None,
        }
    }

    /// True when a masked number is consistent with a full mobile (its visible prefix and
    /// suffix agree), or when two keys are equal. Partial evidence only.
    pub fn compatible(&self, other: &Phone) -> bool {
        match (self, other) {
            (Phone::Masked { prefix, suffix }, Phone::Mobile(e))
            | (Phone::Mobile(e), Phone::Masked { prefix, suffix }) => {
                let national = e.strip_prefix("+86").unwrap_or(e);
                national.starts_with(prefix.as_str()) && national.ends_with(suffix.as_str())
            }
            (
                Phone::Masked {
                    prefix: p1,
                    suffix: s1,
                },
                Phone::Masked {
                    prefix: p2,
                    suffix: s2,
                },
            ) => {
                (p1.starts_with(p2.as_str()) || p2.starts_with(p1.as_str()))
                    && (s1.ends_with(s2.as_str()) || s2.ends_with(s1.as_str()))
            }
            _ => self.key().is_some() && self.key() == other.key(),
        }
    }
}

/// The block pattern (`139****5678`, see [`Phone::block_pattern`]) of a mobile in E.164
/// (`+8613912345678`); `None` for anything else.
pub fn mobile_block_pattern(e164: &str) -> Option<String> {
    let national = e164.strip_prefix("+861")?;
    (national.len() == 10 && national.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("1{}****{}", &national[..2], &national[6..]))
}

/// A parsed phone field with the extension a landline was written with (021-61234567 转 123).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedPhone {
    pub phone: Phone,
    /// Digits of the extension, kept apart from the key.
    pub extension: Option<String>,
}

/// Numbers that data entry uses for "unknown"; their owners are not customers.
const PLACEHOLDERS: &[&str] = &[
    "13800000000",
    "13800138000",
    "12345678901",
    "13888888888",
    "13000000000",
    "13012345678",
    "13999999999",
];

/// Labels a clerk may type before the number.
const LABELS: &[&str] = &[
    "手机号码",
    "手机号",
    "手机",
    "电话",
    "联系电话",
    "移动电话",
    "tel",
    "mobile",
    "phone",
    "mob",
];

/// Extension markers, checked in this order.
const EXT_MARKERS: &[&str] = &["转", "分机", "ext.", "ext", "#"];

fn is_run(b: &[u8]) -> bool {
    // Each digit one more than the previous, wrapping 9 → 0 (12345678, 12345678901).
    b.windows(2).all(|w| (w[0] - b'0' + 1) % 10 == w[1] - b'0')
}

fn is_placeholder_mobile(national: &str) -> bool {
    let b = national.as_bytes();
    PLACEHOLDERS.contains(&national)
        || b.iter().skip(1).all(|&c| c == b[1])
        // 1 followed by a run of one digit in the last eight, e.g. 13900000000 / 15111111111
        || b[3..].iter().all(|&c| c == b[3])
        || is_run(b)
}

fn strip_label(s: &str) -> &str {
    if s.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '(') {
        return s;
    }
    let lower = s.to_ascii_lowercase();
    for l in LABELS {
        if lower.starts_with(l) {
            return s[l.len()..].trim_start_matches([':', '：', ' ']);
        }
    }
    s
}

/// Splits `s` into number and extension at an explicit marker (转, 分机, ext, #, or an `x`
/// followed only by digits after a long enough number).
fn split_extension(s: &str) -> (&str, Option<String>) {
    if s.bytes()
        .all(|c| c.is_ascii_digit() || b" -+()".contains(&c))
    {
        return (s, None);
    }
    let lower = s.to_ascii_lowercase();
    for m in EXT_MARKERS {
        if let Some(pos) = lower.find(m) {
            let ext: String = s[pos + m.len()..]
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            return (&s[..pos], (!ext.is_empty()).then_some(ext));
        }
    }
    if let Some(pos) = lower.rfind('x') {
        let (head, tail) = (&s[..pos], &s[pos + 1..]);
        let tail_digits =
            tail.trim().bytes().all(|c| c.is_ascii_digit()) && !tail.trim().is_empty();
        let head_digits = head.bytes().filter(u8::is_ascii_digit).count();
        if tail_digits
            && head_digits >= 9
            && !head.contains(['x', 'X', '*'])
            && tail.trim().len() <= 5
        {
            return (head, Some(tail.trim().to_string()));
        }
    }
    (s, None)
}

/// Normalises one raw phone field. See [`parse_with_extension`] for the extension.
pub fn parse(raw: &str) -> Phone {
    parse_with_extension(raw).phone
}

/// Normalises one raw phone field and keeps a landline's extension apart.
pub fn parse_with_extension(raw: &str) -> ParsedPhone {
    let s = halfwidth(raw);
    let s = strip_label(s.trim().trim_start_matches('\''));
    let (number, extension) = split_extension(s);
    let phone = parse_number(number.trim());
    let extension = extension.filter(|_| matches!(phone, Phone::Landline(_)));
    if phone == Phone::Invalid && extension.is_none() {
        // "021-61234567-123": a trailing dash group after a complete landline.
        if let Some((head, tail)) = number.rsplit_once('-')
            && (1..=5).contains(&tail.trim().len())
            && tail.trim().bytes().all(|c| c.is_ascii_digit())
            && let p @ Phone::Landline(_) = parse_number(head.trim())
        {
            return ParsedPhone {
                phone: p,
                extension: Some(tail.trim().to_string()),
            };
        }
    }
    ParsedPhone { phone, extension }
}

/// Every number in a field that holds several (`13812345678/13987654321`, `；`, `、`, `,`).
pub fn parse_all(raw: &str) -> Vec<Phone> {
    let s = halfwidth(raw);
    s.split(['/', ';', '；', ',', '，', '、', '|'])
        .map(parse)
        .filter(|p| *p != Phone::Invalid)
        .collect()
}

fn parse_number(s: &str) -> Phone {
    if s.is_empty() {
        return Phone::Invalid;
    }
    if let Some(masked) = parse_masked(s) {
        return masked;
    }
    // Anything else than digits and separators means it is not a number.
    if s.chars()
        .any(|c| !(c.is_ascii_digit() || " -+()./'".contains(c)))
    {
        return Phone::Invalid;
    }
    // Keep digits only, but remember whether it looked international.
    let plus = s.starts_with('+');
    let mut d: String = s.chars().filter(char::is_ascii_digit).collect();
    if let Some(rest) = d.strip_prefix("0086") {
        d = rest.to_string();
    } else if (plus || d.len() == 13 || (d.len() == 12 && d.starts_with("8610")))
        && d.starts_with("86")
    {
        d = d[2..].to_string();
    } else if plus {
        return Phone::Invalid; // another country: out of scope for a China CDP
    }
    let b = d.as_bytes();
    if b.len() >= 7 && b.iter().all(|&c| c == b[0]) {
        return Phone::Placeholder;
    }
    if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
        return if is_placeholder_mobile(&d) {
            Phone::Placeholder
        } else {
            Phone::Mobile(format!("+86{d}"))
        };
    }
    if PLACEHOLDERS.contains(&d.as_str()) {
        return Phone::Placeholder;
    }
    if b.len() == 10 && (d.starts_with("400") || d.starts_with("800")) {
        return Phone::Placeholder; // a company's service line, not a person's number
    }
    landline(d.strip_prefix('0').unwrap_or(&d))
}

/// A national landline number without its leading 0: a 2-digit area code (10, 2x) and an
/// 8-digit subscriber number, or a 3-digit area code (3xx–9xx) and 7 or 8 digits.
fn landline(national: &str) -> Phone {
    let b = national.as_bytes();
    let area_len = match b.first() {
        Some(b'1') if b.get(1) == Some(&b'0') => 2,
        Some(b'2') => 2,
        Some(b'3'..=b'9') => 3,
        _ => return Phone::Invalid,
    };
    let sub = &national[area_len.min(national.len())..];
    let ok_len = if area_len == 2 {
        sub.len() == 8
    } else {
        (7..=8).contains(&sub.len())
    };
    if !ok_len {
        return Phone::Invalid;
    }
    let sb = sub.as_bytes();
    if sb.iter().all(|&c| c == sb[0]) || is_run(sb) {
        return Phone::Placeholder;
    }
    if !matches!(sb[0], b'2'..=b'9') {
        return Phone::Invalid;
    }
    Phone::Landline(format!("+86{national}"))
}

fn is_mask(c: char) -> bool {
    matches!(c, '*' | 'x' | 'X' | '×')
}

fn parse_masked(s: &str) -> Option<Phone> {
    if !s.contains(is_mask) {
        return None;
    }
    let t = s.trim_start_matches('+');
    let t = t
        .strip_prefix("0086")
        .or_else(|| t.strip_prefix("86"))
        .unwrap_or(t);
    let chars: Vec<char> = t.chars().filter(|c| !" -()".contains(*c)).collect();
    let first = chars.iter().position(|c| is_mask(*c))?;
    let last = chars.iter().rposition(|c| is_mask(*c))?;
    let (prefix, mask, suffix) = (&chars[..first], &chars[first..=last], &chars[last + 1..]);
    let ok = chars.len() == 11
        && prefix.iter().all(char::is_ascii_digit)
        && suffix.iter().all(char::is_ascii_digit)
        && mask.iter().all(|c| is_mask(*c))
        && prefix.first() == Some(&'1')
        && prefix.len() >= 3
        && !suffix.is_empty();
    ok.then(|| Phone::Masked {
        prefix: prefix.iter().collect(),
        suffix: suffix.iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mobile(s: &str) -> Phone {
        Phone::Mobile(s.to_string())
    }

    fn landline(s: &str) -> Phone {
        Phone::Landline(s.to_string())
    }

    #[test]
    fn mobiles_in_every_common_format() {
        for raw in [
            "13912345678",
            "139 1234 5678",
            "139-1234-5678",
            "+86 139 1234 5678",
            "+8613912345678",
            "+86-139-1234-5678",
            "(+86) 139 1234 5678",
            "008613912345678",
            "0086 139 1234 5678",
            "8613912345678",
            "86-13912345678",
            "１３９１２３４５６７８",
            "＋８６ １３９１２３４５６７８",
            "'13912345678",
            "手机：13912345678",
            "Tel: 139-1234-5678",
        ] {
            assert_eq!(parse(raw), mobile("+8613912345678"), "{raw}");
        }
        assert_eq!(parse("13912345678").e164(), Some("+8613912345678"));
    }

    #[test]
    fn landlines_keep_area_code() {
        assert_eq!(parse("021-61234567"), landline("+862161234567"));
        assert_eq!(parse("021-6123-4567"), landline("+862161234567"));
        assert_eq!(parse("(0755) 8765 4321"), landline("+8675587654321"));
        assert_eq!(
            parse("0571-8712345"),
            landline("+865718712345"),
            "7-digit subscriber"
        );
        assert_eq!(parse("+86 21 6123 4567"), landline("+862161234567"));
        assert_eq!(parse("0086-21-61234567"), landline("+862161234567"));
    }

    #[test]
    fn beijing_landlines_with_area_code_010() {
        // Regression: 010 numbers start with 1 once the trunk 0 is dropped.
        assert_eq!(parse("010-61234567"), landline("+861061234567"));
        assert_eq!(parse("(010)6123 4567"), landline("+861061234567"));
        assert_eq!(parse("+86 10 6123 4567"), landline("+861061234567"));
    }

    #[test]
    fn landline_extensions_are_kept_apart() {
        for raw in [
            "021-6123-4567 转 123",
            "021-61234567转123",
            "021-61234567 分机123",
            "021-61234567 ext. 123",
            "021-61234567#123",
            "021-61234567x123",
            "021-61234567-123",
        ] {
            let p = parse_with_extension(raw);
            assert_eq!(p.phone, landline("+862161234567"), "{raw}");
            assert_eq!(p.extension.as_deref(), Some("123"), "{raw}");
        }
        assert_eq!(parse_with_extension("13912345678").extension, None);
    }

    #[test]
    fn malformed_landlines_are_invalid() {
        for raw in ["61234567", "021-612345", "021-03456781", "0755-123456789"] {
            assert_eq!(parse(raw), Phone::Invalid, "{raw}");
        }
    }

    #[test]
    fn a_masked_number_and_its_full_mobile_share_a_block_pattern() {
        let full = parse("139 1234 5678");
        let masked = parse("139****5678");
        assert_eq!(full.block_pattern().as_deref(), Some("139****5678"));
        assert_eq!(masked.block_pattern(), full.block_pattern());
        assert_eq!(parse("1391234**78").block_pattern(), None);
        assert_eq!(parse("021-61234567").block_pattern(), None);
        assert_eq!(
            mobile_block_pattern("+8613912345678").as_deref(),
            Some("139****5678")
        );
        assert_eq!(mobile_block_pattern("+862161234567"), None);
    }

    #[test]
    fn masked_numbers_are_partial_evidence() {
        for raw in [
            "138****8000",
            "138xxxx8000",
            "138 **** 8000",
            "+86 138****8000",
            "１３８＊＊＊＊８０００",
        ] {
            assert_eq!(
                parse(raw),
                Phone::Masked {
                    prefix: "138".into(),
                    suffix: "8000".into()
                },
                "{raw}"
            );
        }
        let m = parse("138****8000");
        assert_eq!(m.key(), None, "never a key");
        assert_eq!(m.masked_pattern().as_deref(), Some("138****8000"));
        assert!(m.compatible(&parse("13812348000")));
        assert!(!m.compatible(&parse("13912348000")));
        assert!(!m.compatible(&parse("13812348001")));
        assert!(parse("13812348000").compatible(&parse("138 1234 8000")));
    }

    #[test]
    fn placeholders_are_rejected() {
        for raw in [
            "13800000000",
            "11111111111",
            "13888888888",
            "15100000000",
            "13800138000",
            "12345678901",
            "021-00000000",
            "021-88888888",
            "021-12345678",
            "400-820-8820",
            "0000000",
        ] {
            assert_eq!(parse(raw), Phone::Placeholder, "{raw}");
            assert_eq!(parse(raw).key(), None, "{raw}");
        }
    }

    #[test]
    fn several_numbers_in_one_field() {
        assert_eq!(
            parse_all("13912345678/13812348000；021-61234567"),
            vec![
                mobile("+8613912345678"),
                mobile("+8613812348000"),
                landline("+862161234567")
            ]
        );
    }

    #[test]
    fn garbage_is_invalid() {
        for raw in [
            "",
            "n/a",
            "12345",
            "+1 415 555 0100",
            "无",
            "1391234567",
            "23912345678",
        ] {
            assert_eq!(parse(raw), Phone::Invalid, "{raw}");
        }
    }
}
