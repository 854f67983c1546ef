//! `sales/dms_sales.csv`: the dealer DMS invoice export, GBK-encoded with CRLF and Chinese
//! headers, one row per new-vehicle sale.

use std::path::Path;

use encoding_rs::GBK;
use marque_core::{Role, Source};
use rand::Rng;

use crate::GenError;
use crate::dirt::DirtRates;
use crate::geo::{self, CITIES};
use crate::noise;
use crate::out::{Out, RecordCsv};
use crate::rng::chance;
use crate::time::{self, Day, END};
use crate::truth::Truth;
use crate::vehicles::MODELS;
use crate::world::World;

/// The header, exactly as the contract says.
pub const HEADER: [&str; 12] = [
    "发票号",
    "开票日期",
    "客户姓名",
    "手机号码",
    "身份证号",
    "车架号",
    "品牌车型",
    "经销商代码",
    "销售顾问",
    "成交价",
    "联系地址",
    "城市",
];

/// Relative path of the file under the output directory.
pub const PATH: &str = "sales/dms_sales.csv";

/// One sale as the world decided it.
pub struct Sale<'a> {
    pub day: Day,
    pub buyer: u32,
    pub vin: &'a str,
    pub model: usize,
    pub dealer: usize,
    pub salesperson: usize,
    pub price: u32,
}

/// Writes sales rows and their mentions.
pub struct SalesWriter {
    out: Out,
    csv: RecordCsv,
    per_day: Vec<u32>,
}

impl SalesWriter {
    pub fn create(dir: &Path) -> Result<SalesWriter, GenError> {
        let out = Out::create(dir.join(PATH))?;
        let csv = RecordCsv::new(csv::Terminator::CRLF);
        let mut w = SalesWriter {
            out,
            csv,
            per_day: vec![0; END as usize + 1],
        };
        let line = w.encode(&HEADER)?;
        w.out.bytes(&line)?;
        Ok(w)
    }

    /// CSV-quotes a record and encodes it to GBK.
    fn encode(&mut self, fields: &[&str]) -> Result<Vec<u8>, GenError> {
        let line = self.csv.record(fields, &self.out.path)?;
        let utf8 = String::from_utf8_lossy(line);
        let (bytes, _, _) = GBK.encode(&utf8);
        Ok(bytes.into_owned())
    }

    /// Writes one sale with its dirt; returns the invoice number.
    pub fn write<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        dirt: &DirtRates,
        world: &World,
        truth: &mut Truth,
        sale: &Sale,
    ) -> Result<String, GenError> {
        let day = sale.day.clamp(0, END);
        let seq = &mut self.per_day[day as usize];
        *seq += 1;
        let mut invoice = String::with_capacity(16);
        invoice.push_str("FP");
        time::iso(&mut invoice, day);
        invoice.retain(|c| c != '-');
        invoice.push_str(&format!("{:06}", *seq));

        let person = &world.persons[sale.buyer as usize];
        let household = world.household_of(sale.buyer);
        let sellers = &world.salespeople[sale.dealer];
        let seller = &sellers[sale.salesperson % sellers.len()];
        let name = noise::name(rng, dirt, &person.name);
        let number = if chance(rng, dirt.placeholder_phone) {
            geo::PLACEHOLDER_PHONE
        } else if chance(rng, dirt.salesperson_phone) {
            seller.phone
        } else if household.first != sale.buyer && chance(rng, dirt.household_phone) {
            world.persons[household.first as usize].phone_on(day)
        } else {
            person.phone_on(day)
        };
        let phone = noise::phone(rng, dirt, number, false);
        let rid = noise::resident_id(rng, dirt, person.resident_id());
        let broken = chance(rng, dirt.broken_row).then(|| rng.random_range(0..3u8));
        let date = match broken {
            Some(1) => noise::impossible_date(rng, day),
            _ => noise::sales_date(rng, dirt, day),
        };
        let amount = noise::amount(rng, dirt, sale.price);
        let address = household.address.render();
        let dealer = geo::dealer_code(sale.dealer);
        let city = CITIES[household.city()].name;
        let model = MODELS[sale.model % MODELS.len()].name;
        let mut fields: Vec<&str> = vec![
            &invoice,
            &date,
            &name,
            &phone,
            &rid,
            sale.vin,
            model,
            &dealer,
            &seller.name,
            &amount,
            &address,
            city,
        ];
        if broken == Some(0) {
            if rng.random_bool(0.5) {
                fields.pop();
            } else {
                fields.insert(4, &phone);
            }
        }
        let mut line = self.encode(&fields)?;
        if broken == Some(2) {
            // The name as UTF-8 bytes inside the GBK file, as a badly merged export has it.
            let (gbk_name, _, _) = GBK.encode(&name);
            let start = invoice.len() + date.len() + 2;
            if let Some(pos) = find(&line[start.min(line.len())..], &gbk_name) {
                let at = start + pos;
                line.splice(at..at + gbk_name.len(), name.bytes());
            }
        }
        self.out.row(&line)?;
        truth.mention(
            Source::Sales,
            &invoice,
            Role::Buyer,
            sale.buyer,
            broken.is_some(),
        )?;
        Ok(invoice)
    }

    pub fn finish(self) -> Result<(std::path::PathBuf, u64), GenError> {
        self.out.finish()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
