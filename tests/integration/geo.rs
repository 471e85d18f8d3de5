//! Where am I? Every form of input a trainee may type, on the real communes of France.

use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::db::schema::communes;
use lms_core::geo::{self, GeoError, Place, PlaceKind};
use lms_tests::{Seed, TestDb};

fn resolve(conn: &mut DbConn, input: &str) -> Place {
    geo::resolve_place(conn, input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

fn insee(conn: &mut DbConn, input: &str) -> String {
    resolve(conn, input).insee.unwrap_or_default()
}

#[test]
fn commune_names_are_found_whatever_the_case_accents_hyphens_and_abbreviations() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let saintes = resolve(&mut conn, "Saintes");
    assert_eq!(saintes.kind, PlaceKind::Commune);
    assert_eq!(saintes.label, "Saintes (17)");
    assert_eq!(saintes.insee.as_deref(), Some("17415"));
    assert_eq!(saintes.departement.as_deref(), Some("17"));
    assert_eq!(saintes.postcodes, vec!["17100"]);
    assert!((saintes.lat - 45.74625).abs() < 1e-6 && (saintes.lon + 0.64565).abs() < 1e-6);
    assert!((saintes.uncertainty_km - 6.74).abs() < 1e-9, "the commune's half-diagonal");
    for typed in ["SAINTES", "saintes", "  Saintes  ", "Saintes (17)", "Saintes 17100", "17100 Saintes", "Saintes, 17"]
    {
        assert_eq!(insee(&mut conn, typed), "17415", "{typed}");
    }
    for typed in [
        "Saint-Jean-d'Angély",
        "saint jean d angely",
        "ST JEAN D'ANGELY",
        "St-Jean-d’Angély",
        "st jean d angély (17)",
        "Saint Jean d Angely 17400",
    ] {
        assert_eq!(insee(&mut conn, typed), "17347", "{typed}");
    }
    // A leading article may be left out or typed differently.
    for typed in ["L'Isle-d'Espagnac", "isle d espagnac", "l isle-d'espagnac", "Isle-d'Espagnac (16)"] {
        assert_eq!(insee(&mut conn, typed), "16166", "{typed}");
    }
    for typed in ["Rochelle (17)", "la rochelle 17000", "LA ROCHELLE (17)"] {
        assert_eq!(insee(&mut conn, typed), "17300", "{typed}");
    }
    assert_eq!(insee(&mut conn, "Ste-Foy-la-Grande"), insee(&mut conn, "Sainte-Foy-la-Grande"));
    assert_eq!(insee(&mut conn, "Ajaccio (2a)"), "2A004");
}

#[test]
fn a_postcode_of_one_commune_is_that_commune() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let rochelle = resolve(&mut conn, "17000");
    assert_eq!((rochelle.insee.as_deref(), rochelle.label.as_str()), (Some("17300"), "La Rochelle (17)"));
    assert_eq!(insee(&mut conn, "17 000"), "17300");
    assert_eq!(insee(&mut conn, "75016"), "75056", "Paris has one commune for all its postcodes");
}

#[test]
fn a_postcode_shared_by_several_communes_is_searched_from_all_of_them() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    // 17400: Saint-Jean-d'Angély and 18 villages. No question asked: one place, their centroid.
    let area = resolve(&mut conn, "17400");
    assert_eq!(area.kind, PlaceKind::Postcode);
    assert_eq!(area.label, "17400 (Saint-Jean-d'Angély et 18 autres communes)");
    assert_eq!(
        (area.postcodes.clone(), area.departement.as_deref(), area.insee.clone()),
        (vec!["17400".to_owned()], Some("17"), None)
    );
    // The centroid weighted by population lies near the town, and the uncertainty covers the
    // farthest commune of the postcode.
    let town = resolve(&mut conn, "Saint-Jean-d'Angély");
    let from_town = geo::haversine_km(area.lat, area.lon, town.lat, town.lon);
    assert!(from_town < 8.0, "{from_town}");
    assert!(area.uncertainty_km > town.uncertainty_km && area.uncertainty_km < 30.0, "{}", area.uncertainty_km);
    // 51300 (46 communes) and 17100 (9) alike; a postcode of one commune is that commune.
    assert_eq!(resolve(&mut conn, "51300").kind, PlaceKind::Postcode);
    assert_eq!(resolve(&mut conn, "17100").label, "17100 (Saintes et 8 autres communes)");
    let rochelle = resolve(&mut conn, "17000");
    assert_eq!((rochelle.kind, rochelle.insee.as_deref()), (PlaceKind::Commune, Some("17300")));
    // A commune can still be picked within its postcode.
    assert_eq!(insee(&mut conn, "Saint-Jean-d'Angély 17400"), "17347");
}

#[test]
fn a_name_shared_by_several_communes_is_ambiguous_until_the_departement_or_postcode_is_given() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let Err(error) = geo::resolve_place(&mut conn, "Sainte-Colombe") else { panic!("12 Sainte-Colombe") };
    let message = error.to_string();
    assert!(message.contains("12 communes") && message.contains("précisez"), "{message}");
    let candidates = error.candidates().unwrap().to_vec();
    assert_eq!(candidates.len(), 12);
    let in_17 = candidates.iter().find(|c| c.departement == "17").unwrap();
    assert_eq!((in_17.insee.as_str(), in_17.postcodes.as_slice()), ("17319", &["17210".to_owned()][..]));
    assert_eq!(in_17.query, "Sainte-Colombe (17)");
    for candidate in &candidates {
        assert_eq!(insee(&mut conn, &candidate.query), candidate.insee, "{candidate:?}");
    }
    for typed in ["Sainte-Colombe (17)", "Sainte-Colombe 17210", "17210 Sainte-Colombe", "ste colombe, 17"] {
        assert_eq!(insee(&mut conn, typed), "17319", "{typed}");
    }
    assert_eq!(insee(&mut conn, "Sainte-Colombe (33)"), "33390");
    // Candidates name their département, the organisation's region (Nouvelle-Aquitaine, where
    // the venues are) first.
    assert_eq!(in_17.departement_name, "Charente-Maritime");
    let first_three: Vec<&str> = candidates[..3].iter().map(|c| c.departement.as_str()).collect();
    assert_eq!(first_three, ["40", "33", "17"], "Nouvelle-Aquitaine first, then by population");
    assert!(candidates.iter().all(|c| !c.departement_name.is_empty()));
    // Two communes named La Rochelle: 79,851 inhabitants (17) against a village of Haute-Saône
    // (70). The city dwarfs the village, so nobody is asked; the village stays one word away.
    let rochelle = resolve(&mut conn, "La Rochelle");
    assert_eq!((rochelle.insee.as_deref(), rochelle.label.as_str()), (Some("17300"), "La Rochelle (17)"));
    assert_eq!(resolve(&mut conn, "La Rochelle (70)").departement.as_deref(), Some("70"));
}

#[test]
fn candidates_come_from_the_organisation_region_first_then_by_population() {
    use lms_core::documents::organisation::set_setting;
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let order = |conn: &mut DbConn| match geo::resolve_place(conn, "Sainte-Colombe") {
        Err(GeoError::AmbiguousPlace { candidates, .. }) => {
            candidates.into_iter().map(|c| c.departement).collect::<Vec<_>>()
        }
        other => panic!("{other:?}"),
    };
    // The venues are in Nouvelle-Aquitaine (75): its three Sainte-Colombe first, most populous
    // first, then the others by population (Rhône's 2,036 inhabitants first).
    assert_eq!(geo::home_region(&mut conn).unwrap().as_deref(), Some("75"));
    assert_eq!(order(&mut conn)[..4], ["40", "33", "17", "69"]);
    // The organisation's own postcode wins over the venues: an organisation in Lyon (84).
    set_setting(&mut conn, "organisation.postcode", "69003").unwrap();
    assert_eq!(geo::home_region(&mut conn).unwrap().as_deref(), Some("84"));
    assert_eq!(order(&mut conn)[..2], ["69", "77"]);
}

#[test]
fn every_candidate_link_of_every_shared_name_selects_exactly_that_commune() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let shared: Vec<String> = communes::table
        .group_by(communes::name_search)
        .having(diesel::dsl::count_star().gt(1))
        .select(communes::name_search)
        .order(communes::name_search.asc())
        .load(&mut conn)
        .unwrap();
    assert!(shared.len() > 1_000, "{}", shared.len());
    let mut checked = 0;
    let mut dominated = 0;
    for key in shared {
        let candidates = match geo::resolve_place(&mut conn, &key) {
            Err(GeoError::AmbiguousPlace { candidates, .. }) => candidates,
            // One commune dwarfs the others: it is taken, and it is the most populous.
            Ok(place) => {
                let populations: Vec<i64> = communes::table
                    .filter(communes::name_search.eq(&key))
                    .select(communes::population)
                    .order(communes::population.desc())
                    .load(&mut conn)
                    .unwrap();
                let taken: i64 = communes::table
                    .find(place.insee.clone().unwrap())
                    .select(communes::population)
                    .first(&mut conn)
                    .unwrap();
                assert_eq!(taken, populations[0], "{key}");
                assert!(taken >= geo::DOMINANT_POPULATION_RATIO * populations[1].max(1), "{key}");
                dominated += 1;
                continue;
            }
            Err(other) => panic!("{key}: {other}"),
        };
        for candidate in candidates {
            let place = resolve(&mut conn, &candidate.query);
            assert_eq!(place.insee.as_deref(), Some(candidate.insee.as_str()), "{candidate:?}");
            checked += 1;
        }
    }
    assert!(checked > 3_000, "{checked}");
    assert!(dominated > 100, "{dominated}");
}

#[test]
fn former_communes_and_arrondissements_are_found_with_their_own_point_when_they_have_one() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    // Merged into La Boixe, with a point of its own.
    let montignac = resolve(&mut conn, "Montignac-Charente");
    assert_eq!(montignac.kind, PlaceKind::FormerCommune);
    assert_eq!(montignac.label, "Montignac-Charente (16), commune déléguée de La Boixe");
    assert_eq!((montignac.insee.as_deref(), montignac.part_of.as_deref()), (Some("16226"), Some("La Boixe")));
    assert!((montignac.lat - 45.7785).abs() < 1e-6 && (montignac.lon - 0.10685).abs() < 1e-6);
    assert_eq!(montignac.postcodes, vec!["16330"]);
    assert_eq!(insee(&mut conn, "montignac charente (16)"), "16226");
    // Merged into Val-de-Cognac, without a point of its own: the current commune's point stands in.
    let cherves = resolve(&mut conn, "Cherves-Richemont");
    assert_eq!(cherves.part_of.as_deref(), Some("Val-de-Cognac"));
    assert!((cherves.lat - 45.74790).abs() < 1e-6 && (cherves.lon + 0.33725).abs() < 1e-6);
    assert!((cherves.uncertainty_km - 5.89).abs() < 1e-9);
    let embourie = resolve(&mut conn, "Embourie");
    assert_eq!(embourie.label, "Embourie (16), commune associée à Paizay-Naudouin-Embourie");
    // Municipal arrondissements carry their own postcode.
    let lyon3 = resolve(&mut conn, "Lyon 3e arrondissement");
    assert_eq!(
        (lyon3.kind, lyon3.insee.as_deref(), lyon3.postcodes.clone()),
        (PlaceKind::FormerCommune, Some("69383"), vec!["69003".to_owned()])
    );
    assert_eq!(lyon3.label, "Lyon 3e Arrondissement (69), arrondissement de Lyon");
    // A delegated commune named like the commune it joined is not a second candidate.
    let bernwiller = resolve(&mut conn, "Bernwiller");
    assert_eq!((bernwiller.kind, bernwiller.insee.as_deref()), (PlaceKind::Commune, Some("68006")));
    let bellegarde = resolve(&mut conn, "Bellegarde-sur-Valserine");
    assert_eq!(bellegarde.part_of.as_deref(), Some("Valserhône"));
}

#[test]
fn coordinates_are_a_place_of_their_own() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    for typed in ["45.7462, -0.6457", "45.7462,-0.6457", "45,7462; -0,6457", "45.7462 -0.6457"] {
        let place = resolve(&mut conn, typed);
        assert_eq!(place.kind, PlaceKind::Coordinates, "{typed}");
        assert_eq!((place.lat, place.lon, place.uncertainty_km), (45.7462, -0.6457, 0.0));
        assert_eq!(place.label, "45.74620, -0.64570");
        assert_eq!(place.insee, None);
    }
    assert!(geo::place_at(45.0, -1.0).is_ok());
    for (lat, lon) in [(91.0, 0.0), (0.0, -181.0), (f64::NAN, 0.0), (0.0, f64::INFINITY)] {
        assert!(matches!(geo::place_at(lat, lon), Err(GeoError::InvalidPlace(_))), "{lat} {lon}");
    }
}

#[test]
fn unknown_places_are_not_found_with_a_useful_message() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    for (typed, hint) in [
        ("Xyzzyville", "Commune introuvable"),
        ("99999", "Aucune commune n'a le code postal 99999"),
        ("Sainte-Colombe (16)", "départements connus : 05, 17, 25"),
        ("Saintes 17000", "codes postaux connus : 17100"),
        ("Paris (16)", "dans le département 16"),
    ] {
        let error = geo::resolve_place(&mut conn, typed).unwrap_err();
        assert_eq!(lms_core::Classify::code(&error), "unknown_place", "{typed}");
        assert_eq!(lms_core::Classify::kind(&error), lms_core::ErrorKind::NotFound);
        assert!(error.to_string().contains(hint), "{typed}: {error}");
    }
}

#[test]
fn typos_and_short_forms_get_suggestions_that_each_select_their_commune() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    for (typed, expected) in [
        ("Bgles", "Bègles"),
        ("Limoge", "Limoges"),
        ("Brive", "Brive-la-Gaillarde"),
        ("Oloron", "Oloron-Sainte-Marie"),
        ("Ile d'Oléron", "Saint-Pierre-d'Oléron"),
        ("St Jean d'Angeli", "Saint-Jean-d'Angély"),
    ] {
        let error = geo::resolve_place(&mut conn, typed).unwrap_err();
        assert_eq!(lms_core::Classify::code(&error), "unknown_place", "{typed}");
        assert!(error.to_string().contains("Vouliez-vous dire"), "{typed}: {error}");
        let suggestions = error.suggestions().unwrap_or_default().to_vec();
        assert!(suggestions.iter().any(|s| s.name == expected), "{typed}: {suggestions:?}");
        for suggestion in &suggestions {
            assert!(!suggestion.departement_name.is_empty(), "{suggestion:?}");
            assert_eq!(insee(&mut conn, &suggestion.query), suggestion.insee, "{suggestion:?}");
        }
        let details = lms_core::Classify::details(&error).unwrap();
        assert_eq!(details["suggestions"].as_array().map(Vec::len), Some(suggestions.len()));
    }
    assert_eq!(geo::resolve_place(&mut conn, "Bgles").unwrap_err().suggestions().unwrap()[0].query, "Bègles (33)");
    // Nothing close: no suggestion, and the message says what to check.
    let error = geo::resolve_place(&mut conn, "Xyzzyqwv").unwrap_err();
    assert_eq!(error.suggestions(), None);
    assert!(error.to_string().contains("Vérifiez l'orthographe"));
}

#[test]
fn empty_overlong_and_garbage_input_is_invalid() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let long = "Saint".repeat(30);
    for typed in [
        "",
        "   ",
        "1234",
        "123456",
        "<script>alert(1)</script>",
        "Saintes'; DROP TABLE communes; --",
        "%%%",
        "91.5, 2.0",
        "45.1.1, 2",
        long.as_str(),
    ] {
        let error = geo::resolve_place(&mut conn, typed).unwrap_err();
        assert_eq!(lms_core::Classify::code(&error), "invalid_place", "{typed:?}: {error}");
        assert_eq!(lms_core::Classify::kind(&error), lms_core::ErrorKind::Invalid);
    }
    // Still there.
    assert_eq!(insee(&mut conn, "Saintes"), "17415");
}
