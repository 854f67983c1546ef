//! E-mail addresses: trimmed, half-width (＠ and 。 included), lower-cased, common domain typos
//! fixed, junk and placeholders rejected, and the QQ number or mobile number an address carries
//! (12345678@qq.com, 13812345678@139.com) given as further evidence.
//!
//! Placeholders are decided as follows (DMS and lead forms require an address, so clerks type
//! one): a reserved or throw-away domain (example.com, test.com, xxx.com, none.com …), a local
//! part that is a stand-in word (test, none, null, noemail, xxx, abc, asdf …), one character
//! repeated (aaaa@, 1111@), a short digit run (123@, 123456@), or a digit local part at qq.com
//! that cannot be a QQ number (fewer than 5 digits, or a leading 0).

/// A valid, normalised address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress {
    /// Lower-case `local@domain`; the key.
    pub address: String,
    /// The QQ number when the address is a QQ mailbox with a numeric local part
    /// (`12345678@qq.com`, `@vip.qq.com`, `@foxmail.com`).
    pub qq: Option<String>,
    /// The mobile in E.164 when the local part is one (`13812345678@139.com`, `@163.com`).
    pub mobile: Option<String>,
}

impl EmailAddress {
    /// The normalised address, usable as a key.
    pub fn key(&self) -> &str {
        &self.address
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

/// What a raw e-mail field turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Email {
    Valid(EmailAddress),
    /// Well-formed but standing for "no address" (test@test.com, 123@qq.com).
    Placeholder,
    /// Not an address.
    Invalid,
}

const PLACEHOLDER_DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "test.com",
    "test.cn",
    "xxx.com",
    "none.com",
    "null.com",
    "noemail.com",
    "no.com",
    "abc.com",
    "email.com",
    "mail.com",
    "domain.com",
    "localhost",
    "invalid",
    "qq.co",
];

const PLACEHOLDER_LOCALS: &[&str] = &[
    "test", "none", "null", "nil", "na", "n/a", "no", "noemail", "nomail", "xxx", "abc", "asdf",
    "qwe", "qwer", "qwerty", "sample", "demo", "example", "email", "mail", "noreply", "no-reply",
    "unknown", "wu", "meiyou",
];

/// Misspelt domains of the mailboxes Chinese customers use, and their right spelling.
const DOMAIN_TYPOS: &[(&str, &str)] = &[
    ("qq.con", "qq.com"),
    ("qq.cm", "qq.com"),
    ("qq.comm", "qq.com"),
    ("qq,com", "qq.com"),
    ("163.con", "163.com"),
    ("163.cm", "163.com"),
    ("126.con", "126.com"),
    ("126.cm", "126.com"),
    ("sina.con", "sina.com"),
    ("gmial.com", "gmail.com"),
    ("gmai.com", "gmail.com"),
    ("gmail.con", "gmail.com"),
    ("hotmial.com", "hotmail.com"),
];

const QQ_DOMAINS: &[&str] = &["qq.com", "vip.qq.com", "foxmail.com"];

fn is_digit_run(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2)
        .all(|w| w[0].is_ascii_digit() && (w[0] - b'0' + 1) % 10 == w[1].wrapping_sub(b'0'))
}

fn normalise(raw: &str) -> String {
    let s: String = crate::text::halfwidth(raw)
        .chars()
        .map(|c| match c {
            '。' | '｡' | '．' => '.',
            '＠' => '@',
            c => c,
        })
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let s = s.strip_prefix("mailto:").unwrap_or(&s);
    s.trim_matches(|c: char| "<>\"'.,;:()[]".contains(c))
        .to_string()
}

/// Classifies one raw e-mail field.
pub fn classify(raw: &str) -> Email {
    let s = normalise(raw);
    let Some((local, domain)) = s.split_once('@') else {
        return Email::Invalid;
    };
    let domain = domain.replace(',', ".");
    let domain = DOMAIN_TYPOS
        .iter()
        .find(|(t, _)| *t == domain)
        .map_or(domain.as_str(), |(_, d)| *d)
        .to_string();
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-!#$&'*/=?^`{|}~".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    if !local_ok || !domain_ok {
        return Email::Invalid;
    }
    let all_digits = local.bytes().all(|c| c.is_ascii_digit());
    let one_char = local.len() > 1 && local.bytes().all(|c| c == local.as_bytes()[0]);
    let qq_domain = QQ_DOMAINS.contains(&domain.as_str());
    if PLACEHOLDER_DOMAINS.contains(&domain.as_str())
        || PLACEHOLDER_LOCALS.contains(&local)
        || one_char
        || (all_digits && local.len() <= 6 && is_digit_run(local))
        || (all_digits && qq_domain && (local.len() < 5 || local.starts_with('0')))
    {
        return Email::Placeholder;
    }
    let qq = (qq_domain && all_digits && local.len() <= 11).then(|| local.to_string());
    let mobile = all_digits
        .then(|| crate::phone::parse(local))
        .and_then(|p| match p {
            crate::phone::Phone::Mobile(e) => Some(e),
            _ => None,
        });
    Email::Valid(EmailAddress {
        address: format!("{local}@{domain}"),
        qq,
        mobile,
    })
}

/// The normalised address when the field holds a real one.
pub fn parse(raw: &str) -> Option<EmailAddress> {
    match classify(raw) {
        Email::Valid(e) => Some(e),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimmed_and_lower_cased() {
        for raw in [
            "Wang.Wei@Example.cn",
            "  wang.wei@example.cn ",
            "WANG.WEI@EXAMPLE.CN",
            "mailto:wang.wei@example.cn",
            "<wang.wei@example.cn>",
        ] {
            assert_eq!(parse(raw).unwrap().key(), "wang.wei@example.cn", "{raw}");
        }
    }

    #[test]
    fn full_width_and_chinese_punctuation_are_folded() {
        assert_eq!(
            parse("ｗａｎｇ＠１６３．ｃｏｍ").unwrap().key(),
            "wang@163.com"
        );
        assert_eq!(parse("wang@163。com").unwrap().key(), "wang@163.com");
    }

    #[test]
    fn common_domain_typos_are_fixed() {
        assert_eq!(parse("wangwei@qq.con").unwrap().key(), "wangwei@qq.com");
        assert_eq!(
            parse("wangwei@gmial.com").unwrap().key(),
            "wangwei@gmail.com"
        );
        assert_eq!(parse("wangwei@163,com").unwrap().key(), "wangwei@163.com");
    }

    #[test]
    fn junk_is_invalid() {
        for raw in [
            "",
            "wangwei",
            "wang@",
            "@qq.com",
            "wang@@qq.com",
            "wang@qq",
            "wang;wei@qq.com",
            "王伟@qq.com",
            "wang@qq..com",
            "wang@qq.c0m",
        ] {
            assert_eq!(classify(raw), Email::Invalid, "{raw}");
        }
    }

    #[test]
    fn placeholders_are_rejected() {
        for raw in [
            "test@test.com",
            "abc@example.com",
            "none@163.com",
            "noemail@qq.com",
            "123@qq.com",
            "123456@163.com",
            "aaaa@163.com",
            "1111@qq.com",
            "0123456@qq.com",
            "xxx@sina.com",
        ] {
            assert_eq!(classify(raw), Email::Placeholder, "{raw}");
            assert_eq!(parse(raw), None, "{raw}");
        }
    }

    #[test]
    fn qq_mailboxes_give_the_qq_number() {
        let e = parse("12345678@qq.com").unwrap();
        assert_eq!(e.qq.as_deref(), Some("12345678"));
        assert_eq!(
            parse("87654321@foxmail.com").unwrap().qq.as_deref(),
            Some("87654321")
        );
        assert_eq!(parse("wangwei@qq.com").unwrap().qq, None);
        assert_eq!(parse("12345678@163.com").unwrap().qq, None);
    }

    #[test]
    fn mobile_mailboxes_give_the_mobile() {
        let e = parse("13912345678@139.com").unwrap();
        assert_eq!(e.mobile.as_deref(), Some("+8613912345678"));
        assert_eq!(e.domain(), "139.com");
        assert_eq!(
            parse("13800000000@139.com").unwrap().mobile,
            None,
            "placeholder mobile"
        );
    }
}
