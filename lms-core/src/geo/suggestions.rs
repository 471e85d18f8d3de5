//! « Vouliez-vous dire … ? »: communes whose name is close to text that matched none.
//!
//! The index holds every current commune of `fixtures/geo/communes.tsv` (the reference data the
//! database is loaded from), built once per process. Three kinds of closeness, best first:
//! - the typed text is the first words of a name (`Brive` → Brive-la-Gaillarde, `Oloron` →
//!   Oloron-Sainte-Marie);
//! - an island (`Île d'Oléron`) designates the communes named after it (Saint-Pierre-d'Oléron, …);
//! - a typo: an optimal-string-alignment distance of one (two for names of eight letters or
//!   more) between normalised names (`Bgles` → Bègles, `Limoge` → Limoges).
//!
//! Normalisation ([`super::normalize_place_name`]) already makes accents, case, hyphens,
//! apostrophes, `St`/`Ste` and a leading article irrelevant.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::{PlaceCandidate, departement_name, normalize_place_name};

/// Most suggestions offered at once.
pub const MAX_SUGGESTIONS: usize = 6;
/// Names of at least this many letters tolerate two typos (shorter ones, one).
const TWO_TYPOS_FROM_CHARS: usize = 8;
/// The shortest typed text for which typos are looked for (shorter text matches too much).
const MIN_FUZZY_CHARS: usize = 4;

struct Entry {
    insee: &'static str,
    name: &'static str,
    key: String,
    key_chars: usize,
    letters: LetterCounts,
    departement: &'static str,
    region: &'static str,
    population: i64,
    postcodes: Vec<&'static str>,
    /// Whether another commune of the same département has the same key (the suggestion's
    /// query then names the postcode rather than the département).
    shared_in_departement: bool,
}

/// How many times each letter (and the space, and anything else) occurs in a normalised key.
///
/// Each edit of the optimal string alignment (insertion, deletion, substitution, transposition)
/// changes these counts by at most one on each side, so the larger of the two one-sided
/// differences never exceeds the edit distance: a cheap bound that spares the exact distance for
/// nearly every commune.
#[derive(Clone, Copy)]
struct LetterCounts([u8; 28]);

impl LetterCounts {
    fn of(key: &str) -> Self {
        let mut counts = [0u8; 28];
        for c in key.chars() {
            let slot = match c {
                'A'..='Z' => c as usize - 'A' as usize,
                ' ' => 26,
                _ => 27,
            };
            counts[slot] = counts[slot].saturating_add(1);
        }
        LetterCounts(counts)
    }

    /// A lower bound of the edit distance between the two keys.
    fn distance_bound(&self, other: &LetterCounts) -> usize {
        let (mut surplus, mut deficit) = (0usize, 0usize);
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            if a > b {
                surplus += usize::from(a - b);
            } else {
                deficit += usize::from(b - a);
            }
        }
        surplus.max(deficit)
    }
}

fn index() -> &'static [Entry] {
    static INDEX: OnceLock<Vec<Entry>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut entries: Vec<Entry> = crate::fixtures::COMMUNES_TSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let fields: Vec<&'static str> = line.split('\t').collect();
                let [insee, name, postcodes, departement, region, population, ..] = fields.as_slice() else {
                    return None;
                };
                let key = normalize_place_name(name);
                Some(Entry {
                    insee,
                    name,
                    key_chars: key.chars().count(),
                    letters: LetterCounts::of(&key),
                    key,
                    departement,
                    region,
                    population: population.parse().unwrap_or(0),
                    postcodes: postcodes.split(' ').filter(|p| !p.is_empty()).collect(),
                    shared_in_departement: false,
                })
            })
            .collect();
        let mut per_departement: HashMap<(String, &str), usize> = HashMap::new();
        for entry in &entries {
            *per_departement.entry((entry.key.clone(), entry.departement)).or_default() += 1;
        }
        for entry in &mut entries {
            entry.shared_in_departement =
                per_departement.get(&(entry.key.clone(), entry.departement)).copied().unwrap_or(0) > 1;
        }
        entries
    })
}

/// Builds the index now (it is otherwise built by the first suggestion asked for).
pub fn warm_up_suggestions() {
    index();
}

/// `Île d'Oléron`, `Ile de Ré`, `île d Yeu` → the island's name (`OLERON`, `RE`, `YEU`).
fn island_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("ILE ")?;
    let rest = ["D ", "DE ", "DU ", "DES "].iter().find_map(|article| rest.strip_prefix(article)).unwrap_or(rest);
    (!rest.is_empty()).then_some(rest)
}

/// Communes whose name is close to `key` (a [`normalize_place_name`] key that matched nothing),
/// the closest first, then those of `home_region`, then the most populous.
pub fn suggest_communes(key: &str, home_region: Option<&str>) -> Vec<PlaceCandidate> {
    let key_chars = key.chars().count();
    let prefix = format!("{key} ");
    let island = island_of(key).map(|name| (format!(" D {name}"), format!(" DE {name}"), format!(" {name}")));
    let max_typos = if key_chars >= TWO_TYPOS_FROM_CHARS { 2 } else { 1 };
    let letters = LetterCounts::of(key);
    let mut found: Vec<(usize, &Entry)> = Vec::new();
    for entry in index() {
        let closeness = if entry.key.starts_with(&prefix) {
            Some(0)
        } else if let Some((with_d, with_de, bare)) = &island
            && (entry.key.ends_with(with_d.as_str())
                || entry.key.ends_with(with_de.as_str())
                || entry.key.ends_with(bare.as_str()))
        {
            Some(0)
        } else if key_chars >= MIN_FUZZY_CHARS
            && entry.key_chars.abs_diff(key_chars) <= max_typos
            && letters.distance_bound(&entry.letters) <= max_typos
        {
            let distance = strsim::osa_distance(key, &entry.key);
            (distance <= max_typos).then_some(distance)
        } else {
            None
        };
        if let Some(closeness) = closeness {
            found.push((closeness, entry));
        }
    }
    found.sort_by(|(da, a), (db, b)| {
        da.cmp(db)
            .then_with(|| (Some(b.region) == home_region).cmp(&(Some(a.region) == home_region)))
            .then_with(|| b.population.cmp(&a.population))
            .then_with(|| a.insee.cmp(b.insee))
    });
    found
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, entry)| {
            let query = match entry.postcodes.first() {
                Some(postcode) if entry.shared_in_departement => format!("{} {postcode}", entry.name),
                _ => format!("{} ({})", entry.name, entry.departement),
            };
            PlaceCandidate {
                name: entry.name.to_owned(),
                departement: entry.departement.to_owned(),
                departement_name: departement_name(entry.departement).unwrap_or_default().to_owned(),
                postcodes: entry.postcodes.iter().map(|p| (*p).to_owned()).collect(),
                insee: entry.insee.to_owned(),
                part_of: None,
                query,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(typed: &str) -> Vec<String> {
        suggest_communes(&normalize_place_name(typed), Some("75")).into_iter().map(|c| c.name).collect()
    }

    #[test]
    fn typos_and_short_forms_are_suggested() {
        assert_eq!(names("Bgles").first().map(String::as_str), Some("Bègles"));
        assert_eq!(names("Limoge").first().map(String::as_str), Some("Limoges"));
        assert_eq!(names("Brive").first().map(String::as_str), Some("Brive-la-Gaillarde"));
        assert_eq!(names("Oloron").first().map(String::as_str), Some("Oloron-Sainte-Marie"));
        let oleron = names("Ile d'Oléron");
        assert!(oleron.contains(&"Saint-Pierre-d'Oléron".to_owned()), "{oleron:?}");
        assert!(oleron.iter().all(|n| n.ends_with("Oléron")), "{oleron:?}");
        assert!(names("Xyzzyqwv").is_empty());
    }

    #[test]
    fn a_suggestion_carries_the_query_that_selects_it() {
        let suggestions = suggest_communes(&normalize_place_name("Limoge"), Some("75"));
        let limoges = suggestions.first().map(|c| (c.query.as_str(), c.departement_name.as_str()));
        assert_eq!(limoges, Some(("Limoges (87)", "Haute-Vienne")));
    }

    #[test]
    fn the_letter_bound_never_exceeds_the_edit_distance() {
        let pairs = [
            ("BGLES", "BEGLES"),
            ("LIMOGE", "LIMOGES"),
            ("ANGOULEME", "ANGOLUEME"),
            ("BORDEAUX", "BORDAUX"),
            ("LA ROCHELLE", "LAROCHELLE"),
            ("PAU", "POITIERS"),
        ];
        for (a, b) in pairs {
            let bound = LetterCounts::of(a).distance_bound(&LetterCounts::of(b));
            assert!(bound <= strsim::osa_distance(a, b), "{a} / {b}");
        }
        assert!(LetterCounts::of("PAU").distance_bound(&LetterCounts::of("POITIERS")) > 2, "far names are pruned");
    }
}
