//! Ground truth: every mention the generator produced, interned to a dense person index.

use std::fs::File;
use std::hash::BuildHasher;
use std::io::Read;
use std::path::{Path, PathBuf};

use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use marque_core::{MentionKey, Role, Source};

use crate::error::{EvalError, Result};

/// Where the truth file lives inside a generator output directory.
pub const TRUTH_FILE: &str = "truth/mentions.csv";

/// The columns the truth file must have (any order; extra columns are ignored).
const COLUMNS: [&str; 5] = ["source", "record_id", "role", "person_id", "broken"];

/// Mentions are addressed by `u32`; `u32::MAX` is reserved as "no customer" in the evaluator.
const MAX_MENTIONS: u64 = u32::MAX as u64 - 1;

/// A (source, role) pair packed into one byte: `source * 5 + role`, below 20.
pub(crate) type Tag = u8;

pub(crate) fn tag(source: Source, role: Role) -> Tag {
    let s = Source::ALL
        .iter()
        .position(|&x| x == source)
        .expect("source in ALL");
    let r = Role::ALL
        .iter()
        .position(|&x| x == role)
        .expect("role in ALL");
    (s * Role::ALL.len() + r) as Tag
}

/// Index of the tag's source in [`Source::ALL`].
pub(crate) fn tag_source(tag: Tag) -> usize {
    tag as usize / Role::ALL.len()
}

/// Human-readable key used in messages and examples: `source:role:record_id`.
pub(crate) fn describe(tag: Tag, record_id: &str) -> String {
    let source = Source::ALL[tag_source(tag)];
    let role = Role::ALL[tag as usize % Role::ALL.len()];
    format!("{source}:{role}:{record_id}")
}

pub(crate) fn parse_source(s: &str) -> Option<Source> {
    s.parse().ok()
}

pub(crate) fn parse_role(s: &str) -> Option<Role> {
    s.parse().ok()
}

/// The generator's ground truth, held compactly: record ids live in one string arena, and a
/// hash table of mention indices (hashed on tag and record id) finds a mention without
/// allocating. About 30 bytes per mention plus the record id text.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    hasher: DefaultHashBuilder,
    /// Entries are `(mention index, 32-bit key hash)`: the stored hash lets the table grow
    /// without touching the arena and rejects most false candidates before comparing ids.
    index: HashTable<(u32, u32)>,
    arena: String,
    /// `ends[i]` is the end of mention `i`'s record id in `arena`; it starts at `ends[i - 1]`.
    ends: Vec<u64>,
    tags: Vec<Tag>,
    person: Vec<u32>,
    broken: Vec<bool>,
    persons: u32,
}

impl Truth {
    /// Loads `dir/truth/mentions.csv` (see [`TRUTH_FILE`]).
    pub fn load(dir: &Path) -> Result<Truth> {
        let path = dir.join(TRUTH_FILE);
        let file = File::open(&path).map_err(|source| EvalError::Io {
            path: path.clone(),
            source,
        })?;
        Truth::read_csv(file, &path)
    }

    /// Reads truth CSV from any reader; `path` is only used in error messages.
    pub fn read_csv<R: Read>(reader: R, path: &Path) -> Result<Truth> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .buffer_capacity(1 << 20)
            .from_reader(reader);
        let csv_err = |e: csv::Error, path: &Path| match e.kind() {
            csv::ErrorKind::Io(_) => EvalError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            },
            _ => EvalError::Csv {
                path: path.to_path_buf(),
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            },
        };
        let header = csv.byte_headers().map_err(|e| csv_err(e, path))?.clone();
        let mut col = [0usize; 5];
        for (slot, name) in col.iter_mut().zip(COLUMNS) {
            *slot = header
                .iter()
                .position(|h| h == name.as_bytes())
                .ok_or_else(|| EvalError::MissingTruthColumn {
                    path: path.to_path_buf(),
                    column: name,
                })?;
        }
        let [c_source, c_record, c_role, c_person, c_broken] = col;

        let mut builder = Builder::default();
        let mut record = csv::ByteRecord::new();
        while csv
            .read_byte_record(&mut record)
            .map_err(|e| csv_err(e, path))?
        {
            let line = record.position().map_or(0, |p| p.line());
            let field_err =
                |field: &'static str, raw: &[u8], reason: &'static str| EvalError::TruthField {
                    path: path.to_path_buf(),
                    line,
                    field,
                    value: String::from_utf8_lossy(raw).into_owned(),
                    reason,
                };
            let text = |i: usize, field: &'static str| -> Result<&str> {
                let raw = &record[i];
                let s = std::str::from_utf8(raw).map_err(|_| field_err(field, raw, "non-UTF-8"))?;
                if s.is_empty() {
                    return Err(field_err(field, raw, "empty"));
                }
                Ok(s)
            };
            let source_s = text(c_source, "source")?;
            let source = parse_source(source_s)
                .ok_or_else(|| field_err("source", source_s.as_bytes(), "unknown source"))?;
            let role_s = text(c_role, "role")?;
            let role = parse_role(role_s)
                .ok_or_else(|| field_err("role", role_s.as_bytes(), "unknown role"))?;
            if !source.roles().contains(&role) {
                return Err(field_err(
                    "role",
                    role_s.as_bytes(),
                    "role not played in source",
                ));
            }
            let record_id = text(c_record, "record_id")?;
            let person_id = text(c_person, "person_id")?;
            let broken = match &record[c_broken] {
                b"0" => false,
                b"1" => true,
                raw => return Err(field_err("broken", raw, "expected 0 or 1, got")),
            };
            builder
                .push(tag(source, role), record_id, person_id, broken)
                .map_err(|e| match e {
                    PushError::Duplicate { first } => EvalError::DuplicateTruth {
                        path: path.to_path_buf(),
                        line,
                        key: describe(tag(source, role), record_id),
                        first_row: first as u64 + 1,
                    },
                    PushError::Full => EvalError::TooManyMentions {
                        path: path.to_path_buf(),
                        max: MAX_MENTIONS,
                    },
                })?;
        }
        Ok(builder.finish())
    }

    /// Builds truth from `(mention, person_id, broken)` rows, mainly for tests. Errors on a
    /// duplicate mention like [`Truth::read_csv`] does; the reported path is `<rows>` and the
    /// line is the 1-based row number.
    pub fn from_rows<I, S>(rows: I) -> Result<Truth>
    where
        I: IntoIterator<Item = (MentionKey, S, bool)>,
        S: AsRef<str>,
    {
        let path = PathBuf::from("<rows>");
        let mut builder = Builder::default();
        for (n, (key, person, broken)) in rows.into_iter().enumerate() {
            let t = tag(key.source, key.role);
            builder
                .push(t, &key.record_id, person.as_ref(), broken)
                .map_err(|e| match e {
                    PushError::Duplicate { first } => EvalError::DuplicateTruth {
                        path: path.clone(),
                        line: n as u64 + 1,
                        key: describe(t, &key.record_id),
                        first_row: first as u64 + 1,
                    },
                    PushError::Full => EvalError::TooManyMentions {
                        path: path.clone(),
                        max: MAX_MENTIONS,
                    },
                })?;
        }
        Ok(builder.finish())
    }

    /// Number of mentions in truth, broken ones included.
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// True when truth holds no mention.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// Number of distinct persons in truth.
    pub fn persons(&self) -> usize {
        self.persons as usize
    }

    /// Number of mentions marked broken (expected to be quarantined by ingestion).
    pub fn broken(&self) -> usize {
        self.broken.iter().filter(|&&b| b).count()
    }

    /// True when `key` is a truth mention.
    pub fn contains(&self, key: &MentionKey) -> bool {
        self.find(tag(key.source, key.role), &key.record_id)
            .is_some()
    }

    /// The dense index of a mention, if it is in truth.
    pub(crate) fn find(&self, tag: Tag, record_id: &str) -> Option<u32> {
        let h = key_hash(&self.hasher, tag, record_id);
        self.index
            .find(expand(h), |&(i, hi)| {
                hi == h
                    && self.tags[i as usize] == tag
                    && record_id_at(&self.arena, &self.ends, i) == record_id
            })
            .map(|&(i, _)| i)
    }

    pub(crate) fn tag(&self, mention: u32) -> Tag {
        self.tags[mention as usize]
    }

    pub(crate) fn persons_of_mentions(&self) -> &[u32] {
        &self.person
    }

    pub(crate) fn tags(&self) -> &[Tag] {
        &self.tags
    }

    pub(crate) fn is_broken(&self, mention: u32) -> bool {
        self.broken[mention as usize]
    }

    pub(crate) fn describe(&self, mention: u32) -> String {
        describe(
            self.tag(mention),
            record_id_at(&self.arena, &self.ends, mention),
        )
    }
}

/// 32-bit hash of a mention key, stored next to the mention index.
#[inline]
fn key_hash(hasher: &DefaultHashBuilder, tag: Tag, record_id: &str) -> u32 {
    (hasher.hash_one((tag, record_id)) >> 32) as u32
}

/// Spreads a stored 32-bit hash over the 64 bits the table uses (low bits pick the bucket,
/// top bits are the in-group tag), so growing the table needs only the stored value.
#[inline]
fn expand(h: u32) -> u64 {
    u64::from(h).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(h)
}

#[inline]
fn record_id_at<'a>(arena: &'a str, ends: &[u64], i: u32) -> &'a str {
    let i = i as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &arena[start..ends[i] as usize]
}

enum PushError {
    /// Mention already present as 0-based data row `first`.
    Duplicate {
        first: u32,
    },
    Full,
}

#[derive(Default)]
struct Builder {
    truth: Truth,
    person_ids: HashMap<String, u32>,
}

impl Builder {
    fn push(
        &mut self,
        tag: Tag,
        record_id: &str,
        person_id: &str,
        broken: bool,
    ) -> Result<(), PushError> {
        let t = &mut self.truth;
        let next = t.tags.len() as u64;
        if next >= MAX_MENTIONS {
            return Err(PushError::Full);
        }
        let h = key_hash(&t.hasher, tag, record_id);
        let (arena, ends, tags) = (&t.arena, &t.ends, &t.tags);
        match t.index.entry(
            expand(h),
            |&(i, hi)| {
                hi == h && tags[i as usize] == tag && record_id_at(arena, ends, i) == record_id
            },
            |&(_, hi)| expand(hi),
        ) {
            hashbrown::hash_table::Entry::Occupied(o) => {
                return Err(PushError::Duplicate { first: o.get().0 });
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert((next as u32, h));
            }
        }
        t.arena.push_str(record_id);
        t.ends.push(t.arena.len() as u64);
        t.tags.push(tag);
        let fresh = self.person_ids.len() as u32;
        t.person
            .push(*self.person_ids.entry_ref(person_id).or_insert(fresh));
        t.broken.push(broken);
        Ok(())
    }

    fn finish(self) -> Truth {
        Truth {
            persons: self.person_ids.len() as u32,
            ..self.truth
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Truth> {
        Truth::read_csv(text.as_bytes(), Path::new("truth/mentions.csv"))
    }

    const HEADER: &str = "source,record_id,role,person_id,broken\n";

    #[test]
    fn loads_and_interns() {
        let t = load(&format!(
            "{HEADER}sales,INV-1,buyer,P1,0\nafter_sales,RO-1,owner,P1,0\nafter_sales,RO-1,sender,P2,1\n"
        ))
        .unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.persons(), 2);
        assert_eq!(t.broken(), 1);
        let ro = |role| MentionKey {
            source: Source::AfterSales,
            record_id: "RO-1".into(),
            role,
        };
        assert!(t.contains(&ro(Role::Owner)));
        assert!(t.contains(&ro(Role::Sender)));
        let m = t
            .find(tag(Source::AfterSales, Role::Owner), "RO-1")
            .unwrap();
        let person = t.persons_of_mentions();
        assert_eq!(person[m as usize], person[0]);
        assert_ne!(person[2], person[0]);
        assert!(t.find(tag(Source::Sales, Role::Buyer), "RO-1").is_none());
        assert_eq!(t.describe(2), "after_sales:sender:RO-1");
    }

    #[test]
    fn columns_in_any_order_and_extra_columns_ignored() {
        let t = load("broken,person_id,note,role,record_id,source\n0,P9,x,lead,L-1,marketing\n")
            .unwrap();
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn unknown_source_names_file_line_and_field() {
        let e = load(&format!(
            "{HEADER}sales,INV-1,buyer,P1,0\ndms,X,buyer,P1,0\n"
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown source \"dms\" at truth/mentions.csv line 3 (field source)"
        );
    }

    #[test]
    fn bad_role_broken_and_empty_fields_are_reported() {
        let e = load(&format!("{HEADER}sales,INV-1,driver,P1,0\n")).unwrap_err();
        assert!(e.to_string().contains("unknown role \"driver\""), "{e}");
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = load(&format!("{HEADER}sales,INV-1,owner,P1,0\n")).unwrap_err();
        assert!(e.to_string().contains("role not played in source"), "{e}");
        let e = load(&format!(
            "{HEADER}sales,INV-1,buyer,P1,0\nsales,INV-2,buyer,P1,yes\n"
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "expected 0 or 1, got \"yes\" at truth/mentions.csv line 3 (field broken)"
        );
        let e = load(&format!("{HEADER}sales,,buyer,P1,0\n")).unwrap_err();
        assert!(e.to_string().contains("empty \"\""), "{e}");
        assert!(e.to_string().contains("field record_id"), "{e}");
    }

    #[test]
    fn duplicate_and_malformed_rows_are_reported() {
        let e = load(&format!(
            "{HEADER}sales,INV-1,buyer,P1,0\nsales,INV-2,buyer,P1,0\nsales,INV-1,buyer,P2,0\n"
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "duplicate mention sales:buyer:INV-1 at truth/mentions.csv line 4 (first given as data row 1)"
        );
        let e = load(&format!(
            "{HEADER}sales,INV-1,buyer,P1,0\nsales,INV-2,buyer\n"
        ))
        .unwrap_err();
        assert!(matches!(e, EvalError::Csv { line: 3, .. }), "{e:?}");
        let e = load("source,record_id,role,person\n").unwrap_err();
        assert!(e.to_string().contains("no column \"person_id\""), "{e}");
    }

    #[test]
    fn load_names_the_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = Truth::load(dir.path()).unwrap_err();
        assert!(e.to_string().contains("truth/mentions.csv"), "{e}");
        std::fs::create_dir(dir.path().join("truth")).unwrap();
        std::fs::write(
            dir.path().join(TRUTH_FILE),
            format!("{HEADER}app,E1,app_user,P1,0\n"),
        )
        .unwrap();
        assert_eq!(Truth::load(dir.path()).unwrap().len(), 1);
    }
}
