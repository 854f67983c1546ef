//! Vehicle repurchase propensity as a discrete-time life table by vehicle age: of the vehicles
//! that reached age k (whole years) without their owner buying again, the share whose owner
//! bought a new vehicle during year k. Right-censored vehicles (no repurchase yet) count as at
//! risk up to their current age.

/// One vehicle: its age in whole years when the owner bought again, or its current age if not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VehicleSpell {
    pub age_years: u32,
    pub repurchased: bool,
}

/// The hazard and survival at one vehicle age.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeHazard {
    pub age_years: u32,
    /// Vehicles that reached this age without a repurchase.
    pub at_risk: u64,
    /// Repurchases during this year of age.
    pub events: u64,
    /// events / at_risk: the probability of a repurchase during this year, given none before.
    pub hazard: f64,
    /// Probability of no repurchase up to the end of this year (Kaplan–Meier product).
    pub survival: f64,
}

/// The life table from age 0 to the oldest observed age.
pub fn life_table(spells: &[VehicleSpell]) -> Vec<AgeHazard> {
    let Some(max_age) = spells.iter().map(|s| s.age_years).max() else {
        return Vec::new();
    };
    let len = max_age as usize + 1;
    let mut ending = vec![0u64; len];
    let mut events = vec![0u64; len];
    for s in spells {
        ending[s.age_years as usize] += 1;
        if s.repurchased {
            events[s.age_years as usize] += 1;
        }
    }
    let mut at_risk = spells.len() as u64;
    let mut survival = 1.0;
    let mut out = Vec::with_capacity(len);
    for age in 0..len {
        let hazard = if at_risk > 0 {
            events[age] as f64 / at_risk as f64
        } else {
            0.0
        };
        survival *= 1.0 - hazard;
        out.push(AgeHazard {
            age_years: age as u32,
            at_risk,
            events: events[age],
            hazard,
            survival,
        });
        at_risk -= ending[age];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn censored_vehicles_stay_at_risk_until_their_current_age() {
        let spell = |age_years, repurchased| VehicleSpell {
            age_years,
            repurchased,
        };
        // Four vehicles: repurchase at 5 and 6, two still driven at ages 3 and 6.
        let t = life_table(&[
            spell(5, true),
            spell(6, true),
            spell(3, false),
            spell(6, false),
        ]);
        assert_eq!(t.len(), 7);
        assert_eq!((t[3].at_risk, t[3].events), (4, 0));
        assert_eq!((t[5].at_risk, t[5].events), (3, 1));
        assert!((t[5].hazard - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!((t[6].at_risk, t[6].events), (2, 1));
        assert!((t[6].survival - (2.0 / 3.0) * 0.5).abs() < 1e-12);
        assert!(life_table(&[]).is_empty());
    }
}
