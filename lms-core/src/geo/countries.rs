//! Countries of birth abroad, as the registries want them: the INSEE « code pays » of the Code
//! officiel géographique (`99350`, the code a birth abroad takes in place of a commune's) with its
//! ISO 3166-1 alpha-2 (`MA`) and alpha-3 (`MAR`) codes and its French name.
//!
//! The list is `fixtures/countries.csv`, embedded in the binary and read once: it is reference
//! data that changes with the world, not with the organisation, so it lives beside the communes
//! rather than in a table anyone edits (sources in `fixtures/countries.md`).

use std::sync::LazyLock;

/// The countries file (COG code, alpha-2, alpha-3, name).
pub const COUNTRIES_CSV: &str = include_str!("../../../fixtures/countries.csv");

/// The COG code of France, which a birth in France never uses (the commune's code is given).
pub const FRANCE_COG: &str = "99100";

/// A country of the COG with its ISO codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    /// INSEE « code pays » (`99350`).
    pub cog: &'static str,
    /// ISO 3166-1 alpha-2 (`MA`).
    pub iso2: &'static str,
    /// ISO 3166-1 alpha-3 (`MAR`), the code the Accrochage file wants.
    pub iso3: &'static str,
    /// French name (`Maroc`).
    pub name: &'static str,
}

impl Country {
    /// Whether this is France (a birth in France is given by its commune, never by country).
    pub fn is_france(&self) -> bool {
        self.cog == FRANCE_COG
    }
}

/// Rows that do not have the four fields are left out; the unit test below proves there are none.
static COUNTRIES: LazyLock<Vec<Country>> = LazyLock::new(|| {
    COUNTRIES_CSV
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split(',');
            match (fields.next(), fields.next(), fields.next(), fields.next(), fields.next()) {
                (Some(cog), Some(iso2), Some(iso3), Some(name), None) => Some(Country { cog, iso2, iso3, name }),
                _ => None,
            }
        })
        .collect()
});

/// Every country of the list, in COG order.
pub fn all_countries() -> &'static [Country] {
    &COUNTRIES
}

/// The country with this COG code (`99350`), alpha-2 (`MA`) or alpha-3 (`MAR`) code, in any case.
pub fn find_country(code: &str) -> Option<&'static Country> {
    let code = code.trim().to_ascii_uppercase();
    let matches = |country: &&Country| match code.len() {
        5 => country.cog == code,
        3 => country.iso3 == code,
        2 => country.iso2 == code,
        _ => false,
    };
    COUNTRIES.iter().find(matches)
}

/// Whether `code` has the shape of an INSEE « code pays » (`99` and three digits).
pub fn is_cog_country_code(code: &str) -> bool {
    code.len() == 5 && code.starts_with("99") && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_row_of_the_file_is_a_country_with_unique_codes() {
        let rows = COUNTRIES_CSV.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
        assert_eq!(all_countries().len(), rows);
        for country in all_countries() {
            assert!(is_cog_country_code(country.cog), "{country:?}");
            assert!(country.iso2.len() == 2 && country.iso2.bytes().all(|b| b.is_ascii_uppercase()), "{country:?}");
            assert!(country.iso3.len() == 3 && country.iso3.bytes().all(|b| b.is_ascii_uppercase()), "{country:?}");
            assert!(!country.name.is_empty() && country.name.chars().count() <= 60, "{country:?}");
        }
        for field in [|c: &Country| c.cog, |c: &Country| c.iso2, |c: &Country| c.iso3] {
            let distinct: HashSet<&str> = all_countries().iter().map(field).collect();
            assert_eq!(distinct.len(), rows);
        }
    }

    #[test]
    fn a_country_is_found_by_any_of_its_codes() {
        for code in ["99350", "MA", "mar", " Mar "] {
            assert_eq!(find_country(code).map(|c| c.name), Some("Maroc"), "{code}");
        }
        assert_eq!(find_country("BEL").map(|c| c.cog), Some("99131"));
        assert!(find_country("99999").is_none());
        assert!(find_country("ZZ").is_none());
        assert!(find_country("").is_none());
        assert!(find_country("99100").is_some_and(Country::is_france));
    }

    #[test]
    fn the_eu_the_maghreb_and_west_africa_are_there() {
        let eu = [
            "DEU", "AUT", "BEL", "BGR", "CYP", "HRV", "DNK", "ESP", "EST", "FIN", "FRA", "GRC", "HUN", "IRL", "ITA",
            "LVA", "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "CZE", "ROU", "SVK", "SVN", "SWE",
        ];
        let maghreb = ["MAR", "DZA", "TUN", "LBY", "MRT"];
        let west_africa =
            ["BEN", "BFA", "CPV", "CIV", "GMB", "GHA", "GIN", "GNB", "LBR", "MLI", "NER", "NGA", "SEN", "SLE", "TGO"];
        for code in eu.iter().chain(&maghreb).chain(&west_africa) {
            assert!(find_country(code).is_some(), "{code}");
        }
    }
}
