//! Cities, their resident-id region codes, plate prefixes, dealers and addresses; mobile numbers.

use rand::Rng;

use crate::rng::pick;

/// One city of the modelled market.
pub struct City {
    pub name: &'static str,
    /// Six-digit administrative division code used in resident ids.
    pub region: u32,
    pub plate_prefix: &'static str,
    /// First dealer code number: dealers are `D{base}`, `D{base+1}`, ...
    pub dealer_base: u32,
    pub dealers: u32,
    /// Relative population weight.
    pub weight: u32,
    pub districts: &'static [&'static str],
}

macro_rules! city {
    ($n:expr, $r:expr, $p:expr, $b:expr, $d:expr, $w:expr, [$($dist:expr),+]) => {
        City { name: $n, region: $r, plate_prefix: $p, dealer_base: $b, dealers: $d, weight: $w, districts: &[$($dist),+] }
    };
}

pub const CITIES: &[City] = &[
    city!(
        "上海",
        310115,
        "沪A",
        3101,
        12,
        24,
        ["浦东新区", "闵行区", "徐汇区", "静安区"]
    ),
    city!(
        "北京",
        110105,
        "京A",
        1101,
        12,
        22,
        ["朝阳区", "海淀区", "丰台区", "东城区"]
    ),
    city!(
        "广州",
        440106,
        "粤A",
        4401,
        8,
        18,
        ["天河区", "越秀区", "海珠区", "白云区"]
    ),
    city!(
        "深圳",
        440305,
        "粤B",
        4430,
        8,
        17,
        ["南山区", "福田区", "宝安区", "龙岗区"]
    ),
    city!(
        "成都",
        510107,
        "川A",
        5101,
        8,
        21,
        ["武侯区", "锦江区", "青羊区", "成华区"]
    ),
    city!(
        "杭州",
        330106,
        "浙A",
        3301,
        7,
        12,
        ["西湖区", "拱墅区", "滨江区", "余杭区"]
    ),
    city!(
        "重庆",
        500103,
        "渝A",
        5001,
        7,
        20,
        ["渝中区", "江北区", "南岸区", "沙坪坝区"]
    ),
    city!(
        "武汉",
        420106,
        "鄂A",
        4201,
        6,
        13,
        ["武昌区", "江汉区", "洪山区", "汉阳区"]
    ),
    city!(
        "西安",
        610113,
        "陕A",
        6101,
        5,
        12,
        ["雁塔区", "碑林区", "未央区", "长安区"]
    ),
    city!(
        "南京",
        320106,
        "苏A",
        3201,
        5,
        9,
        ["鼓楼区", "玄武区", "建邺区", "江宁区"]
    ),
    city!(
        "苏州",
        320505,
        "苏E",
        3250,
        5,
        12,
        ["姑苏区", "吴中区", "相城区", "吴江区"]
    ),
    city!(
        "天津",
        120101,
        "津A",
        1201,
        5,
        13,
        ["和平区", "南开区", "河西区", "滨海新区"]
    ),
    city!(
        "长沙",
        430104,
        "湘A",
        4301,
        4,
        10,
        ["岳麓区", "芙蓉区", "天心区", "雨花区"]
    ),
    city!(
        "郑州",
        410105,
        "豫A",
        4101,
        4,
        12,
        ["金水区", "二七区", "中原区", "管城区"]
    ),
    city!(
        "青岛",
        370202,
        "鲁B",
        3702,
        4,
        10,
        ["市南区", "市北区", "崂山区", "黄岛区"]
    ),
    city!(
        "合肥",
        340104,
        "皖A",
        3401,
        3,
        9,
        ["蜀山区", "庐阳区", "包河区", "瑶海区"]
    ),
];

const ROADS: &[&str] = &[
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "和平路",
    "长江路",
    "新华路",
    "青年路",
    "文化路",
    "胜利路",
    "光明路",
    "友谊路",
    "幸福路",
    "朝阳路",
    "迎宾路",
    "滨江路",
    "科技路",
    "学府路",
];

const MOBILE_PREFIXES: &[u64] = &[
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    166, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199,
];

/// The placeholder a dealer types when the customer gave no number.
pub const PLACEHOLDER_PHONE: u64 = 138_0000_0000;

/// Population weights of [`CITIES`], for `rng::weighted`.
pub fn city_weights() -> Vec<u32> {
    CITIES.iter().map(|c| c.weight).collect()
}

/// Total number of dealers over all cities.
pub fn dealer_count() -> usize {
    CITIES.iter().map(|c| c.dealers as usize).sum()
}

/// Global index of a city's `i`-th dealer.
pub fn dealer_index(city: usize, i: u32) -> usize {
    CITIES[..city]
        .iter()
        .map(|c| c.dealers as usize)
        .sum::<usize>()
        + (i % CITIES[city].dealers) as usize
}

/// The code of a dealer by global index, e.g. `D3101`.
pub fn dealer_code(index: usize) -> String {
    let mut rest = index;
    for c in CITIES {
        if rest < c.dealers as usize {
            return format!("D{}", c.dealer_base + rest as u32);
        }
        rest -= c.dealers as usize;
    }
    "D0000".to_string()
}

/// A household address, stored compactly and rendered on demand.
#[derive(Debug, Clone, Copy)]
pub struct Address {
    pub city: u8,
    pub district: u8,
    pub road: u8,
    pub number: u16,
    pub building: u8,
    pub room: u16,
}

impl Address {
    pub fn random<R: Rng + ?Sized>(rng: &mut R, city: u8) -> Address {
        let c = &CITIES[city as usize];
        Address {
            city,
            district: rng.random_range(0..c.districts.len()) as u8,
            road: rng.random_range(0..ROADS.len()) as u8,
            number: rng.random_range(1..=999),
            building: rng.random_range(1..=30),
            room: rng.random_range(1..=32) * 100 + rng.random_range(1..=6),
        }
    }

    /// `上海市浦东新区人民路123号4栋501室`.
    pub fn render(&self) -> String {
        let c = &CITIES[self.city as usize % CITIES.len()];
        format!(
            "{}市{}{}{}号{}栋{}室",
            c.name,
            c.districts[self.district as usize % c.districts.len()],
            ROADS[self.road as usize % ROADS.len()],
            self.number,
            self.building,
            self.room
        )
    }
}

/// A random 11-digit mobile number (never the placeholder).
pub fn mobile<R: Rng + ?Sized>(rng: &mut R) -> u64 {
    loop {
        let n = *pick(rng, MOBILE_PREFIXES) * 100_000_000 + rng.random_range(0..100_000_000);
        // Never a value the resolver treats as a placeholder (13800138000, runs of one digit).
        if let marque_core::phone::Phone::Mobile(_) = marque_core::phone::parse(&n.to_string()) {
            return n;
        }
    }
}

const PLATE_CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";

/// A licence plate: `沪A12345` style (blue) or `沪AD12345` (green, new energy).
pub fn plate<R: Rng + ?Sized>(rng: &mut R, city: usize, new_energy: bool) -> String {
    let mut s = String::from(CITIES[city % CITIES.len()].plate_prefix);
    if new_energy {
        s.push(if rng.random_bool(0.5) { 'D' } else { 'F' });
        for _ in 0..5 {
            s.push((b'0' + rng.random_range(0..10u8)) as char);
        }
    } else {
        for i in 0..5 {
            let c = if i == 0 {
                *pick(rng, PLATE_CHARS)
            } else {
                *pick(rng, &PLATE_CHARS[24..])
            };
            s.push(c as char);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dealer_codes_are_unique_and_shaped_like_d3101() {
        let codes: Vec<String> = (0..dealer_count()).map(dealer_code).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
        assert_eq!(codes[0], "D3101");
        assert!(codes.iter().all(|c| c.len() == 5 && c.starts_with('D')));
        assert_eq!(dealer_code(dealer_index(1, 0)), "D1101");
    }
}
