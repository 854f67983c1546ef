//! Ground truth: which person every record mentions (in which role), who owned which vehicle
//! when, and the persons themselves.

use std::fmt::Write as _;
use std::path::Path;

use marque_core::{Role, Source};

use crate::out::Out;
use crate::time::{self, Day};
use crate::world::{World, person_id, unionid};
use crate::{GenError, geo};

/// `truth/mentions.csv` and `truth/ownership.csv`.
pub struct Truth {
    pub mentions: Out,
    pub ownership: Out,
    line: String,
}

impl Truth {
    pub fn create(dir: &Path) -> Result<Truth, GenError> {
        let mut mentions = Out::create(dir.join("truth/mentions.csv"))?;
        mentions.bytes(b"source,record_id,role,person_id,broken\n")?;
        let mut ownership = Out::create(dir.join("truth/ownership.csv"))?;
        ownership.bytes(b"vin,person_id,from,to\n")?;
        Ok(Truth {
            mentions,
            ownership,
            line: String::with_capacity(96),
        })
    }

    /// One mention of a person by a record.
    pub fn mention(
        &mut self,
        source: Source,
        record_id: &str,
        role: Role,
        person: u32,
        broken: bool,
    ) -> Result<(), GenError> {
        self.line.clear();
        let _ = writeln!(
            self.line,
            "{},{},{},P{:08},{}",
            source.as_str(),
            record_id,
            role.as_str(),
            person,
            broken as u8
        );
        self.mentions.row(self.line.as_bytes())
    }

    /// One period of ownership; `to` is `None` while owned.
    pub fn owned(
        &mut self,
        vin: &str,
        person: u32,
        from: Day,
        to: Option<Day>,
    ) -> Result<(), GenError> {
        self.line.clear();
        let _ = write!(self.line, "{vin},P{person:08},");
        time::iso(&mut self.line, from);
        self.line.push(',');
        if let Some(t) = to {
            time::iso(&mut self.line, t);
        }
        self.line.push('\n');
        self.ownership.row(self.line.as_bytes())
    }
}

/// Writes `truth/persons.csv`; returns the file's path and row count.
pub fn write_persons(
    dir: &Path,
    world: &World,
    seed: u64,
) -> Result<(std::path::PathBuf, u64), GenError> {
    let mut out = Out::create(dir.join("truth/persons.csv"))?;
    out.bytes(b"person_id,household_id,name,gender,birth_date,city,phones,resident_id,app_user_id,unionid\n")?;
    let mut line = String::with_capacity(160);
    for (i, p) in world.persons.iter().enumerate() {
        line.clear();
        let city = geo::CITIES[world.households[p.household as usize].city()].name;
        let _ = write!(
            line,
            "{},H{:08},{},{},{},{},{}",
            person_id(i as u32),
            p.household,
            p.name.plain(),
            if p.male { "M" } else { "F" },
            p.birth.format("%Y-%m-%d"),
            city,
            p.phones[0]
        );
        if p.phone_change.is_some() {
            let _ = write!(line, ";{}", p.phones[1]);
        }
        let _ = write!(line, ",{},", p.resident_id());
        if p.app_user != 0 {
            let _ = write!(line, "U{}", p.app_user);
        }
        line.push(',');
        if p.has_unionid {
            line.push_str(&unionid(seed, i as u32));
        }
        line.push('\n');
        out.row(line.as_bytes())?;
    }
    out.finish()
}
