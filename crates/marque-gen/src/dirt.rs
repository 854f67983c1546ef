//! The kinds of dirt the generator puts into the sources, each with a documented default rate.
//!
//! Every field of [`DirtRates`] is a probability in `[0, 1]`. Setting all of them to `0`
//! ([`DirtRates::none`]) gives clean data: no broken rows, no masked or foreign phones, one
//! canonical date and amount format, no resales, repurchases, app users or lead-only persons.

use serde::{Deserialize, Serialize};

use crate::GenError;

macro_rules! dirt_rates {
    ($( $(#[doc = $doc:literal])+ $name:ident = $default:expr; )+) => {
        /// Rates of every kind of dirt and of the life events that make identity hard.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct DirtRates {
            $( $(#[doc = $doc])+ pub $name: f64, )+
        }

        impl Default for DirtRates {
            fn default() -> Self {
                Self { $( $name: $default, )+ }
            }
        }

        impl DirtRates {
            /// Name, default rate and meaning of every kind of dirt, in a fixed order.
            pub fn describe() -> Vec<(&'static str, f64, &'static str)> {
                vec![ $( (stringify!($name), $default, concat!($($doc),+).trim()), )+ ]
            }

            /// All rates set to zero: clean data.
            pub fn none() -> Self {
                Self { $( $name: 0.0, )+ }
            }

            /// Name and current value of every rate, in the order of [`DirtRates::describe`].
            pub fn values(&self) -> Vec<(&'static str, f64)> {
                vec![ $( (stringify!($name), self.$name), )+ ]
            }

            fn slot(&mut self, name: &str) -> Option<&mut f64> {
                match name {
                    $( stringify!($name) => Some(&mut self.$name), )+
                    _ => None,
                }
            }
        }
    };
}

dirt_rates! {
    /// Share of names (sales, repair orders, full-name leads) written in traditional characters.
    traditional_name = 0.03;
    /// Share of names with one character replaced by a homophone (a typo: 王伟 → 王维).
    homophone_name = 0.03;
    /// Share of phone and resident id values written with full-width digits (１３８…).
    fullwidth_digits = 0.03;
    /// Share of sales rows without a resident id number.
    missing_resident_id = 0.15;
    /// Share of resident ids ending in X that are written with a lower-case x.
    lowercase_x_resident_id = 0.3;
    /// Share of sales rows carrying the salesperson's own phone instead of the customer's (a hub value).
    salesperson_phone = 0.04;
    /// Share of sales and lead phones replaced by the placeholder 13800000000.
    placeholder_phone = 0.01;
    /// Share of phone values written with +86, spaces or dashes.
    phone_format_noise = 0.08;
    /// Share of persons who change their mobile number during the time span.
    phone_change = 0.15;
    /// Share of records of a household member that carry the household head's phone.
    household_phone = 0.10;
    /// Share of repair orders where the car is brought by a household member or a driver.
    sender_not_owner = 0.30;
    /// Share of repair orders with empty sender fields.
    sender_missing = 0.05;
    /// Share of sales dates not written as YYYY-MM-DD (2023/5/1, 20230501, 2023年5月1日, 2023.05.01).
    mixed_date_format = 0.4;
    /// Share of sales amounts written as 189,800.00 or 18.98万 instead of 189800.
    mixed_amount_format = 0.3;
    /// Share of leads whose name is only surname and honorific (王先生, 李女士).
    honorific_only_name = 0.45;
    /// Share of leads whose name is a nickname (小王, 阿伟, Tony).
    nickname_lead = 0.15;
    /// Share of auto media leads (autohome, dongchedi, yiche) with a masked phone (138****8000).
    masked_phone = 0.5;
    /// Share of lead episodes in which the person leaves leads on 2 to 4 channels.
    multi_channel_leads = 0.35;
    /// Share of lead-leaving persons who never buy a car.
    lead_never_buys = 0.3;
    /// Share of vehicles resold to another person, who then services it.
    resale = 0.12;
    /// Share of owners who buy again 1 to 4 years later (repeated for a third car).
    repurchase = 0.5;
    /// Share of buyers who use the brand app (half that for lead-only persons).
    app_adoption = 0.45;
    /// Share of app users without a WeChat unionid.
    app_unionid_missing = 0.3;
    /// Share of app users without a registered mobile (WeChat login only).
    app_mobile_missing = 0.1;
    /// Share of registered mobiles in E.164 form (+8613812345678) rather than 11 digits.
    app_mobile_e164 = 0.5;
    /// Share of app users whose nickname is the pinyin of their name (wang wei).
    pinyin_nickname = 0.25;
    /// Share of persons who churn: their service and app activity decays, then stops.
    churn = 0.25;
    /// Share of rows broken on purpose: sales (wrong column count, impossible date, UTF-8 name in the GBK file), repair orders (non-numeric amount, wrong column count), leads (truncated JSON).
    broken_row = 0.002;
}

impl DirtRates {
    /// Sets one rate by name, as given by a `--dirt name=rate` flag.
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), GenError> {
        if !(0.0..=1.0).contains(&value) {
            return Err(GenError::RateOutOfRange {
                name: name.to_string(),
                value,
            });
        }
        match self.slot(name) {
            Some(slot) => {
                *slot = value;
                Ok(())
            }
            None => Err(GenError::UnknownDirt {
                name: name.to_string(),
                known: Self::describe()
                    .iter()
                    .map(|d| d.0)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Parses rates from TOML (`resale = 0.2`); missing keys keep their defaults.
    pub fn from_toml_str(s: &str) -> Result<Self, GenError> {
        let rates: DirtRates = toml::from_str(s).map_err(|e| {
            let msg = e.to_string();
            match msg
                .split("unknown field `")
                .nth(1)
                .and_then(|r| r.split('`').next())
            {
                Some(name) => GenError::UnknownDirt {
                    name: name.to_string(),
                    known: Self::describe()
                        .iter()
                        .map(|d| d.0)
                        .collect::<Vec<_>>()
                        .join(", "),
                },
                None => GenError::Toml(msg),
            }
        })?;
        rates.validate()?;
        Ok(rates)
    }

    /// Checks that every rate is in `[0, 1]`.
    pub fn validate(&self) -> Result<(), GenError> {
        for (name, value) in self.values() {
            if !(0.0..=1.0).contains(&value) {
                return Err(GenError::RateOutOfRange {
                    name: name.to_string(),
                    value,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_accepts_known_names_and_rejects_others() {
        let mut d = DirtRates::default();
        d.set("resale", 0.5).unwrap();
        assert_eq!(d.resale, 0.5);
        assert!(matches!(
            d.set("nope", 0.1),
            Err(GenError::UnknownDirt { .. })
        ));
        assert!(matches!(
            d.set("resale", 1.5),
            Err(GenError::RateOutOfRange { .. })
        ));
        assert!(matches!(
            d.set("resale", f64::NAN),
            Err(GenError::RateOutOfRange { .. })
        ));
    }

    #[test]
    fn describe_lists_every_field_with_its_default() {
        let d = DirtRates::default();
        let described = DirtRates::describe();
        assert_eq!(described.len(), d.values().len());
        for ((name, default, meaning), (vname, value)) in described.iter().zip(d.values()) {
            assert_eq!(*name, vname);
            assert_eq!(*default, value);
            assert!(!meaning.is_empty() && !meaning.starts_with(' '));
        }
    }

    #[test]
    fn toml_overrides_and_validates() {
        let d = DirtRates::from_toml_str("resale = 0.2\nchurn = 0.0\n").unwrap();
        assert_eq!(d.resale, 0.2);
        assert_eq!(d.churn, 0.0);
        assert_eq!(d.phone_change, DirtRates::default().phone_change);
        assert!(matches!(
            DirtRates::from_toml_str("bogus = 0.1"),
            Err(GenError::UnknownDirt { .. })
        ));
        assert!(matches!(
            DirtRates::from_toml_str("resale = 2.0"),
            Err(GenError::RateOutOfRange { .. })
        ));
        assert!(matches!(
            DirtRates::from_toml_str("resale = "),
            Err(GenError::Toml(_))
        ));
    }
}
