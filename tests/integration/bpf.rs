//! The Bilan pédagogique et financier (Cerfa 10443): figures computed from a controlled year
//! (hours from the ledger, income by line, trainers' hours), the inputs entered by hand (round
//! trip, refusals that write nothing), the JSON contract, the PDF's text, and the demo's year.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use lms_core::attendance::{self, AttendanceStatus, SignatureMethod, TraineeStatusInput};
use lms_core::catalogue::{NewTrainingSession, PlannedDay};
use lms_core::db::DbConn;
use lms_core::db::ids::{HalfDayId, UserId};
use lms_core::db::schema::{bpf_inputs, half_days};
use lms_core::enrolment::office::{self, OfficeEnrolment};
use lms_core::enrolment::{Funding, FundingPayer, TraineeCategory};
use lms_core::people::Role;
use lms_core::rights::Actor;
use lms_tests::{CliOutput, Seed, TestDb, lms, say_skipped};
use serde_json::Value;

/// The controlled year: two years ahead (sessions are planned in the future; the ledger entries
/// are written with their own dates), where nothing else in the reference data happens.
fn controlled_year_number() -> i32 {
    chrono::Datelike::year(&lms_core::catalogue::paris_today()) + 2
}
const TRAINER: &str = "formatrice.bpf@example.org";

fn json(output: &CliOutput) -> Value {
    assert_eq!(output.code, 0, "stderr: {}", output.stderr);
    serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout))
}

fn user(conn: &mut DbConn, email: &str, role: Role) -> UserId {
    lms_core::people::add_user_without_password(conn, email, email, role).unwrap().id
}

/// A two-day RS session in March of the controlled year with four trainees, each on another F-1 line and funded by
/// another payer, their attendance in the ledger and every half-day co-signed by the trainer.
/// Returns the minutes of its half-days, in order.
fn controlled_year(conn: &mut DbConn) -> Vec<i64> {
    let trainer = user(conn, TRAINER, Role::Trainer);
    let created = lms_core::catalogue::create_training_session(
        conn,
        &NewTrainingSession {
            course_code: "PTL".into(),
            days: lms_core::catalogue::consecutive_weekdays(
                NaiveDate::from_ymd_opt(controlled_year_number(), 3, 2).unwrap(),
                2,
            )
            .unwrap()
            .into_iter()
            .map(|date| PlannedDay { date, venue_slug: "fabrique-pola-begles".into() })
            .collect(),
            capacity: 10,
            trainer_emails: vec![TRAINER.into()],
            publish: true,
            reference: Some("BPF-CONTROLE".into()),
        },
    )
    .unwrap();
    let half_days: Vec<(HalfDayId, NaiveDateTime, NaiveDateTime, i32)> = half_days::table
        .filter(half_days::training_session_id.eq(&created.id))
        .order(half_days::starts_at.asc())
        .select((half_days::id, half_days::starts_at, half_days::ends_at, half_days::minutes))
        .load(conn)
        .unwrap();
    assert_eq!(half_days.len(), 4);
    let before_start = half_days[0].1 - Duration::days(20);
    let share = |payer, amount_cents| Funding { payer, amount_cents };
    let plans = [
        OfficeEnrolment {
            trainee_email: "salariee@example.org".into(),
            funding: vec![share(FundingPayer::Opco, 100_000), share(FundingPayer::Employer, 50_000)],
            category: Some(TraineeCategory::Employee),
        },
        OfficeEnrolment {
            trainee_email: "apprenti@example.org".into(),
            funding: vec![share(FundingPayer::Opco, 80_000)],
            category: Some(TraineeCategory::Apprentice),
        },
        OfficeEnrolment {
            trainee_email: "demandeur@example.org".into(),
            funding: vec![share(FundingPayer::FranceTravail, 60_000)],
            category: Some(TraineeCategory::JobSeeker),
        },
        OfficeEnrolment {
            trainee_email: "confie@example.org".into(),
            funding: vec![share(FundingPayer::OtherProvider, 70_000)],
            category: None,
        },
    ];
    let mut trainees = Vec::new();
    for request in plans {
        trainees.push(user(conn, &request.trainee_email, Role::Trainee));
        office::add(conn, Actor::Console, &created.id, &request, before_start).unwrap();
    }
    // Who attends what: the employee everything (an absence on the last half-day corrected to
    // present), the apprentice 30 minutes late once, the job seeker absent once, the trainee sent
    // by another organisation the first half-day only.
    for (index, (half_day, starts_at, ends_at, _)) in half_days.iter().enumerate() {
        let mut statuses = vec![
            (0, AttendanceStatus::Present, 0),
            (
                1,
                if index == 0 { AttendanceStatus::Late } else { AttendanceStatus::Present },
                if index == 0 { 30 } else { 0 },
            ),
            (2, if index == 1 { AttendanceStatus::Absent } else { AttendanceStatus::Present }, 0),
            (3, if index == 0 { AttendanceStatus::Present } else { AttendanceStatus::Absent }, 0),
        ];
        if index == 3 {
            statuses.insert(0, (0, AttendanceStatus::Absent, 0));
        }
        for (step, (who, status, late)) in statuses.into_iter().enumerate() {
            attendance::record_trainee_status(
                conn,
                &created.id,
                &trainer,
                &TraineeStatusInput {
                    half_day: half_day.clone(),
                    trainee: trainees[who].clone(),
                    status,
                    late_minutes: late,
                    left_early_minutes: 0,
                    reason: None,
                    method: SignatureMethod::TrainerEntry,
                    signature_data: None,
                    evidence_sha256: None,
                },
                *starts_at + Duration::minutes(5 + step as i64),
            )
            .unwrap();
        }
        attendance::cosign_half_day(conn, &created.id, half_day, &trainer, *ends_at).unwrap();
    }
    half_days.into_iter().map(|(_, _, _, minutes)| i64::from(minutes)).collect()
}

fn line<'a>(lines: &'a Value, reference: &str) -> &'a Value {
    lines.as_array().unwrap().iter().find(|l| l["line"] == reference).unwrap_or_else(|| panic!("{reference}: {lines}"))
}

fn hours(minutes: i64) -> f64 {
    (minutes as f64 / 6.0).round() / 10.0
}

#[test]
fn the_figures_of_a_controlled_year_come_from_plans_and_the_ledger() {
    let db = TestDb::new(Seed::Reference);
    let m = {
        let mut conn = db.conn();
        controlled_year(&mut conn)
    };
    let all: i64 = m.iter().sum();
    let year = controlled_year_number();
    let report = json(&lms(&db, &["report", "bpf", "--year", &year.to_string(), "--json"], None));

    // F-1: one trainee per line; the apprentice loses 30 minutes, the job seeker half-day 2,
    // the trainee with no category (line e) attended half-day 1 only.
    let f1 = &report["f1_trainees"]["lines"];
    assert_eq!(line(f1, "F-1a")["trainees"], 1);
    assert_eq!(line(f1, "F-1a")["hours"], hours(all));
    assert_eq!(line(f1, "F-1b")["hours"], hours(all - 30));
    assert_eq!(line(f1, "F-1c")["hours"], hours(all - m[1]));
    assert_eq!(line(f1, "F-1d")["trainees"], 0);
    assert_eq!(line(f1, "F-1e")["hours"], hours(m[0]));
    assert_eq!(report["f1_trainees"]["without_category"], 1);
    let total = all + (all - 30) + (all - m[1]) + m[0];
    assert_eq!(report["f1_trainees"]["total"]["trainees"], 4);
    assert_eq!(report["f1_trainees"]["total"]["hours"], hours(total));
    assert_eq!(report["f1_trainees"]["distance_learning"]["hours"], 0.0);
    // F-3: PTL prepares RS5142 (line b); F-4: its NSF code on three digits.
    assert_eq!(line(&report["f3_objectives"]["lines"], "F-3b")["hours"], hours(total));
    let specialities = report["f4_specialities"]["lines"].as_array().unwrap();
    assert_eq!(specialities.len(), 1);
    assert_eq!(specialities[0]["code"], "310");
    assert_eq!(specialities[0]["trainees"], 4);
    // C: each payer on its line; OPCO for an apprentice is the apprenticeship line.
    let c = &report["c_income"]["lines"];
    assert_eq!(line(c, "C-1")["amount_cents"], 50_000);
    assert_eq!(line(c, "C-2a")["amount_cents"], 80_000);
    assert_eq!(line(c, "C-2h")["amount_cents"], 100_000);
    assert_eq!(line(c, "C-7")["amount_cents"], 60_000);
    assert_eq!(line(c, "C-10")["amount_cents"], 70_000);
    assert_eq!(report["c_income"]["opco_total_cents"], 180_000);
    assert_eq!(report["c_income"]["total_cents"], 360_000);
    // E-1: one trainer, every half-day held; G: the trainee another organisation sent.
    assert_eq!(report["e_trainers"]["internal"]["people"], 1);
    assert_eq!(report["e_trainers"]["internal"]["hours"], hours(all));
    assert_eq!(report["g_received"]["trainees"], 1);
    assert_eq!(report["g_received"]["hours"], hours(m[0]));
    // Nothing entered yet: D is empty and every input is listed as missing.
    assert_eq!(report["d_charges"]["total_cents"], Value::Null);
    assert_eq!(report["missing_inputs"].as_array().unwrap().len(), 10);
    // The next year has none of it.
    let next = json(&lms(&db, &["report", "bpf", "--year", &(year + 1).to_string(), "--json"], None));
    assert_eq!(next["f1_trainees"]["total"]["trainees"], 0);
    assert_eq!(next["c_income"]["total_cents"], 0);
    assert_eq!(next["e_trainers"]["internal"]["people"], 0);
    let mut shape = report.clone();
    shape["year"] = "[year]".into();
    shape["b_activity"]["period_from"] = "[year]-01-01".into();
    shape["b_activity"]["period_to"] = "[year]-12-31".into();
    insta::assert_json_snapshot!("bpf_report_controlled_year", shape);
}

fn stored_inputs(db: &TestDb) -> Vec<(i32, String, String)> {
    let mut conn = db.conn();
    bpf_inputs::table
        .order((bpf_inputs::year, bpf_inputs::input_key))
        .select((bpf_inputs::year, bpf_inputs::input_key, bpf_inputs::value))
        .load(&mut conn)
        .unwrap()
}

#[test]
fn inputs_round_trip_and_bad_ones_write_nothing() {
    let db = TestDb::new(Seed::Reference);
    let year = controlled_year_number().to_string();
    for (key, value) in [
        ("d.total", "48000"),
        ("d.trainer_salaries", "21000,50"),
        ("c.2b", "3200"),
        ("c.turnover", "120000"),
        ("b.main_activity", "oui"),
        ("e.external_trainers", "2"),
        ("e.external_hours", "35,5"),
        ("f2.trainees", "3"),
        ("h.contact", "Camille Roux, responsable administrative"),
    ] {
        let set = lms(&db, &["report", "bpf-input", "--year", &year, key, value], None);
        assert_eq!(set.code, 0, "{key}: {}", set.stderr);
    }
    let listed = json(&lms(&db, &["report", "bpf-input", "--year", &year, "--json"], None));
    let value = |key: &str| listed.as_array().unwrap().iter().find(|v| v["key"] == key).unwrap()["value"].clone();
    assert_eq!(value("d.total"), 4_800_000);
    assert_eq!(value("d.trainer_salaries"), 2_100_050);
    assert_eq!(value("b.main_activity"), true);
    assert_eq!(value("e.external_hours"), 35.5);
    assert_eq!(value("d.bought_training"), Value::Null);
    let text = lms(&db, &["report", "bpf-input", "--year", &year], None);
    assert!(text.stdout.contains("48\u{202f}000,00\u{a0}€"), "{}", text.stdout);

    let report = json(&lms(&db, &["report", "bpf", "--year", &year, "--json"], None));
    assert_eq!(report["d_charges"]["total_cents"], 4_800_000);
    assert_eq!(line(&report["c_income"]["lines"], "C-2b")["entered_cents"], 320_000);
    assert_eq!(report["c_income"]["opco_total_cents"], 320_000);
    assert_eq!(report["c_income"]["training_share_percent"], 2.7);
    assert_eq!(report["b_activity"]["training_is_main_activity"], true);
    assert_eq!(report["e_trainers"]["external"]["hours"], 35.5);
    assert_eq!(report["f2_subcontracted"]["trainees"], 3);
    assert_eq!(report["h_manager"]["contact"], "Camille Roux, responsable administrative");
    assert_eq!(
        report["missing_inputs"],
        serde_json::json!(["d.bought_training", "f2.hours"]),
        "what is still to enter"
    );

    let before = stored_inputs(&db);
    for (args, code) in [
        (vec!["report", "bpf-input", "--year", &year, "d.depenses", "10"], "unknown_bpf_input"),
        (vec!["report", "bpf-input", "--year", &year, "d.total", "-10"], "invalid_bpf_input"),
        (vec!["report", "bpf-input", "--year", &year, "d.total", "12.345"], "invalid_bpf_input"),
        (vec!["report", "bpf-input", "--year", &year, "e.external_trainers", "2.5"], "invalid_bpf_input"),
        (vec!["report", "bpf-input", "--year", &year, "e.external_hours", "-3"], "invalid_bpf_input"),
        (vec!["report", "bpf-input", "--year", &year, "b.main_activity", "peut-être"], "invalid_bpf_input"),
        (vec!["report", "bpf-input", "--year", &year, "h.contact", "a\u{1b}[31m"], "invalid_bpf_input"),
        (vec!["report", "bpf-input", "--year", "1999", "d.total", "10"], "invalid_year"),
        (vec!["report", "bpf-input", "--year", "1999"], "invalid_year"),
    ] {
        let refused = lms(&db, &args, None);
        assert_eq!(refused.code, 1, "{args:?}");
        assert!(refused.stderr.contains(&format!("[{code}]")), "{args:?}: {}", refused.stderr);
    }
    assert_eq!(stored_inputs(&db), before, "a refused input writes nothing");

    // An empty value removes the input; other years are untouched.
    assert_eq!(lms(&db, &["report", "bpf-input", "--year", &year, "d.total", ""], None).code, 0);
    let after = stored_inputs(&db);
    assert_eq!(after.len(), before.len() - 1);
    assert!(!after.iter().any(|(_, key, _)| key == "d.total"));
    let other_year = (controlled_year_number() - 1).to_string();
    let other = json(&lms(&db, &["report", "bpf-input", "--year", &other_year, "--json"], None));
    assert!(other.as_array().unwrap().iter().all(|v| v["value"].is_null()));
}

#[test]
fn only_the_office_enters_the_bpf() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let trainee = user(&mut conn, "curieuse@example.org", Role::Trainee);
    let caller = lms_core::access::caller_for(&mut conn, &trainee).unwrap();
    let refused = lms_core::reports::bpf::inputs::set_input(
        &mut conn,
        &Actor::Person(&caller),
        controlled_year_number(),
        "d.total",
        "10",
        lms_core::db::now(),
    );
    assert!(matches!(refused, Err(lms_core::reports::bpf::inputs::BpfInputError::Forbidden)));
    drop(conn);
    assert!(stored_inputs(&db).is_empty());
}

#[test]
fn the_pdf_shows_the_cadres_lines_and_amounts() {
    let db = TestDb::new(Seed::Reference);
    {
        let mut conn = db.conn();
        controlled_year(&mut conn);
    }
    let year = controlled_year_number().to_string();
    assert_eq!(lms(&db, &["report", "bpf-input", "--year", &year, "d.total", "48000"], None).code, 0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bpf.pdf");
    let made = lms(&db, &["report", "bpf", "--year", &year, "--pdf", file.to_str().unwrap()], None);
    assert_eq!(made.code, 0, "{}", made.stderr);
    assert!(made.stdout.contains("Cadre F-4"), "{}", made.stdout);
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    let Ok(extracted) = std::process::Command::new("pdftotext").arg(&file).arg("-").output() else {
        say_skipped("the_pdf_shows_the_cadres_lines_and_amounts", "pdftotext (poppler-utils) is not installed");
        return;
    };
    assert!(extracted.status.success());
    let text = String::from_utf8(extracted.stdout).unwrap();
    for expected in [
        "Cerfa n° 10443",
        "Cadre A",
        "Cadre B",
        "Cadre C",
        "Cadre D",
        "Cadre E",
        "Cadre F-1",
        "Cadre F-2",
        "Cadre F-3",
        "Cadre F-4",
        "Cadre G",
        "Cadre H",
        "C-2a",
        "800,00 €",
        "3 600,00 €",
        "48 000,00 €",
        "Spécialité NSF 310",
        "Apprentis",
    ] {
        // Amounts are written with no-break spaces; compare on plain ones.
        let found = text.replace(['\u{202f}', '\u{a0}'], " ").contains(expected);
        assert!(found, "« {expected} » missing from the PDF:\n{text}");
    }
}

#[test]
fn the_demo_year_has_every_cadre_filled() {
    let db = TestDb::new(Seed::Demo);
    let year = lms_core::catalogue::paris_today().format("%Y").to_string();
    let report = json(&lms(&db, &["report", "bpf", "--year", &year, "--json"], None));
    assert_eq!(report["missing_inputs"], serde_json::json!([]), "{report}");
    assert!(report["a_identity"]["name"].is_string());
    assert_eq!(report["b_activity"]["training_is_main_activity"], true);
    assert!(report["c_income"]["training_share_percent"].as_f64().unwrap() > 0.0);
    assert!(line(&report["c_income"]["lines"], "C-2b")["entered_cents"].as_i64().unwrap() > 0);
    assert!(report["d_charges"]["total_cents"].as_i64().unwrap() > 0);
    assert!(report["e_trainers"]["external"]["people"].as_u64().unwrap() > 0);
    assert!(report["f2_subcontracted"]["trainees"].as_u64().unwrap() > 0);
    assert!(report["h_manager"]["contact"].is_string());
    let text = lms(&db, &["report", "bpf", "--year", &year], None);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let mut at = 0;
    for cadre in ["A", "B", "C", "D", "E", "F-1", "F-2", "F-3", "F-4", "G", "H"] {
        let heading = format!("Cadre {cadre} — ");
        let found = text.stdout[at..].find(&heading).unwrap_or_else(|| panic!("{heading} in order:\n{}", text.stdout));
        at += found + heading.len();
    }
    assert!(!text.stdout.contains("À saisir"), "{}", text.stdout);
}
