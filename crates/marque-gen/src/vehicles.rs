//! The model catalogue and valid VINs (ISO 3779 check digit at position 9).

/// One model of the fictional brand 星驰.
pub struct Model {
    /// 品牌车型 as the DMS writes it.
    pub name: &'static str,
    /// Positions 4–8 of the VIN.
    pub descriptor: &'static [u8; 5],
    pub price_min: u32,
    pub price_max: u32,
    pub new_energy: bool,
    pub weight: u32,
}

pub const MODELS: &[Model] = &[
    Model {
        name: "星驰 S5",
        descriptor: b"A1B5E",
        price_min: 99_800,
        price_max: 129_800,
        new_energy: false,
        weight: 25,
    },
    Model {
        name: "星驰 S7",
        descriptor: b"A2B7E",
        price_min: 159_800,
        price_max: 199_800,
        new_energy: false,
        weight: 22,
    },
    Model {
        name: "星驰 S7 EV",
        descriptor: b"A2E7C",
        price_min: 189_800,
        price_max: 229_800,
        new_energy: true,
        weight: 18,
    },
    Model {
        name: "星驰 L8 PHEV",
        descriptor: b"A3P8D",
        price_min: 229_800,
        price_max: 279_800,
        new_energy: true,
        weight: 14,
    },
    Model {
        name: "星驰 X9",
        descriptor: b"A4X9F",
        price_min: 289_800,
        price_max: 359_800,
        new_energy: false,
        weight: 8,
    },
    Model {
        name: "星驰 Mini EV",
        descriptor: b"A5E1A",
        price_min: 69_800,
        price_max: 89_800,
        new_energy: true,
        weight: 13,
    },
];

/// Relative sales weights of [`MODELS`].
pub fn model_weights() -> Vec<u32> {
    MODELS.iter().map(|m| m.weight).collect()
}

const YEAR_CODES: &[u8] = b"KLMNPRSTVWXY"; // 2019, 2020, ...
const PLANT_CODES: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";

/// A valid, unique VIN for the `serial`-th vehicle built: `LXC` + descriptor + check digit +
/// model year + plant + six-digit serial. Unique for serials below 33 million.
pub fn vin(model: usize, model_year: i32, serial: u64) -> String {
    let m = &MODELS[model % MODELS.len()];
    let mut v = [b'0'; 17];
    v[..3].copy_from_slice(b"LXC");
    v[3..8].copy_from_slice(m.descriptor);
    v[9] = YEAR_CODES[(model_year - 2019).clamp(0, YEAR_CODES.len() as i32 - 1) as usize];
    v[10] = PLANT_CODES[(serial / 1_000_000) as usize % PLANT_CODES.len()];
    let mut n = serial % 1_000_000;
    for i in (11..17).rev() {
        v[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    // All characters above are allowed VIN characters, so the check digit always exists.
    v[8] = marque_core::vin::check_char(&v).unwrap_or(b'0');
    String::from_utf8_lossy(&v).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vins_are_valid_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for serial in (0..3_000_000u64).step_by(997) {
            let v = vin((serial % 6) as usize, 2019 + (serial % 9) as i32, serial);
            assert_eq!(v.len(), 17);
            assert_eq!(
                marque_core::vin::parse(&v).as_deref(),
                Some(v.as_str()),
                "{v}"
            );
            assert!(seen.insert(v));
        }
    }
}
