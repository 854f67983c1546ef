//! The in-memory profile index: every customer, mention and lookup key of one resolution
//! snapshot, so that profile reads never touch Parquet.
//!
//! An index is immutable once built. [`crate::refresh`] builds a new one in the background when
//! a resolution table commits a new version and swaps it in atomically; requests that already
//! hold the old one finish on it.

mod build;
pub mod cells;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::RecordBatch;
use serde_json::{Map, Value, json};

pub use build::{BuildOptions, RESOLUTION_TABLES, build};

use crate::auth::Role;

/// The keys a profile can be looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Phone,
    Vin,
    AppUserId,
    Unionid,
    Email,
}

impl KeyKind {
    /// Every key kind, in query-parameter order.
    pub const ALL: [KeyKind; 5] = [
        KeyKind::Phone,
        KeyKind::Vin,
        KeyKind::AppUserId,
        KeyKind::Unionid,
        KeyKind::Email,
    ];

    /// The query parameter and lake column naming this key.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Phone => "phone",
            KeyKind::Vin => "vin",
            KeyKind::AppUserId => "app_user_id",
            KeyKind::Unionid => "unionid",
            KeyKind::Email => "email",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }

    /// The form of `raw` the index stores, or why `raw` cannot be such a key.
    pub fn normalise(self, raw: &str) -> Result<String, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(format!("{} is empty", self.as_str()));
        }
        if raw.len() > 256 {
            return Err(format!("{} is longer than 256 bytes", self.as_str()));
        }
        match self {
            KeyKind::Phone => match marque_core::phone::parse(raw) {
                marque_core::phone::Phone::Mobile(e) | marque_core::phone::Phone::Landline(e) => {
                    Ok(e)
                }
                marque_core::phone::Phone::Masked { .. } => {
                    Err(format!("phone {raw:?} is masked; a full number is needed"))
                }
                marque_core::phone::Phone::Placeholder => {
                    Err(format!("phone {raw:?} is a placeholder number"))
                }
                marque_core::phone::Phone::Invalid => Err(format!(
                    "phone {raw:?} is not a Chinese mobile or landline number"
                )),
            },
            KeyKind::Vin => Ok(marque_core::vin::normalize(raw)),
            KeyKind::Email => Ok(marque_core::text::halfwidth(raw).to_lowercase()),
            KeyKind::AppUserId | KeyKind::Unionid => Ok(raw.to_string()),
        }
    }
}

/// One mention, packed: strings live in the index's arenas.
#[derive(Debug, Clone, Copy)]
struct MentionRec {
    kind: u16,
    record: Span,
    vin: Span,
    first_seen: i64,
    last_seen: i64,
    record_count: u32,
}

/// A string inside an arena.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn get(self, arena: &str) -> &str {
        let start = self.start as usize;
        arena.get(start..start + self.len as usize).unwrap_or("")
    }
}

/// Sentinel for a missing timestamp.
const NO_TIME: i64 = i64::MIN;

/// One resolution snapshot, indexed.
pub struct ProfileIndex {
    /// Versions of the tables this index was built from.
    pub versions: BTreeMap<String, i64>,
    /// When it was built.
    pub built_at: chrono::DateTime<chrono::Utc>,
    golden: Vec<RecordBatch>,
    golden_pos: Vec<(u32, u32)>,
    ids: Vec<Arc<str>>,
    by_id: HashMap<Arc<str>, u32>,
    /// (source, role) pairs, indexed by `MentionRec::kind`.
    kinds: Vec<(String, String)>,
    mentions: Vec<MentionRec>,
    /// `mentions[offsets[i]..offsets[i+1]]` are customer `i`'s, newest first.
    offsets: Vec<u32>,
    arena: String,
    keys: [HashMap<Box<str>, Vec<u32>>; 5],
    redirects: HashMap<Box<str>, Box<str>>,
    /// Rendered JSON rows of extra per-customer tables/views (`lifecycle`, `clv`).
    extras: Vec<(String, HashMap<u32, Box<str>>)>,
    segment_names: Vec<String>,
    /// Member customer indexes of each segment, sorted by customer id.
    segment_members: Vec<Option<Vec<u32>>>,
    customer_segments: HashMap<u32, Vec<u16>>,
    /// Whether the lake had `match_edges` at build time.
    pub has_match_edges: bool,
    /// Warnings met while building (a view that failed, a missing table).
    pub warnings: Vec<String>,
}

/// What a customer id resolves to.
pub enum Resolved {
    Found(u32),
    /// Merged away: the id that survives.
    Moved(String),
    Unknown,
}

impl ProfileIndex {
    /// An index of nothing (the lake has no resolution yet).
    pub fn empty() -> Self {
        Self {
            versions: BTreeMap::new(),
            built_at: chrono::Utc::now(),
            golden: Vec::new(),
            golden_pos: Vec::new(),
            ids: Vec::new(),
            by_id: HashMap::new(),
            kinds: Vec::new(),
            mentions: Vec::new(),
            offsets: vec![0],
            arena: String::new(),
            keys: Default::default(),
            redirects: HashMap::new(),
            extras: Vec::new(),
            segment_names: Vec::new(),
            segment_members: Vec::new(),
            customer_segments: HashMap::new(),
            has_match_edges: false,
            warnings: Vec::new(),
        }
    }

    /// Customers indexed.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no customer is indexed.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Mentions indexed.
    pub fn mention_count(&self) -> usize {
        self.mentions.len()
    }

    /// The customer id of index `idx`.
    pub fn id(&self, idx: u32) -> &str {
        &self.ids[idx as usize]
    }

    /// Resolves `id`, following merges (`customer_id_history`) to the surviving id.
    pub fn resolve(&self, id: &str) -> Resolved {
        if let Some(&i) = self.by_id.get(id) {
            return Resolved::Found(i);
        }
        let mut current = id;
        for _ in 0..32 {
            match self.redirects.get(current) {
                Some(next) if self.by_id.contains_key(&**next) => {
                    return Resolved::Moved(next.to_string());
                }
                Some(next) if &**next != current => current = next,
                _ => break,
            }
        }
        Resolved::Unknown
    }

    /// Customers holding key `value` (already normalised), sorted by id.
    pub fn lookup(&self, kind: KeyKind, value: &str) -> &[u32] {
        self.keys[kind.slot()]
            .get(value)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn mentions_of(&self, idx: u32) -> &[MentionRec] {
        let i = idx as usize;
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        &self.mentions[a..b]
    }

    /// The profile of customer `idx` as `role` may see it: the golden record (resident-id
    /// columns only for admins), mentions, vehicles, lifecycle, CLV and segments.
    pub fn profile(&self, idx: u32, role: Role) -> Value {
        let (b, r) = self.golden_pos[idx as usize];
        let golden = cells::row_object(&self.golden[b as usize], r as usize, |name| {
            role != Role::Admin && name.contains("resident_id")
        });
        let mut mentions: Vec<(&str, &str, &str)> = self
            .mentions_of(idx)
            .iter()
            .map(|m| {
                let (s, r) = &self.kinds[m.kind as usize];
                (s.as_str(), m.record.get(&self.arena), r.as_str())
            })
            .collect();
        mentions.sort_unstable();
        mentions.dedup();
        let mut vehicles: Vec<&str> = self
            .mentions_of(idx)
            .iter()
            .filter(|m| {
                let (s, r) = &self.kinds[m.kind as usize];
                (s == "sales" && r == "buyer") || (s == "after_sales" && r == "owner")
            })
            .map(|m| m.vin.get(&self.arena))
            .filter(|v| !v.is_empty())
            .collect();
        vehicles.sort_unstable();
        vehicles.dedup();
        let mut out = Map::new();
        out.insert("customer_id".into(), Value::from(self.id(idx)));
        out.insert("golden".into(), Value::Object(golden));
        out.insert(
            "mentions".into(),
            Value::Array(
                mentions
                    .into_iter()
                    .map(|(s, rec, r)| json!({ "source": s, "record_id": rec, "role": r }))
                    .collect(),
            ),
        );
        out.insert("vehicles".into(), json!(vehicles));
        for (name, rows) in &self.extras {
            let v = rows
                .get(&idx)
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .unwrap_or(Value::Null);
            out.insert(name.clone(), v);
        }
        let segments: Vec<&str> = self
            .customer_segments
            .get(&idx)
            .map(|s| {
                s.iter()
                    .map(|&i| self.segment_names[i as usize].as_str())
                    .collect()
            })
            .unwrap_or_default();
        out.insert("segments".into(), json!(segments));
        Value::Object(out)
    }

    /// Customer `idx`'s mentions newest first, from `offset`, at most `limit`; and whether more
    /// follow.
    pub fn timeline(&self, idx: u32, offset: usize, limit: usize) -> (Vec<Value>, bool) {
        let all = self.mentions_of(idx);
        let page: Vec<Value> = all
            .iter()
            .skip(offset)
            .take(limit)
            .map(|m| {
                let (s, r) = &self.kinds[m.kind as usize];
                let time = |t: i64| {
                    if t == NO_TIME {
                        Value::Null
                    } else {
                        cells::rfc3339(t)
                    }
                };
                let vin = m.vin.get(&self.arena);
                json!({
                    "at": time(if m.last_seen == NO_TIME { m.first_seen } else { m.last_seen }),
                    "source": s,
                    "role": r,
                    "record_id": m.record.get(&self.arena),
                    "first_seen": time(m.first_seen),
                    "last_seen": time(m.last_seen),
                    "record_count": m.record_count,
                    "vin": if vin.is_empty() { Value::Null } else { Value::from(vin) },
                })
            })
            .collect();
        (page, offset.saturating_add(limit) < all.len())
    }

    /// The mentions of customer `idx` as `(source, record_id, role)`.
    pub fn mention_keys(&self, idx: u32) -> Vec<(String, String, String)> {
        self.mentions_of(idx)
            .iter()
            .map(|m| {
                let (s, r) = &self.kinds[m.kind as usize];
                (s.clone(), m.record.get(&self.arena).to_string(), r.clone())
            })
            .collect()
    }

    /// Segment names known at build time, sorted, with their member counts (`None` when the
    /// segment's query failed).
    pub fn segments(&self) -> Vec<(&str, Option<usize>)> {
        self.segment_names
            .iter()
            .zip(&self.segment_members)
            .map(|(n, m)| (n.as_str(), m.as_ref().map(Vec::len)))
            .collect()
    }

    /// Members of segment `name` (customer ids), from `offset`, at most `limit`; `None` when the
    /// segment is unknown or could not be computed.
    pub fn segment_page(
        &self,
        name: &str,
        offset: usize,
        limit: usize,
    ) -> Option<(Vec<&str>, usize)> {
        let i = self.segment_names.iter().position(|n| n == name)?;
        let members = self.segment_members[i].as_ref()?;
        let page = members
            .iter()
            .skip(offset)
            .take(limit)
            .map(|&c| self.id(c))
            .collect();
        Some((page, members.len()))
    }
}
