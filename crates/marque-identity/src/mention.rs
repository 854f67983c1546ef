//! One mention's evidence, held compactly: at 1M persons ten million of these are the run's
//! memory floor.

use compact_str::CompactString;
use marque_core::name::Gender;
use marque_core::{Role, Source, phone, resident_id};
use sha2::{Digest, Sha256};

use crate::compact::{PackedPhone, PackedVin, PhoneKind, RecordId, SeenSpan, SharedText};
use crate::name_cache::SharedName;

/// Resident-id evidence: the number itself is never kept, only a keyed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentEvidence {
    /// Hex SHA-256 of salt + number, held inline: one allocation with the rest (a mention
    /// holds this boxed, as most mentions carry no resident id).
    hex: [u8; 64],
    /// Days since 1970-01-01.
    pub birth_date: i32,
    pub male: bool,
}

impl ResidentEvidence {
    /// Hex SHA-256 of salt + number.
    pub fn hash(&self) -> &str {
        // Always ASCII hex: written only by `resident`.
        std::str::from_utf8(&self.hex).unwrap_or_default()
    }
}

/// The brand app's ids of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppIds {
    pub app_user_id: Option<CompactString>,
    pub unionid: Option<CompactString>,
}

/// The evidence most mentions lack, boxed together beside the mention: at 1M persons 3.1M of
/// 10.8M mentions carry a VIN, 0.93M a resident id and 0.40M app ids, so three inline fields
/// (32 bytes) would cost every mention what one pointer (8) does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RareEvidence {
    pub resident: Option<Box<ResidentEvidence>>,
    /// The app account's ids: boxed again, as only app mentions carry them.
    pub app: Option<Box<AppIds>>,
    pub vin: Option<PackedVin>,
}

impl RareEvidence {
    /// The box, or none when there is no such evidence.
    pub fn boxed(
        resident: Option<Box<ResidentEvidence>>,
        app: Option<Box<AppIds>>,
        vin: Option<PackedVin>,
    ) -> Option<Box<Self>> {
        let rare = RareEvidence { resident, app, vin };
        (rare != RareEvidence::default()).then(|| Box::new(rare))
    }
}

/// One person as seen by one source record in one role. App events of one account with the
/// same identifiers are folded into one mention with many record ids.
#[derive(Debug, Clone)]
pub struct Mention {
    pub source: Source,
    pub role: Role,
    /// The smallest id of the records folded into the mention: its key, which names it in
    /// every table. The others are spilled ([`crate::folded::FoldedRecords`]).
    pub record: RecordId,
    /// How many records the mention stands for (at least one).
    pub records: u32,
    /// Shared by every mention spelling the name alike (derefs to the parsed name).
    pub name: SharedName,
    /// True when `name` is a real name; app nicknames are not.
    pub name_is_evidence: bool,
    /// The phone field's E.164 key (placeholder and invalid numbers are dropped), or the block
    /// pattern (`139****5678`) of a masked number: partial evidence, never a key. Read through
    /// [`Mention::phone`] and [`Mention::masked_phone`].
    pub(crate) phone: Option<PackedPhone>,
    pub(crate) phone_kind: PhoneKind,
    /// Resident id, app ids and VIN: read through [`Mention::resident`], [`Mention::vin`],
    /// [`Mention::app_user_id`] and [`Mention::unionid`].
    pub(crate) rare: Option<Box<RareEvidence>>,
    /// Shared by every mention naming the same city.
    pub city: Option<SharedText>,
    /// The records' own times (sale, visit, lead, event).
    pub seen: SeenSpan,
}

impl Mention {
    /// The E.164 phone, hub or not (see [`Mention::usable_phone`]).
    pub fn phone(&self) -> Option<PackedPhone> {
        self.phone.filter(|_| self.phone_kind != PhoneKind::Masked)
    }

    /// The block pattern (`139****5678`) of a masked phone.
    pub fn masked_phone(&self) -> Option<PackedPhone> {
        self.phone.filter(|_| self.phone_kind == PhoneKind::Masked)
    }

    /// True when the phone is a hub (seen with many different names): not evidence.
    pub fn phone_is_hub(&self) -> bool {
        self.phone_kind == PhoneKind::Hub
    }

    /// Sets the phone's E.164 key (a key set this way is not a hub; one that does not pack,
    /// not being E.164, is dropped).
    pub fn set_phone(&mut self, key: Option<&str>) {
        self.phone = key.and_then(PackedPhone::pack);
        self.phone_kind = PhoneKind::Key;
    }

    /// Sets the phone to a masked number's block pattern.
    pub fn set_masked_phone(&mut self, pattern: Option<&str>) {
        self.phone = pattern.and_then(PackedPhone::pack);
        self.phone_kind = PhoneKind::Masked;
    }

    /// Marks a key as a hub (or not); a masked pattern is never a key, so never a hub.
    pub fn set_phone_hub(&mut self, hub: bool) {
        if self.phone_kind != PhoneKind::Masked {
            self.phone_kind = if hub { PhoneKind::Hub } else { PhoneKind::Key };
        }
    }

    /// Sets the city (unshared: the load shares cities through its cache).
    pub fn set_city(&mut self, city: Option<&str>) {
        self.city = city.map(|c| std::sync::Arc::new(CompactString::from(c)));
    }

    pub fn city(&self) -> Option<&str> {
        self.city.as_deref().map(CompactString::as_str)
    }

    /// Microseconds since the epoch of the earliest record's own time.
    pub fn first_seen(&self) -> Option<i64> {
        self.seen.first()
    }

    /// Microseconds since the epoch of the latest record's own time.
    pub fn last_seen(&self) -> Option<i64> {
        self.seen.last()
    }

    pub fn app_user_id(&self) -> Option<&str> {
        self.rare.as_ref()?.app.as_ref()?.app_user_id.as_deref()
    }

    pub fn unionid(&self) -> Option<&str> {
        self.rare.as_ref()?.app.as_ref()?.unionid.as_deref()
    }

    /// The validated resident id's evidence.
    pub fn resident(&self) -> Option<&ResidentEvidence> {
        self.rare.as_ref()?.resident.as_deref()
    }

    /// The validated VIN.
    pub fn vin(&self) -> Option<PackedVin> {
        self.rare.as_ref()?.vin
    }

    /// Sets the resident id's evidence (the others stay).
    #[cfg(test)]
    pub(crate) fn set_resident(&mut self, resident: Option<Box<ResidentEvidence>>) {
        let rare = self.rare.take().map(|r| *r).unwrap_or_default();
        self.rare = RareEvidence::boxed(resident, rare.app, rare.vin);
    }

    /// Sets the VIN (the others stay).
    #[cfg(test)]
    pub(crate) fn set_vin(&mut self, vin: Option<PackedVin>) {
        let rare = self.rare.take().map(|r| *r).unwrap_or_default();
        self.rare = RareEvidence::boxed(rare.resident, rare.app, vin);
    }

    /// The full name's comparison key (simplified characters, lower case); empty without one.
    pub fn name_key(&self) -> &CompactString {
        self.name.key()
    }

    /// The record id that names the mention: its smallest (app accounts fold many).
    pub fn key_record(&self) -> CompactString {
        self.record.text()
    }

    /// Folds record `id` (seen at `t`) into the mention: returns the id that is not the key
    /// now (the one to spill), which is `id` unless it is smaller than the key so far.
    pub fn fold(&mut self, id: &str, t: Option<i64>) -> CompactString {
        self.records += 1;
        self.seen.cover(t);
        let key = self.record.text();
        if id < key.as_str() {
            self.record = id.into();
            key
        } else {
            id.into()
        }
    }

    /// Tone-less pinyin of the name or nickname, when it has one.
    pub fn pinyin(&self) -> Option<&str> {
        (!self.name.pinyin.is_empty()).then_some(self.name.pinyin.as_str())
    }

    /// How many mentions this one stands for: each source record folded into it, except that
    /// an app account's events are one mention of the account.
    pub fn weight(&self) -> u32 {
        if self.source == Source::App {
            1
        } else {
            self.records
        }
    }

    /// The visible-digits pattern (`139****5678`) this mention shares with the masked and full
    /// forms of its mobile: the masked pass's block key.
    pub fn phone_pattern(&self) -> Option<String> {
        self.masked_phone()
            .map(|p| p.text().to_string())
            .or_else(|| phone::mobile_block_pattern(&self.phone()?.text()))
    }

    /// The phone when it is evidence (not a hub).
    pub fn usable_phone(&self) -> Option<PackedPhone> {
        self.phone().filter(|_| !self.phone_is_hub())
    }

    /// The gender the evidence states: the resident id wins over an honorific.
    pub fn gender(&self) -> Option<Gender> {
        match self.resident() {
            Some(r) => Some(if r.male { Gender::Male } else { Gender::Female }),
            None => self.name.gender,
        }
    }
}

/// Validates a resident id and keeps only its keyed hash and what it says of the person.
pub fn resident(raw: &str, salt: &str) -> Option<Box<ResidentEvidence>> {
    let id = resident_id::parse(raw)?;
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(id.number.as_bytes());
    let epoch = chrono_days(id.birth_date);
    let mut hex = [0u8; 64];
    // 32 digest bytes always fill 64 hex digits.
    hex::encode_to_slice(h.finalize(), &mut hex).ok()?;
    Some(Box::new(ResidentEvidence {
        hex,
        birth_date: epoch,
        male: id.male,
    }))
}

fn chrono_days(d: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    d.num_days_from_ce() - 719_163
}

/// A sales-buyer mention with only a name, for tests.
#[cfg(test)]
pub fn test_mention(raw_name: &str) -> Mention {
    Mention {
        source: Source::Sales,
        role: Role::Buyer,
        record: format!("r-{raw_name}").into(),
        records: 1,
        name: SharedName::parse(raw_name),
        name_is_evidence: true,
        phone: None,
        phone_kind: PhoneKind::Key,
        rare: None,
        city: None,
        seen: SeenSpan::at(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten million mentions at 1M persons: each byte here is 10 MB of the run's peak.
    #[test]
    fn a_mention_stays_within_72_bytes() {
        assert!(
            std::mem::size_of::<Mention>() <= 72,
            "Mention grew to {} bytes",
            std::mem::size_of::<Mention>()
        );
    }

    #[test]
    fn a_folded_record_smaller_than_the_key_becomes_the_key_and_the_old_key_is_spilled() {
        let mut m = test_mention("王小明");
        m.record = "RO-5".into();
        m.seen = SeenSpan::at(Some(50));
        assert_eq!(m.fold("RO-7", Some(70)), "RO-7");
        assert_eq!(
            m.fold("RO-2", Some(20)),
            "RO-5",
            "the old key goes to the spill"
        );
        assert_eq!(m.fold("RO-3", None), "RO-3");
        assert_eq!(
            (m.key_record().as_str(), m.records, m.weight()),
            ("RO-2", 4, 4)
        );
        assert_eq!((m.first_seen(), m.last_seen()), (Some(20), Some(70)));
    }

    #[test]
    fn a_masked_phone_is_never_a_key_nor_a_hub() {
        let mut m = test_mention("王小明");
        m.set_masked_phone(Some("139****5678"));
        m.set_phone_hub(true);
        let text = |p: Option<PackedPhone>| p.map(PackedPhone::text);
        assert_eq!(
            (text(m.phone()), text(m.masked_phone())),
            (None, Some("139****5678".into()))
        );
        assert!(!m.phone_is_hub());
        assert_eq!(m.phone_pattern().as_deref(), Some("139****5678"));
        m.set_phone(Some("+8613912345678"));
        m.set_phone_hub(true);
        assert_eq!(
            text(m.phone()),
            Some("+8613912345678".into()),
            "a hub is still the number"
        );
        assert!(m.phone_is_hub());
        assert_eq!((m.usable_phone(), m.masked_phone()), (None, None));
        assert_eq!(m.phone_pattern().as_deref(), Some("139****5678"));
    }

    #[test]
    fn a_resident_hash_is_the_salted_sha256_in_hex() {
        let r = resident("11010519491231002X", "salt").expect("a valid resident id");
        let mut h = Sha256::new();
        h.update(b"salt11010519491231002X");
        assert_eq!(r.hash(), hex::encode(h.finalize()));
        assert_eq!(r.hash().len(), 64);
        assert!(!r.male, "the 17th digit 2 is even: female");
    }
}
