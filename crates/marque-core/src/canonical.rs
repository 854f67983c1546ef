//! The canonical fields of each source domain: what a connector maps source columns to, and the
//! Arrow schema of the raw table it lands them in.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::Source;

/// The type of a canonical field, and so of its raw-table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    /// A calendar date (Date32).
    Date,
    /// An instant, stored in UTC with microseconds.
    Timestamp,
    /// A money amount or other decimal quantity (Float64).
    Amount,
    /// A whole number (Int64), e.g. mileage.
    Integer,
}

impl FieldType {
    pub fn data_type(self) -> DataType {
        match self {
            FieldType::String => DataType::Utf8,
            FieldType::Date => DataType::Date32,
            FieldType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            FieldType::Amount => DataType::Float64,
            FieldType::Integer => DataType::Int64,
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => FieldType::String,
            "date" => FieldType::Date,
            "timestamp" => FieldType::Timestamp,
            "amount" => FieldType::Amount,
            "integer" => FieldType::Integer,
            _ => return None,
        })
    }
}

/// One canonical field of a domain.
#[derive(Debug, Clone, Copy)]
pub struct CanonicalField {
    pub name: &'static str,
    pub ty: FieldType,
    /// A row without it cannot be landed (it is quarantined).
    pub required: bool,
}

const fn f(name: &'static str, ty: FieldType, required: bool) -> CanonicalField {
    CanonicalField { name, ty, required }
}

use FieldType::*;

const SALES: &[CanonicalField] = &[
    f("record_id", String, true),
    f("sale_date", Date, true),
    f("customer_name", String, false),
    f("mobile", String, false),
    f("resident_id", String, false),
    f("vin", String, false),
    f("model", String, false),
    f("dealer_code", String, false),
    f("salesperson", String, false),
    f("price", Amount, false),
    f("address", String, false),
    f("city", String, false),
];

const AFTER_SALES: &[CanonicalField] = &[
    f("record_id", String, true),
    f("ro_time", Timestamp, true),
    f("vin", String, false),
    f("plate", String, false),
    f("owner_name", String, false),
    f("owner_phone", String, false),
    f("sender_name", String, false),
    f("sender_phone", String, false),
    f("mileage_km", Integer, false),
    f("labour_amount", Amount, false),
    f("parts_amount", Amount, false),
    f("service_type", String, false),
    f("dealer_code", String, false),
];

const MARKETING: &[CanonicalField] = &[
    f("record_id", String, true),
    f("created_at", Timestamp, true),
    f("name", String, false),
    f("mobile", String, false),
    f("city", String, false),
    f("intended_model", String, false),
    f("channel", String, false),
    f("campaign", String, false),
    f("dealer_code", String, false),
];

const APP: &[CanonicalField] = &[
    f("record_id", String, true),
    f("app_user_id", String, true),
    f("unionid", String, false),
    f("mobile", String, false),
    f("nickname", String, false),
    f("event_type", String, false),
    f("event_time", Timestamp, true),
    f("amount", Amount, false),
];

/// Columns every raw table carries after the canonical fields: where the row came from.
pub const LINEAGE_COLUMNS: [&str; 3] = ["_batch_id", "_source_file", "_line"];

/// The canonical fields of a domain, in raw-table column order.
pub fn fields(source: Source) -> &'static [CanonicalField] {
    match source {
        Source::Sales => SALES,
        Source::AfterSales => AFTER_SALES,
        Source::Marketing => MARKETING,
        Source::App => APP,
    }
}

/// The lake table a domain's rows land in.
pub fn raw_table(source: Source) -> &'static str {
    match source {
        Source::Sales => "raw_sales",
        Source::AfterSales => "raw_service_orders",
        Source::Marketing => "raw_leads",
        Source::App => "raw_app_events",
    }
}

/// The Arrow schema of a domain's raw table: canonical fields, then lineage columns.
pub fn raw_schema(source: Source) -> SchemaRef {
    let mut cols: Vec<Field> = fields(source)
        .iter()
        .map(|c| Field::new(c.name, c.ty.data_type(), !c.required))
        .collect();
    cols.push(Field::new("_batch_id", DataType::Utf8, false));
    cols.push(Field::new("_source_file", DataType::Utf8, false));
    cols.push(Field::new("_line", DataType::Int64, false));
    Arc::new(Schema::new(cols))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_has_a_required_record_id_first() {
        for s in Source::ALL {
            let first = fields(s)[0];
            assert_eq!((first.name, first.required), ("record_id", true));
            let schema = raw_schema(s);
            assert_eq!(schema.fields().len(), fields(s).len() + 3);
            assert!(schema.field_with_name("_line").is_ok());
        }
    }
}
