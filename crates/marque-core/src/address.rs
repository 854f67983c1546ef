//! Chinese postal addresses: province, city and district parsed (上海市浦东新区…, 广东省深圳市南山区…,
//! 北京朝阳区…, autonomous regions, municipalities where the province is the city), and a
//! normalised key for household detection in which 4栋501室, 4幢501, 4号楼501室 and 4-501 agree.

use std::sync::LazyLock;

use crate::address_table::{PROVINCES, ProvinceRow, city_names};
use crate::hanzi::to_simplified;
use crate::text::clean;

/// A parsed address. Names are the official full names (`广东省`, `深圳市`, `南山区`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub province: Option<String>,
    /// For a municipality (北京, 上海, 天津, 重庆) the city is the province.
    pub city: Option<String>,
    /// The county-level division: a district (区), county (县), banner (旗) or county-level city.
    pub district: Option<String>,
    /// What follows: road, number, building, room (cleaned, simplified, without spaces).
    pub detail: String,
}

struct CityRow {
    full: String,
    short: &'static str,
    province: &'static ProvinceRow,
}

static CITIES: LazyLock<Vec<CityRow>> = LazyLock::new(|| {
    let mut v = Vec::new();
    for p in PROVINCES {
        for c in p.cities {
            let (full, short) = city_names(c);
            v.push(CityRow {
                full,
                short,
                province: p,
            });
        }
    }
    // Longest names first, so that 阿克苏地区 wins over shorter prefixes.
    v.sort_by_key(|c| std::cmp::Reverse(c.full.chars().count()));
    v
});

/// What may follow a short place name when it is really part of a road or a district name
/// (江西路, 中山大道, 朝阳区): then it is not the province or city.
const NOT_A_PLACE_AFTER: &[&str] = &[
    "路", "街", "道", "大道", "大街", "巷", "弄", "中路", "东路", "西路", "南路", "北路", "区",
    "县", "镇", "乡", "村", "里", "桥", "广场", "大厦", "公园", "门", "小区", "花园",
];

fn short_match<'a>(rest: &'a str, short: &str, guarded: bool) -> Option<&'a str> {
    if short.is_empty() {
        return None;
    }
    let after = rest.strip_prefix(short)?;
    if guarded && NOT_A_PLACE_AFTER.iter().any(|w| after.starts_with(w)) {
        return None;
    }
    Some(after)
}

fn find_province(rest: &str) -> Option<(&'static ProvinceRow, &str, bool)> {
    for p in PROVINCES {
        if let Some(after) = rest.strip_prefix(p.full) {
            return Some((p, after, false));
        }
    }
    for p in PROVINCES {
        if let Some(after) = short_match(rest, p.short, true) {
            let after = after.strip_prefix('省').unwrap_or(after);
            return Some((p, after, true));
        }
    }
    None
}

fn find_city<'a>(
    rest: &'a str,
    province: Option<&'static ProvinceRow>,
) -> Option<(&'static CityRow, &'a str)> {
    let candidates = CITIES
        .iter()
        .filter(|c| province.is_none_or(|p| p.full == c.province.full));
    for c in candidates {
        if let Some(after) = rest.strip_prefix(c.full.as_str()) {
            return Some((c, after));
        }
        if let Some(after) = short_match(rest, c.short, province.is_none()) {
            return Some((c, after));
        }
    }
    None
}

/// The county-level division at the start of `rest`: up to 8 characters ending in 区, 县, 旗 or
/// 市 (a county-level city such as 昆山市).
fn find_district(rest: &str) -> Option<(String, &str)> {
    let rest = rest.strip_prefix("市辖区").unwrap_or(rest);
    for (i, (pos, c)) in rest.char_indices().enumerate() {
        if i >= 8 || c.is_ascii_digit() || c == '路' || c == '街' || c == '号' {
            return None;
        }
        if matches!(c, '区' | '县' | '旗' | '市') && i >= 1 {
            let end = pos + c.len_utf8();
            return Some((rest[..end].to_string(), &rest[end..]));
        }
    }
    None
}

/// Parses one raw address.
pub fn parse(raw: &str) -> Address {
    let mut s = to_simplified(&clean(raw));
    s.retain(|c| !c.is_whitespace());
    let mut rest = s.as_str();
    for prefix in ["中华人民共和国", "中国大陆", "中国"] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let mut out = Address::default();
    let mut province = None;
    if let Some((p, after, by_short)) = find_province(rest) {
        // 吉林市…: the short name of a province that is also one of its cities.
        let is_city = by_short
            && after.starts_with('市')
            && p.cities.iter().any(|c| city_names(c).1 == p.short);
        if !is_city {
            province = Some(p);
            rest = after;
        }
    }
    match province {
        Some(p) if p.municipality => {
            // 上海市上海市浦东新区 / 上海市市辖区: the city repeats the province.
            out.city = Some(p.full.to_string());
            rest = rest
                .strip_prefix(p.full)
                .or_else(|| rest.strip_prefix(p.short))
                .unwrap_or(rest);
        }
        _ => {
            if let Some((c, after)) = find_city(rest, province) {
                out.city = Some(c.full.clone());
                province = Some(c.province);
                rest = after.strip_prefix('市').unwrap_or(after);
            }
        }
    }
    out.province = province.map(|p| p.full.to_string());
    if let Some((d, after)) = find_district(rest) {
        out.district = Some(d);
        rest = after;
    }
    out.detail = rest.to_string();
    out
}

/// The canonical city name for a city field (`上海`, `上海市`, `深圳`, `延边`), with its province.
pub fn city_of(raw: &str) -> Option<(&'static str, String)> {
    let a = parse(raw);
    let p = PROVINCES
        .iter()
        .find(|p| Some(p.full) == a.province.as_deref())?;
    Some((p.full, a.city?))
}

const CN_DIGITS: &[(char, u32)] = &[
    ('零', 0),
    ('〇', 0),
    ('一', 1),
    ('二', 2),
    ('两', 2),
    ('三', 3),
    ('四', 4),
    ('五', 5),
    ('六', 6),
    ('七', 7),
    ('八', 8),
    ('九', 9),
];

fn cn_value(c: char) -> Option<u32> {
    CN_DIGITS.iter().find(|(d, _)| *d == c).map(|(_, v)| *v)
}

/// Chinese numerals before a unit marker (三号楼, 十二栋, 二单元) become Arabic digits.
fn arabic_numerals(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && (cn_value(chars[i]).is_some() || chars[i] == '十') {
            i += 1;
        }
        if i > start {
            let run = &chars[start..i];
            let unit_follows = chars
                .get(i)
                .is_some_and(|c| "号栋幢楼单元室层座弄".contains(*c));
            if unit_follows && let Some(n) = cn_number(run) {
                out.push_str(&n.to_string());
            } else {
                out.extend(run);
            }
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn cn_number(run: &[char]) -> Option<u32> {
    if let Some(pos) = run.iter().position(|c| *c == '十') {
        let tens = if pos == 0 { 1 } else { cn_value(run[pos - 1])? };
        let ones = match run.get(pos + 1) {
            Some(c) => cn_value(*c)?,
            None => 0,
        };
        return (pos <= 1 && run.len() <= pos + 2).then_some(tens * 10 + ones);
    }
    run.iter()
        .try_fold(0u32, |acc, c| Some(acc.checked_mul(10)? + cn_value(*c)?))
}

/// The detail of an address reduced for household comparison: the road and house number up to
/// the first `号`, then every building / unit / room number joined by `-`
/// (`人民路123号4栋501室` → `人民路123号#4-501`).
pub fn detail_key(detail: &str) -> String {
    let d = arabic_numerals(&to_simplified(&clean(detail)).to_lowercase());
    let d: String = d
        .chars()
        .filter(|c| !c.is_whitespace() && !"，,、。()（）'\"".contains(*c))
        .collect();
    // The road part ends at the first 号 that follows a digit.
    let mut cut = None;
    let mut prev_digit = false;
    for (pos, c) in d.char_indices() {
        if c == '号' && prev_digit {
            cut = Some(pos + c.len_utf8());
            break;
        }
        prev_digit = c.is_ascii_digit();
    }
    let (road, units) = match cut {
        Some(end) => (&d[..end], &d[end..]),
        None => {
            let first = d
                .find(|c: char| c.is_ascii_alphanumeric())
                .unwrap_or(d.len());
            (&d[..first], &d[first..])
        }
    };
    let groups: Vec<&str> = units
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|g| !g.is_empty())
        .collect();
    format!("{road}#{}", groups.join("-"))
}

/// The household key of a parsed address: `city|district|detail key`. Equal keys mean the same
/// dwelling; see [`same_household`] for addresses that omit the city or district.
pub fn address_key(a: &Address) -> String {
    format!(
        "{}|{}|{}",
        a.city.as_deref().unwrap_or(""),
        a.district.as_deref().unwrap_or(""),
        detail_key(&a.detail)
    )
}

/// True when two addresses name the same dwelling: the same detail key, and city and district
/// equal wherever both give them. An address with no road/room detail matches nothing.
pub fn same_household(a: &Address, b: &Address) -> bool {
    fn agree(x: &Option<String>, y: &Option<String>) -> bool {
        match (x, y) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
    }
    let (ka, kb) = (detail_key(&a.detail), detail_key(&b.detail));
    ka.len() > 1 && ka == kb && agree(&a.city, &b.city) && agree(&a.district, &b.district)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcd(raw: &str) -> (Option<String>, Option<String>, Option<String>) {
        let a = parse(raw);
        (a.province, a.city, a.district)
    }

    fn some(p: &str, c: &str, d: &str) -> (Option<String>, Option<String>, Option<String>) {
        let f = |s: &str| (!s.is_empty()).then(|| s.to_string());
        (f(p), f(c), f(d))
    }

    #[test]
    fn municipalities_are_province_and_city() {
        assert_eq!(
            pcd("上海市浦东新区人民路123号4栋501室"),
            some("上海市", "上海市", "浦东新区")
        );
        assert_eq!(
            pcd("北京市朝阳区建国路1号"),
            some("北京市", "北京市", "朝阳区")
        );
        assert_eq!(
            pcd("北京朝阳区建国路1号"),
            some("北京市", "北京市", "朝阳区")
        );
        assert_eq!(
            pcd("上海市上海市闵行区xx路"),
            some("上海市", "上海市", "闵行区")
        );
        assert_eq!(
            pcd("重庆市渝中区解放路8号"),
            some("重庆市", "重庆市", "渝中区")
        );
        assert_eq!(
            parse("上海市浦东新区人民路123号4栋501室").detail,
            "人民路123号4栋501室"
        );
    }

    #[test]
    fn provinces_cities_and_districts() {
        assert_eq!(
            pcd("广东省深圳市南山区科技路1号"),
            some("广东省", "深圳市", "南山区")
        );
        assert_eq!(
            pcd("广东深圳南山区科技路1号"),
            some("广东省", "深圳市", "南山区")
        );
        assert_eq!(
            pcd("江苏省苏州市吴江区人民路2号"),
            some("江苏省", "苏州市", "吴江区")
        );
        assert_eq!(
            pcd("江苏省苏州市昆山市前进路2号"),
            some("江苏省", "苏州市", "昆山市")
        );
        assert_eq!(
            pcd("中国浙江省杭州市西湖区文化路3号"),
            some("浙江省", "杭州市", "西湖区")
        );
    }

    #[test]
    fn city_without_province_infers_it() {
        assert_eq!(
            pcd("广州市天河区中山路9号"),
            some("广东省", "广州市", "天河区")
        );
        assert_eq!(
            pcd("深圳南山区科技路1号"),
            some("广东省", "深圳市", "南山区")
        );
        assert_eq!(
            pcd("吉林市船营区解放路1号"),
            some("吉林省", "吉林市", "船营区")
        );
        assert_eq!(
            pcd("吉林省长春市朝阳区人民大街1号"),
            some("吉林省", "长春市", "朝阳区")
        );
    }

    #[test]
    fn autonomous_regions_and_prefectures() {
        assert_eq!(
            pcd("新疆维吾尔自治区乌鲁木齐市天山区1号"),
            some("新疆维吾尔自治区", "乌鲁木齐市", "天山区")
        );
        assert_eq!(
            pcd("新疆乌鲁木齐天山区1号"),
            some("新疆维吾尔自治区", "乌鲁木齐市", "天山区")
        );
        assert_eq!(
            pcd("内蒙古呼和浩特市赛罕区1号"),
            some("内蒙古自治区", "呼和浩特市", "赛罕区")
        );
        assert_eq!(
            pcd("广西南宁市青秀区1号"),
            some("广西壮族自治区", "南宁市", "青秀区")
        );
        assert_eq!(
            pcd("吉林省延边朝鲜族自治州延吉市1号"),
            some("吉林省", "延边朝鲜族自治州", "延吉市")
        );
        assert_eq!(
            pcd("新疆阿克苏地区库车市1号"),
            some("新疆维吾尔自治区", "阿克苏地区", "库车市")
        );
    }

    #[test]
    fn road_names_are_not_places() {
        // 江西路 is a road in Shanghai, 中山路 one in many cities, 朝阳区 a district of Beijing.
        assert_eq!(pcd("江西路100号"), some("", "", ""));
        assert_eq!(pcd("中山路9号"), some("", "", ""));
        assert_eq!(pcd("朝阳区建国路1号"), some("", "", "朝阳区"));
    }

    #[test]
    fn traditional_and_full_width_addresses() {
        assert_eq!(
            pcd("廣東省深圳市南山區科技路１號"),
            some("广东省", "深圳市", "南山区")
        );
        assert_eq!(parse("廣東省深圳市南山區科技路１號").detail, "科技路1号");
    }

    #[test]
    fn every_generator_city_and_district_parses() {
        // crates/marque-gen/src/geo.rs renders `{city}市{district}{road}{n}号{b}栋{r}室`.
        let cities = [
            ("上海", "浦东新区"),
            ("北京", "海淀区"),
            ("广州", "越秀区"),
            ("深圳", "福田区"),
            ("成都", "武侯区"),
            ("杭州", "滨江区"),
            ("重庆", "沙坪坝区"),
            ("武汉", "洪山区"),
            ("西安", "雁塔区"),
            ("南京", "建邺区"),
            ("苏州", "姑苏区"),
            ("天津", "滨海新区"),
            ("长沙", "岳麓区"),
            ("郑州", "金水区"),
            ("青岛", "崂山区"),
            ("合肥", "包河区"),
        ];
        for (c, d) in cities {
            let a = parse(&format!("{c}市{d}人民路12号3栋402室"));
            assert_eq!(a.city.as_deref(), Some(format!("{c}市").as_str()), "{c}");
            assert!(a.province.is_some(), "{c}");
            assert_eq!(a.district.as_deref(), Some(d), "{c}");
            assert_eq!(a.detail, "人民路12号3栋402室");
            assert_eq!(city_of(c).map(|x| x.1), Some(format!("{c}市")));
        }
    }

    #[test]
    fn household_key_ignores_unit_spelling() {
        let k = address_key(&parse("上海市浦东新区人民路123号4栋501室"));
        assert_eq!(k, "上海市|浦东新区|人民路123号#4-501");
        for raw in [
            "上海市浦东新区人民路123号4幢501",
            "上海浦东新区人民路123号4号楼501室",
            "上海市 浦东新区 人民路 123 号 4-501",
            "上海市浦东新区人民路123号四栋501室",
            "上海市浦東新區人民路１２３號４棟５０１室",
        ] {
            assert_eq!(address_key(&parse(raw)), k, "{raw}");
        }
        assert_ne!(address_key(&parse("上海市浦东新区人民路123号4栋502室")), k);
        assert_ne!(
            address_key(&parse("上海市浦东新区人民路123号A座501室")),
            address_key(&parse("上海市浦东新区人民路123号B座501室"))
        );
    }

    #[test]
    fn same_household_tolerates_missing_city_or_district() {
        let full = parse("上海市浦东新区人民路123号4栋501室");
        assert!(same_household(&full, &parse("浦东新区人民路123号4栋501室")));
        assert!(same_household(&full, &parse("上海市人民路123号4-501")));
        assert!(!same_household(
            &full,
            &parse("北京市浦东新区人民路123号4栋501室")
        ));
        assert!(
            !same_household(&parse("上海市"), &parse("上海市")),
            "no detail"
        );
    }

    #[test]
    fn chinese_numerals_before_units() {
        assert_eq!(arabic_numerals("三号楼二单元"), "3号楼2单元");
        assert_eq!(arabic_numerals("十二栋"), "12栋");
        assert_eq!(arabic_numerals("二十一号"), "21号");
        assert_eq!(arabic_numerals("一路向北"), "一路向北");
    }
}
