//! Names of the départements (`fixtures/geo/departements.tsv`, COG), so that people choosing
//! among communes read « Charente-Maritime », not only « 17 ».

use std::collections::HashMap;
use std::sync::OnceLock;

/// The table, embedded at build time.
const DEPARTEMENTS_TSV: &str = include_str!("../../../fixtures/geo/departements.tsv");

fn table() -> &'static HashMap<&'static str, &'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| DEPARTEMENTS_TSV.lines().skip(1).filter_map(|line| line.split_once('\t')).collect())
}

/// The name of a département from its code (`17` → `Charente-Maritime`), if the code is known.
pub fn departement_name(code: &str) -> Option<&'static str> {
    table().get(code).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_departement_of_the_communes_table_has_a_name() {
        let codes: std::collections::BTreeSet<&str> =
            crate::fixtures::COMMUNES_TSV.lines().skip(1).filter_map(|line| line.split('\t').nth(3)).collect();
        assert_eq!(codes.len(), 101);
        for code in codes {
            assert!(departement_name(code).is_some(), "{code}");
        }
        assert_eq!(departement_name("17"), Some("Charente-Maritime"));
        assert_eq!(departement_name("2A"), Some("Corse-du-Sud"));
        assert_eq!(departement_name("20"), None);
    }
}
