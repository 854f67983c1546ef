//! Chinese name pools: surnames by frequency, given-name characters with pinyin, traditional
//! forms and homophones, very common full names (王伟, 李娜), nicknames and honorifics.

use rand::Rng;

use crate::rng::{chance, pick, weighted};

/// (simplified, pinyin, traditional, homophone typo, weight per mille).
pub const SURNAMES: &[(&str, &str, &str, &str, u32)] = &[
    ("王", "wang", "王", "汪", 72),
    ("李", "li", "李", "黎", 71),
    ("张", "zhang", "張", "章", 69),
    ("刘", "liu", "劉", "柳", 54),
    ("陈", "chen", "陳", "程", 45),
    ("杨", "yang", "楊", "阳", 31),
    ("黄", "huang", "黃", "皇", 22),
    ("赵", "zhao", "趙", "肇", 20),
    ("吴", "wu", "吳", "伍", 20),
    ("周", "zhou", "周", "舟", 19),
    ("徐", "xu", "徐", "许", 16),
    ("孙", "sun", "孫", "荪", 15),
    ("马", "ma", "馬", "麻", 15),
    ("朱", "zhu", "朱", "诸", 14),
    ("胡", "hu", "胡", "扈", 13),
    ("郭", "guo", "郭", "国", 13),
    ("何", "he", "何", "贺", 12),
    ("林", "lin", "林", "蔺", 12),
    ("罗", "luo", "羅", "骆", 11),
    ("高", "gao", "高", "郜", 11),
    ("郑", "zheng", "鄭", "正", 10),
    ("梁", "liang", "梁", "良", 9),
    ("谢", "xie", "謝", "解", 8),
    ("宋", "song", "宋", "颂", 8),
    ("唐", "tang", "唐", "汤", 8),
    ("许", "xu", "許", "徐", 7),
    ("韩", "han", "韓", "寒", 7),
    ("冯", "feng", "馮", "封", 7),
    ("邓", "deng", "鄧", "登", 7),
    ("曹", "cao", "曹", "漕", 7),
    ("叶", "ye", "葉", "业", 6),
    ("沈", "shen", "沈", "申", 5),
    ("欧阳", "ouyang", "歐陽", "欧杨", 1),
    ("司马", "sima", "司馬", "司码", 1),
];

/// (simplified, pinyin, traditional, homophone typo, gender: 'M', 'F' or 'U').
pub const GIVEN: &[(&str, &str, &str, &str, char)] = &[
    ("伟", "wei", "偉", "维", 'M'),
    ("强", "qiang", "強", "墙", 'M'),
    ("磊", "lei", "磊", "蕾", 'M'),
    ("军", "jun", "軍", "君", 'M'),
    ("勇", "yong", "勇", "永", 'M'),
    ("杰", "jie", "傑", "洁", 'M'),
    ("涛", "tao", "濤", "韬", 'M'),
    ("明", "ming", "明", "铭", 'U'),
    ("超", "chao", "超", "朝", 'M'),
    ("刚", "gang", "剛", "钢", 'M'),
    ("平", "ping", "平", "萍", 'U'),
    ("辉", "hui", "輝", "晖", 'M'),
    ("鹏", "peng", "鵬", "朋", 'M'),
    ("华", "hua", "華", "化", 'U'),
    ("飞", "fei", "飛", "菲", 'M'),
    ("建", "jian", "建", "健", 'M'),
    ("国", "guo", "國", "果", 'M'),
    ("东", "dong", "東", "冬", 'M'),
    ("龙", "long", "龍", "隆", 'M'),
    ("浩", "hao", "浩", "昊", 'M'),
    ("宇", "yu", "宇", "雨", 'M'),
    ("志", "zhi", "志", "智", 'M'),
    ("斌", "bin", "斌", "彬", 'M'),
    ("波", "bo", "波", "博", 'M'),
    ("海", "hai", "海", "亥", 'M'),
    ("林", "lin", "林", "琳", 'U'),
    ("文", "wen", "文", "雯", 'U'),
    ("晓", "xiao", "曉", "小", 'U'),
    ("云", "yun", "雲", "芸", 'U'),
    ("子", "zi", "子", "梓", 'U'),
    ("娜", "na", "娜", "那", 'F'),
    ("芳", "fang", "芳", "方", 'F'),
    ("敏", "min", "敏", "民", 'F'),
    ("静", "jing", "靜", "晶", 'F'),
    ("丽", "li", "麗", "莉", 'F'),
    ("艳", "yan", "艷", "燕", 'F'),
    ("娟", "juan", "娟", "鹃", 'F'),
    ("霞", "xia", "霞", "夏", 'F'),
    ("秀", "xiu", "秀", "绣", 'F'),
    ("英", "ying", "英", "莹", 'F'),
    ("玲", "ling", "玲", "铃", 'F'),
    ("桂", "gui", "桂", "贵", 'F'),
    ("红", "hong", "紅", "虹", 'F'),
    ("婷", "ting", "婷", "亭", 'F'),
    ("雪", "xue", "雪", "学", 'F'),
    ("慧", "hui", "慧", "惠", 'F'),
    ("倩", "qian", "倩", "茜", 'F'),
    ("兰", "lan", "蘭", "岚", 'F'),
    ("凤", "feng", "鳳", "峰", 'F'),
    ("洁", "jie", "潔", "杰", 'F'),
    ("欣", "xin", "欣", "心", 'F'),
    ("怡", "yi", "怡", "仪", 'F'),
    ("梅", "mei", "梅", "媚", 'F'),
    ("琴", "qin", "琴", "勤", 'F'),
];

/// Very common full names (surname index, given indices) that prove little on their own.
const COMMON_MALE: &[(&str, &[&str])] = &[
    ("王", &["伟"]),
    ("张", &["伟"]),
    ("李", &["伟"]),
    ("刘", &["伟"]),
    ("李", &["强"]),
    ("王", &["磊"]),
    ("张", &["勇"]),
    ("王", &["军"]),
    ("李", &["杰"]),
    ("张", &["涛"]),
    ("陈", &["伟"]),
    ("王", &["刚"]),
];
const COMMON_FEMALE: &[(&str, &[&str])] = &[
    ("李", &["娜"]),
    ("王", &["芳"]),
    ("张", &["敏"]),
    ("王", &["静"]),
    ("李", &["静"]),
    ("王", &["秀", "英"]),
    ("李", &["秀", "英"]),
    ("张", &["丽"]),
    ("王", &["艳"]),
    ("刘", &["芳"]),
    ("陈", &["静"]),
    ("张", &["秀", "英"]),
];

/// Made-up nicknames for leads and app users.
pub const NICKNAMES: &[&str] = &[
    "追风少年",
    "小鱼儿",
    "Tony",
    "sunny",
    "阳光男孩",
    "快乐每一天",
    "静待花开",
    "Kevin",
    "Lily",
    "大鹏",
    "老司机",
    "奔跑的蜗牛",
    "momo",
    "Jason",
    "开心果",
    "一路向北",
    "Amy",
    "风中的承诺",
    "水木年华",
    "Leo",
    "Coco",
    "随遇而安",
    "知足常乐",
    "Michael",
    "Grace",
    "车友",
    "平凡之路",
];

/// A person's name as indices into the pools, so every spelling can be rendered from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name {
    pub surname: u8,
    pub given: [u8; 2],
    pub given_len: u8,
}

/// How a name is written in one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    Plain,
    Traditional,
    Homophone,
}

fn index_of<T>(pool: &[T], key: impl Fn(&T) -> bool) -> u8 {
    pool.iter().position(key).unwrap_or(0) as u8
}

impl Name {
    /// A random name for the given gender; about a fifth are very common names.
    pub fn random<R: Rng + ?Sized>(rng: &mut R, male: bool, surname: Option<u8>) -> Name {
        if surname.is_none() && chance(rng, 0.2) {
            let (s, g) = *pick(rng, if male { COMMON_MALE } else { COMMON_FEMALE });
            let mut given = [0u8; 2];
            for (i, c) in g.iter().enumerate().take(2) {
                given[i] = index_of(GIVEN, |x| x.0 == *c);
            }
            return Name {
                surname: index_of(SURNAMES, |x| x.0 == s),
                given,
                given_len: g.len().min(2) as u8,
            };
        }
        let surname = surname.unwrap_or_else(|| {
            let weights: Vec<u32> = SURNAMES.iter().map(|s| s.4).collect();
            weighted(rng, &weights) as u8
        });
        let given_len = if chance(rng, 0.35) { 1 } else { 2 };
        let mut given = [0u8; 2];
        for g in given.iter_mut().take(given_len) {
            *g = loop {
                let i = rng.random_range(0..GIVEN.len());
                let sex = GIVEN[i].4;
                if sex == 'U' || (sex == 'M') == male {
                    break i as u8;
                }
            };
        }
        Name {
            surname,
            given,
            given_len: given_len as u8,
        }
    }

    fn given_iter(
        &self,
    ) -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str, &'static str, char)>
    {
        self.given[..self.given_len as usize]
            .iter()
            .map(|&g| &GIVEN[g as usize % GIVEN.len()])
    }

    fn surname_entry(
        &self,
    ) -> &'static (&'static str, &'static str, &'static str, &'static str, u32) {
        &SURNAMES[self.surname as usize % SURNAMES.len()]
    }

    /// The surname in simplified characters.
    pub fn surname(&self) -> &'static str {
        self.surname_entry().0
    }

    /// The name written one way; `Homophone` changes the last given character (or the surname
    /// of a one-character given name with even sequence) to a same-sounding one.
    pub fn render(&self, spelling: Spelling, out: &mut String) {
        let s = self.surname_entry();
        match spelling {
            Spelling::Plain => {
                out.push_str(s.0);
                self.given_iter().for_each(|g| out.push_str(g.0));
            }
            Spelling::Traditional => {
                out.push_str(s.2);
                self.given_iter().for_each(|g| out.push_str(g.2));
            }
            Spelling::Homophone => {
                out.push_str(s.0);
                let n = self.given_len as usize;
                for (i, g) in self.given_iter().enumerate() {
                    out.push_str(if i + 1 == n { g.3 } else { g.0 });
                }
            }
        }
    }

    /// The name in plain simplified characters.
    pub fn plain(&self) -> String {
        let mut s = String::with_capacity(12);
        self.render(Spelling::Plain, &mut s);
        s
    }

    /// Pinyin with a space between surname and given name: `wang wei`, `wang xiuying`.
    pub fn pinyin(&self) -> String {
        let mut s = String::from(self.surname_entry().1);
        s.push(' ');
        self.given_iter().for_each(|g| s.push_str(g.1));
        s
    }

    /// Surname plus honorific: 王先生 / 李女士.
    pub fn honorific(&self, male: bool) -> String {
        format!("{}{}", self.surname(), if male { "先生" } else { "女士" })
    }

    /// A nickname derived from the name (小王, 阿伟, 伟哥) or a made-up one.
    pub fn nickname<R: Rng + ?Sized>(&self, rng: &mut R, male: bool) -> String {
        let last = self.given_iter().last().map(|g| g.0).unwrap_or("");
        match rng.random_range(0..4) {
            0 => format!("小{}", self.surname()),
            1 => format!("阿{last}"),
            2 => format!("{last}{}", if male { "哥" } else { "姐" }),
            _ => pick(rng, NICKNAMES).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn renders_common_names_traditional_homophone_and_pinyin() {
        let n = Name {
            surname: 0,
            given: [0, 0],
            given_len: 1,
        };
        assert_eq!(n.plain(), "王伟");
        let mut s = String::new();
        n.render(Spelling::Traditional, &mut s);
        assert_eq!(s, "王偉");
        s.clear();
        n.render(Spelling::Homophone, &mut s);
        assert_eq!(s, "王维");
        assert_eq!(n.pinyin(), "wang wei");
        assert_eq!(n.honorific(true), "王先生");
    }

    #[test]
    fn common_names_are_frequent_and_genders_respected() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut wang_wei = 0;
        for _ in 0..5000 {
            let n = Name::random(&mut rng, true, None);
            for g in n.given_iter() {
                assert_ne!(g.4, 'F', "male name with female character: {}", n.plain());
            }
            if n.plain() == "王伟" {
                wang_wei += 1;
            }
        }
        assert!(wang_wei > 20, "王伟 should be common, got {wang_wei}");
    }

    #[test]
    fn pool_entries_are_consistent() {
        for s in SURNAMES {
            assert_eq!(s.0.chars().count(), s.2.chars().count());
            assert!(s.1.is_ascii());
        }
        for g in GIVEN {
            assert_eq!(g.0.chars().count(), 1);
            assert_ne!(g.0, g.3, "homophone must differ");
        }
    }
}
