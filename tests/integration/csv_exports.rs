//! `lms export csv KIND --out FILE`: each kind, on the demo data, parses back with a CSV reader,
//! has the documented header (snapshot) and one row per item of the database.

use std::collections::BTreeSet;

use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::db::schema::{
    assessments, attendance_entries, certificates, complaints, courses, enrolments, survey_responses,
    training_sessions, venues,
};
use lms_core::exports::csv::CsvKind;
use lms_tests::{Seed, TestDb, lms};

fn database_rows(conn: &mut DbConn, kind: CsvKind) -> usize {
    let count: i64 = match kind {
        CsvKind::Venues => venues::table.count().get_result(conn).unwrap(),
        CsvKind::Courses => courses::table.count().get_result(conn).unwrap(),
        CsvKind::Sessions => training_sessions::table.count().get_result(conn).unwrap(),
        CsvKind::Enrolments => enrolments::table.count().get_result(conn).unwrap(),
        CsvKind::Assessments => assessments::table.count().get_result(conn).unwrap(),
        CsvKind::Certificates => certificates::table.count().get_result(conn).unwrap(),
        CsvKind::Complaints => complaints::table.count().get_result(conn).unwrap(),
        CsvKind::Surveys => survey_responses::table.count().get_result(conn).unwrap(),
        CsvKind::Attendance => {
            // One row per trainee and half-day with a status, whatever the corrections.
            let pairs: Vec<(String, String)> = attendance_entries::table
                .filter(attendance_entries::kind.eq("trainee_status"))
                .select((attendance_entries::half_day_id, attendance_entries::subject_id))
                .load(conn)
                .unwrap();
            return pairs.into_iter().collect::<BTreeSet<_>>().len();
        }
    };
    usize::try_from(count).unwrap()
}

fn export(db: &TestDb, kind: CsvKind) -> (Vec<String>, Vec<csv::StringRecord>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{}.csv", kind.as_str()));
    let out = lms(db, &["--json", "export", "csv", kind.as_str(), "--out", file.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let text = String::from_utf8(bytes).expect("UTF-8");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(report["rows"], rows.len(), "{kind}: the reported count is the file's");
    (header, rows)
}

#[test]
fn every_kind_parses_back_with_its_header_and_one_row_per_item() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let mut headers = String::new();
    for kind in CsvKind::ALL {
        let (header, rows) = export(&db, kind);
        assert_eq!(header, kind.columns(), "{kind}");
        assert_eq!(rows.len(), database_rows(&mut conn, kind), "{kind}");
        assert!(rows.iter().all(|r| r.len() == header.len()), "{kind}: every row has every column");
        headers.push_str(&format!("{}: {}\n", kind.as_str(), header.join(",")));
    }
    insta::assert_snapshot!("csv_headers", headers);
}

#[test]
fn the_enrolment_export_carries_funding_plans_and_abandonments() {
    let db = TestDb::new(Seed::Demo);
    let (header, rows) = export(&db, CsvKind::Enrolments);
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let lea = rows
        .iter()
        .find(|r| &r[column("trainee_email")] == "lea.dubois@example.org" && &r[column("session")] == "PTL-NA-DEMO-1")
        .unwrap();
    assert_eq!(&lea[column("funding")], "company:1600.00;opco:4000.00");
    assert_eq!(&lea[column("funding_total_eur")], "5600.00");
    let gaelle = rows
        .iter()
        .find(|r| &r[column("trainee_email")] == "gaelle.morin@example.org" && &r[column("session")] == "PTL-NA-DEMO-0")
        .unwrap();
    assert_eq!(&gaelle[column("status")], "abandoned");
    assert!(!gaelle[column("abandoned_at")].is_empty());
    assert!(!gaelle[column("cancel_reason")].is_empty());
}

#[test]
fn an_unknown_kind_is_a_usage_error_and_no_file_is_written() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.csv");
    for kind in ["users", ""] {
        let out = lms(&db, &["export", "csv", kind, "--out", file.to_str().unwrap()], None);
        assert_eq!(out.code, 2, "{kind}: {}", out.stderr);
    }
    let missing = dir.path().join("no-such-folder").join("venues.csv");
    let out = lms(&db, &["export", "csv", "venues", "--out", missing.to_str().unwrap()], None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("erreur [io_error] : "), "{}", out.stderr);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left behind");
}
