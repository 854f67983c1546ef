//! # marque-core: the vocabulary every Marque crate shares
//!
//! Marque ingests four kinds of source system (dealer sales, after-sales repair orders, marketing
//! leads, app events), resolves the people in them into customers and serves those customers.
//! Every stage must agree on a few things, and they live here so that no stage invents its own:
//!
//! - [`model`]: the four [`Source`]s, the [`Role`]s a person can play in a source record, and the
//!   key of a *mention* (one person as seen by one record in one role). The generator's ground
//!   truth, the lake's raw tables, the resolver's `customer_map` and the evaluator all speak in
//!   these terms, so a mention written by one stage is found by the next.
//! - Identifier validation that the generator uses to make valid data and the resolver uses to
//!   judge evidence: [`vin`] (ISO 3779 check digit at position 9) and [`resident_id`]
//!   (18-digit Chinese resident identity number, ISO 7064 MOD 11-2).
//! - Normalisers for the dirty values of Chinese customer data, each a pure function with a unit
//!   test per dirt pattern of DOMAIN.md (see the table below).
//!
//! - [`canonical`]: the canonical fields of each domain and the Arrow schema of its raw table.
//!
//! Nothing here does I/O; everything is a pure, unit-tested function or type.
//!
//! ## Normalisers and the dirt each one handles
//!
//! | module | entry points | dirt handled |
//! |---|---|---|
//! | [`text`] | `clean`, `halfwidth`, `digits` | NFKC, full-width letters and digits, ideographic space, runs of whitespace |
//! | [`hanzi`] | `to_simplified`, `trad_simp_equal`, `is_han` | traditional characters (張偉 → 张伟), per character from OpenCC's table; characters that are their own simplified form (乾, 於) kept |
//! | [`name`] | `parse` → [`name::PersonName`] | NFKC and full-width, traditional → simplified, spaces inside Han names, honorifics and titles (王先生 / 李女士 / 王小姐 / 王总 / 王师傅 / 王老师 → surname + gender, `honorific_only`), full name + honorific (王小明先生), compound surnames (欧阳, 司马, 诸葛, 上官 …), minority names with a middle dot in any of its spellings (阿卜杜·热合曼), Latin-script names in any order and case ("WANG Xiao Ming", "Xiaoming Wang", "Wang, Xiaoming", Hong Kong romanisations such as Lee / Chan) → pinyin key, nicknames flagged as weak evidence (小王, 老李, 阿明, 伟哥, 追风少年, Tony, digits, emoji) |
//! | [`name_match`] | `name_key`, `same_pinyin`, `sounds_alike`, `homophone_score`, `pinyin_similarity`, `trad_simp_equal` | homophone typos (王伟 / 王维, polyphonic characters by all their readings), script differences (王小明 / Wang Xiaoming), swapped Latin order |
//! | [`romanize`] / [`surnames`] | `han_key`, `parse_latin`, `split_syllables`; `reading`, `is_surname` | toneless pinyin (ü as v), surname readings of polyphonic surnames (单 shan, 曾 zeng) |
//! | [`phone`] | `parse`, `parse_with_extension`, `parse_all` → [`phone::Phone`] | +86 / 0086 / 86 prefixes, spaces, dashes, parentheses, full-width digits, labels (手机：), mobiles 1[3-9] + 9 digits, landlines with 2- or 3-digit area codes (010, 021, 0755) and extensions (转 / 分机 / ext / # / x / trailing -123) kept apart, masked numbers (138****8000, 138xxxx8000) as partial evidence that is never a key, placeholders (13800000000, 13800138000, one digit repeated, 12345678901-style runs, 400/800 lines) rejected, several numbers in one field |
//! | [`resident_id`] | `parse` → [`resident_id::ResidentId`], `keyed_hash`, `upgrade15` | ISO 7064 MOD 11-2 check character, province code and birth date validated, lower-case x, full-width digits, spaces and dashes, 15-digit numbers upgraded to 18; birth date and gender derived; stored only as HMAC-SHA256 (`keyed_hash`) and shown only masked |
//! | [`vin`] | `parse`, `check` → [`vin::VinCheck`] | full-width and lower case, spaces, dashes; I/O/Q rejected; position-9 check digit validated (GB 16735 makes it mandatory in China), a VIN whose only fault is its check digit reported apart as weak evidence |
//! | [`email`] | `parse`, `classify` → [`email::Email`] | trimmed, lower-cased, full-width ＠ and 。, `mailto:`, common domain typos (qq.con, gmial.com), junk (no @, bad domain) rejected, placeholders (test@test.com, 123@qq.com, aaaa@…) rejected, QQ numbers (12345678@qq.com) and mobiles (13812345678@139.com) given as evidence |
//! | [`address`] | `parse` → [`address::Address`], `address_key`, `same_household`, `city_of` | province / city / district from full or short names (广东省深圳市南山区, 广东深圳南山区, 深圳南山区), municipalities (province = city), autonomous regions and prefectures, 地区 / 盟, traditional characters and full-width digits, road names that look like places (江西路, 中山路), household keys in which 4栋501室 = 4幢501 = 4号楼501室 = 4-501 = 四栋501室 |

pub mod address;
mod address_table;
pub mod canonical;
pub mod email;
pub mod error;
pub mod hanzi;
mod hanzi_table;
pub mod model;
pub mod name;
pub mod name_match;
pub mod phone;
pub mod resident_id;
pub mod romanize;
pub mod surnames;
mod syllables;
pub mod text;
pub mod vin;

pub use error::{CoreError, Result};
pub use model::{MentionKey, Role, Source};
