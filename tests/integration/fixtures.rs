//! Reference and demo data: idempotent loading, coverage of the geodata.

use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::db::schema::*;
use lms_tests::{Seed, TestDb};

fn counts(conn: &mut DbConn) -> Vec<(&'static str, i64)> {
    macro_rules! count {
        ($($table:ident),+) => {
            vec![$((stringify!($table), $table::table.count().get_result::<i64>(conn).unwrap())),+]
        };
    }
    count!(
        communes,
        commune_postcodes,
        commune_aliases,
        venues,
        users,
        user_roles,
        certifications,
        certification_units,
        competences,
        courses,
        training_sessions,
        half_days,
        session_trainers,
        enrolments,
        attendance_entries,
        assessments,
        notifications
    )
}

#[test]
fn loading_the_demo_twice_changes_nothing() {
    let db = TestDb::new(Seed::Empty);
    let mut conn = db.conn();
    let today = lms_core::catalogue::paris_today();
    let first = lms_core::fixtures::load_demo(&mut conn, today).unwrap();
    assert_eq!(first.communes, 34_875);
    assert!(first.venues >= 50);
    assert_eq!(first.certifications, 1);
    assert!(first.training_sessions >= 10);
    assert!(first.attendance_entries > 0 && first.assessments > 0);
    let after_first = counts(&mut conn);
    let second = lms_core::fixtures::load_demo(&mut conn, today).unwrap();
    assert!(second.is_empty(), "{second:?}");
    assert_eq!(counts(&mut conn), after_first);
    // Reference data alone is idempotent too.
    assert!(lms_core::fixtures::load_reference(&mut conn).unwrap().is_empty());
    assert_eq!(counts(&mut conn), after_first);
    // The demo ledger is consistent.
    let report = lms_core::attendance::verify_ledger(&mut conn, None).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.entries > 0);
}

#[test]
fn every_nouvelle_aquitaine_commune_has_a_point() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let rows: Vec<(String, f64, f64, f64)> = communes::table
        .filter(communes::region.eq("75"))
        .select((communes::insee, communes::lat, communes::lon, communes::half_diag_km))
        .load(&mut conn)
        .unwrap();
    assert_eq!(rows.len(), 4_293);
    for (insee, lat, lon, size) in rows {
        assert!((42.7..47.2).contains(&lat) && (-1.9..2.7).contains(&lon), "{insee}: {lat}, {lon}");
        assert!(size > 0.0 && size < 20.0, "{insee}: {size}");
    }
}

#[test]
fn names_shared_by_several_communes_keep_their_departement() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let key = lms_core::geo::normalize_place_name("Sainte-Colombe");
    let departements: Vec<String> = communes::table
        .filter(communes::name_search.eq(&key))
        .select(communes::departement)
        .order(communes::departement.asc())
        .load(&mut conn)
        .unwrap();
    assert!(departements.len() >= 10, "{departements:?}");
    let mut distinct = departements.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), departements.len(), "one Sainte-Colombe per département: {departements:?}");
    assert!(departements.contains(&"17".to_owned()) && departements.contains(&"33".to_owned()));
    // A postcode shared by several communes lists them all.
    let shared: i64 =
        commune_postcodes::table.filter(commune_postcodes::postcode.eq("17400")).count().get_result(&mut conn).unwrap();
    assert!(shared > 1);
}

#[test]
fn venues_are_real_tiers_lieux_across_the_twelve_departements() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let venues = lms_core::venues::list_venues(&mut conn).unwrap();
    assert!(venues.len() >= 50);
    let mut departements: Vec<&str> = venues.iter().map(|v| v.departement.as_str()).collect();
    departements.sort_unstable();
    departements.dedup();
    assert_eq!(departements, ["16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"]);
    let rupellab = lms_core::venues::find_venue_by_slug(&mut conn, "rupellab-la-rochelle").unwrap();
    assert_eq!(rupellab.insee, "17300");
    assert!(!rupellab.approximate_position);
    // Venues without published coordinates stand at their commune's point, flagged as approximate.
    let tarnac = lms_core::venues::find_venue_by_slug(&mut conn, "la-ruche-tarnac").unwrap();
    assert!(tarnac.approximate_position);
}

#[test]
fn the_rs5142_referentiel_is_loaded_as_data() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let certification = lms_core::certification::find_certification(&mut conn, "RS5142").unwrap().unwrap();
    assert_eq!(certification.title, "Piloter un tiers-lieu");
    assert_eq!(certification.nsf_codes, "310p,341p");
    assert!(certification.valid_from.is_some() && certification.valid_until.is_some());
    let units = lms_core::certification::units_of(&mut conn, &certification.id).unwrap();
    assert_eq!(units.iter().map(|u| u.number).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(!units[0].provisional_wording && units[1..].iter().all(|u| u.provisional_wording));
    assert_eq!(units[0].competences[0].code, "1.1");
    let ptl = lms_core::catalogue::find_course(&mut conn, "PTL").unwrap();
    assert_eq!(ptl.certification.as_deref(), Some("RS5142"));
    assert_eq!(ptl.duration_days, 20);
}
