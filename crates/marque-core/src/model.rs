//! Sources, roles and mention keys: the names every stage uses for "who was seen where".

use std::fmt;
use std::str::FromStr;

use crate::CoreError;

/// The four kinds of source system a car maker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Dealer DMS invoices: one row per vehicle sale.
    Sales,
    /// Workshop repair orders: one row per visit.
    AfterSales,
    /// Leads and campaign responses.
    Marketing,
    /// Brand app and WeChat mini-program events.
    App,
}

impl Source {
    pub const ALL: [Source; 4] = [
        Source::Sales,
        Source::AfterSales,
        Source::Marketing,
        Source::App,
    ];

    /// The stable lower-case name used in tables, files and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Sales => "sales",
            Source::AfterSales => "after_sales",
            Source::Marketing => "marketing",
            Source::App => "app",
        }
    }

    /// The roles a person plays in one record of this source, in a fixed order.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Source::Sales => &[Role::Buyer],
            Source::AfterSales => &[Role::Owner, Role::Sender],
            Source::Marketing => &[Role::Lead],
            Source::App => &[Role::AppUser],
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| CoreError::UnknownSource(s.to_string()))
    }
}

/// The part a person plays in a source record. A repair order has two: the registered owner
/// and the person who brought the car in (often a family member or a driver).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Buyer,
    Owner,
    Sender,
    Lead,
    AppUser,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Buyer,
        Role::Owner,
        Role::Sender,
        Role::Lead,
        Role::AppUser,
    ];

    /// The stable lower-case name used in tables and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Buyer => "buyer",
            Role::Owner => "owner",
            Role::Sender => "sender",
            Role::Lead => "lead",
            Role::AppUser => "app_user",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| CoreError::UnknownRole(s.to_string()))
    }
}

/// One person as seen by one source record in one role: the unit that identity resolution
/// assigns to a customer and that ground truth assigns to a person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MentionKey {
    pub source: Source,
    /// The record's own id in its source system (invoice number, repair order number, lead id,
    /// app event id), exactly as exported.
    pub record_id: String,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Source::ALL {
            assert_eq!(s.as_str().parse::<Source>().unwrap(), s);
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("dms".parse::<Source>().is_err());
        assert!("driver".parse::<Role>().is_err());
    }

    #[test]
    fn repair_orders_have_two_roles() {
        assert_eq!(Source::AfterSales.roles(), &[Role::Owner, Role::Sender]);
    }
}
