//! `marketing/leads.jsonl`: leads from auto media, brand site, live streams, motor shows and
//! WeChat, one JSON object per line; names reduced to honorifics or nicknames, masked phones.

use std::fmt::Write as _;
use std::path::Path;

use chrono::Datelike;
use marque_core::{Role, Source};
use rand::Rng;
use serde::Serialize;

use crate::GenError;
use crate::dirt::DirtRates;
use crate::geo::{self, CITIES};
use crate::noise;
use crate::out::Out;
use crate::rng::chance;
use crate::time::{self, Day};
use crate::truth::Truth;
use crate::vehicles::MODELS;
use crate::world::World;

/// Relative path of the file under the output directory.
pub const PATH: &str = "marketing/leads.jsonl";

/// Lead channels; the first three are auto media, which mask phones.
pub const CHANNELS: &[&str] = &[
    "autohome",
    "dongchedi",
    "yiche",
    "brand_site",
    "live_stream",
    "motor_show",
    "wechat",
];
pub const CHANNEL_WEIGHTS: &[u32] = &[25, 20, 15, 12, 12, 6, 10];

#[derive(Serialize)]
struct Line<'a> {
    lead_id: &'a str,
    created_at: &'a str,
    name: &'a str,
    mobile: &'a str,
    city: &'a str,
    intended_model: &'a str,
    channel: &'a str,
    campaign: &'a str,
    dealer_code: &'a str,
}

/// One lead as the world decided it.
pub struct Lead {
    pub day: Day,
    pub person: u32,
    pub channel: usize,
    pub model: usize,
    pub dealer: usize,
}

/// Writes leads and their mentions.
pub struct LeadWriter {
    out: Out,
    next: u64,
    buf: Vec<u8>,
}

impl LeadWriter {
    pub fn create(dir: &Path) -> Result<LeadWriter, GenError> {
        Ok(LeadWriter {
            out: Out::create(dir.join(PATH))?,
            next: 0,
            buf: Vec::with_capacity(512),
        })
    }

    /// Writes one lead with its dirt.
    pub fn write<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        dirt: &DirtRates,
        world: &World,
        truth: &mut Truth,
        lead: &Lead,
    ) -> Result<(), GenError> {
        self.next += 1;
        let lead_id = format!("L{:09}", self.next);
        let mut created_at = String::with_capacity(25);
        time::iso(&mut created_at, lead.day);
        let secs = rng.random_range(8 * 3600..24 * 3600);
        let _ = write!(
            created_at,
            "T{:02}:{:02}:{:02}+08:00",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );

        let person = &world.persons[lead.person as usize];
        let household = world.household_of(lead.person);
        let name = if chance(rng, dirt.honorific_only_name) {
            person.name.honorific(person.male)
        } else if chance(rng, dirt.nickname_lead) {
            person.name.nickname(rng, person.male)
        } else {
            noise::name(rng, dirt, &person.name)
        };
        let number = if chance(rng, dirt.placeholder_phone) {
            geo::PLACEHOLDER_PHONE
        } else if household.first != lead.person && chance(rng, dirt.household_phone) {
            world.persons[household.first as usize].phone_on(lead.day)
        } else {
            person.phone_on(lead.day)
        };
        let channel = lead.channel % CHANNELS.len();
        let mask = channel < 3 && chance(rng, dirt.masked_phone);
        let mobile = noise::phone(rng, dirt, number, mask);
        let city = CITIES[household.city()].name;
        let model = MODELS[lead.model % MODELS.len()].name;
        let year = time::date(lead.day).year();
        let campaign = match channel {
            0 => format!("汽车之家{year}购车季"),
            1 => format!("懂车帝{model}试驾团"),
            2 => format!("易车{year}惠民补贴"),
            3 => format!("官网{model}预约试驾"),
            4 => format!("{model}直播间限时优惠"),
            5 => format!("{city}车展{year}"),
            _ => format!("公众号老带新{year}"),
        };
        let dealer = geo::dealer_code(lead.dealer);
        self.buf.clear();
        let line = Line {
            lead_id: &lead_id,
            created_at: &created_at,
            name: &name,
            mobile: &mobile,
            city,
            intended_model: model,
            channel: CHANNELS[channel],
            campaign: &campaign,
            dealer_code: &dealer,
        };
        serde_json::to_writer(&mut self.buf, &line)
            .map_err(|e| GenError::json(self.out.path(), e))?;
        let broken = chance(rng, dirt.broken_row);
        if broken {
            // A truncated line, cut on a character boundary so the file stays UTF-8.
            let mut cut = self.buf.len() / 2;
            while cut > 0 && (self.buf[cut] & 0xC0) == 0x80 {
                cut -= 1;
            }
            self.buf.truncate(cut);
        }
        self.buf.push(b'\n');
        self.out.row(&self.buf)?;
        truth.mention(Source::Marketing, &lead_id, Role::Lead, lead.person, broken)
    }

    pub fn finish(self) -> Result<(std::path::PathBuf, u64), GenError> {
        self.out.finish()
    }
}
