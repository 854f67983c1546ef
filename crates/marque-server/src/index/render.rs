//! Profiles written as JSON straight from the index into a byte buffer: no `serde_json::Value`
//! tree per request, no parsing of stored JSON, one allocation for the answer.
//!
//! The default profile is lean: golden record, mention counts per source, vehicles,
//! lifecycle, CLV and segments. The full mention list is opt-in (`include=mentions`): a
//! long-standing customer has hundreds of mentions, and most callers want the person, not the
//! paperwork.

use super::cells::write_str;
use super::{NONE, ProfileIndex};
use crate::auth::Role;

/// Optional parts of a profile answer, from the `include` query parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Include {
    /// Every mention as `{source, record_id, role}`.
    pub mentions: bool,
}

impl Include {
    /// The names `include` accepts.
    pub const NAMES: &'static str = "mentions";

    /// Parses a comma-separated `include` value (`None` or empty: the lean default).
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        let mut out = Self::default();
        for part in value.unwrap_or("").split(',').map(str::trim) {
            match part {
                "" => {}
                "mentions" => out.mentions = true,
                other => {
                    return Err(format!("include={other:?} is unknown: use {}", Self::NAMES));
                }
            }
        }
        Ok(out)
    }
}

/// Writes `n` in decimal.
fn write_u32(out: &mut Vec<u8>, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Whether golden column `name` is for admins only (resident id numbers).
pub(super) fn admin_only(name: &str) -> bool {
    name.contains("resident_id")
}

impl ProfileIndex {
    /// Writes the profile of customer `idx` as `role` may see it to `out`: `{customer_id,
    /// golden, mention_counts, vehicles, lifecycle, clv, segments, segments_state,
    /// segments_as_of}` plus `mentions` when included.
    pub fn write_profile(&self, out: &mut Vec<u8>, idx: u32, role: Role, include: Include) {
        out.extend_from_slice(b"{\"customer_id\":");
        write_str(out, self.id(idx));
        out.extend_from_slice(b",\"golden\":");
        self.golden.write(out, idx, role);
        let mentions = self.mentions_of(idx);

        // Mentions per source, sources in name order.
        out.extend_from_slice(b",\"mention_counts\":{");
        // Counted on the stack for the usual handful of sources.
        let (mut small, mut big) = ([0u32; 16], Vec::new());
        let counts: &mut [u32] = if self.sources.len() <= small.len() {
            &mut small[..self.sources.len()]
        } else {
            big.resize(self.sources.len(), 0);
            &mut big
        };
        for m in mentions {
            counts[self.kinds[m.kind as usize].source_id as usize] += 1;
        }
        let mut first = true;
        for (source, n) in self.sources.iter().zip(counts.iter()) {
            if *n == 0 {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            write_str(out, source);
            out.push(b':');
            write_u32(out, *n);
        }
        out.push(b'}');

        if include.mentions {
            let mut list: Vec<(&str, &str, &str)> = mentions
                .iter()
                .map(|m| {
                    let k = &self.kinds[m.kind as usize];
                    (
                        k.source.as_str(),
                        m.record.get(&self.records),
                        k.role.as_str(),
                    )
                })
                .collect();
            list.sort_unstable();
            list.dedup();
            out.extend_from_slice(b",\"mentions\":[");
            for (i, (source, record, role)) in list.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"source\":");
                write_str(out, source);
                out.extend_from_slice(b",\"record_id\":");
                write_str(out, record);
                out.extend_from_slice(b",\"role\":");
                write_str(out, role);
                out.push(b'}');
            }
            out.push(b']');
        }

        // Vehicles: VINs the customer bought or owns (not cars they only brought in).
        let mut vins: Vec<&str> = mentions
            .iter()
            .filter(|m| m.vin != NONE && self.kinds[m.kind as usize].vehicle)
            .map(|m| self.vins.get(m.vin))
            .collect();
        vins.sort_unstable();
        vins.dedup();
        out.extend_from_slice(b",\"vehicles\":[");
        for (i, vin) in vins.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, vin);
        }
        out.push(b']');

        for (name, extra) in &self.extras {
            out.push(b',');
            write_str(out, name);
            out.push(b':');
            extra.write(out, idx, role);
        }

        out.extend_from_slice(b",\"segments\":[");
        for (i, &s) in self.segments_of(idx).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, &self.segment_names[s as usize]);
        }
        out.push(b']');
        // `,"segments_state":…,"segments_as_of":…`, written once per index.
        out.extend_from_slice(&self.segments_tail);
        out.push(b'}');
    }

    /// The profile of customer `idx` as a JSON value (tests and tools; the routes write bytes).
    pub fn profile(&self, idx: u32, role: Role, include: Include) -> serde_json::Value {
        let mut out = Vec::new();
        self.write_profile(&mut out, idx, role, include);
        serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_accepts_mentions_and_rejects_unknown_parts() {
        assert_eq!(Include::parse(None).unwrap(), Include::default());
        assert_eq!(Include::parse(Some("")).unwrap(), Include::default());
        assert!(Include::parse(Some("mentions")).unwrap().mentions);
        assert!(Include::parse(Some(" mentions ,")).unwrap().mentions);
        let err = Include::parse(Some("mentions,secrets")).unwrap_err();
        assert!(err.contains("secrets"), "{err}");
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0u32, 7, 10, 24, 65_535, u32::MAX] {
            let mut out = Vec::new();
            write_u32(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
