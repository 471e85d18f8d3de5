//! The CLI's `--json` shapes and the XML exports on demo data, kept as `insta` snapshots: a change
//! to what scripts and the Caisse des Dépôts / Carif-Oref receive shows up in review as a change to
//! `snapshots/`. What differs from one run to the next (ids, dates, timestamps, hashes, codes,
//! signed credentials, file paths) is replaced by a placeholder, so the snapshots hold on both
//! backends and on any day.

use lms_tests::{CliOutput, Seed, TestDb};
use serde_json::Value;

use crate::certification::{DEMO_SESSION, json_ok, lms_env};

fn all(raw: &str, test: fn(u8) -> bool) -> bool {
    !raw.is_empty() && raw.bytes().all(test)
}

fn is_uuid(raw: &str) -> bool {
    raw.len() == 36
        && raw
            .bytes()
            .enumerate()
            .all(|(i, b)| if [8, 13, 18, 23].contains(&i) { b == b'-' } else { b.is_ascii_hexdigit() })
}

fn is_date(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.len() == 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit)
}

/// `RS5142-2026-0001`: the award year moves with the day the test runs.
fn certificate_number(raw: &str) -> Option<String> {
    let mut parts = raw.split('-');
    let (Some(code), Some(year), Some(seq), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    (code.starts_with("RS") && year.len() == 4 && all(year, |c| c.is_ascii_digit()) && all(seq, |c| c.is_ascii_digit()))
        .then(|| format!("{code}-[year]-{seq}"))
}

/// The placeholder for a value that changes between runs, if `raw` is one.
fn placeholder(raw: &str, temporary: &str) -> Option<String> {
    let raw = raw.trim();
    if is_uuid(raw) {
        return Some("[id]".into());
    }
    if is_date(raw) {
        return Some("[date]".into());
    }
    if raw.get(..10).is_some_and(is_date) && matches!(raw.as_bytes().get(10), Some(b'T' | b' ')) {
        return Some("[timestamp]".into());
    }
    // LHEO: 20261207 and 20261207T101500.
    if (raw.len() == 8 && all(raw, |c| c.is_ascii_digit()) && raw.starts_with("20"))
        || (raw.len() == 15 && raw.as_bytes()[8] == b'T' && raw.as_bytes()[..8].iter().all(u8::is_ascii_digit))
    {
        return Some("[date]".into());
    }
    if raw.len() == 64 && all(raw, |c| c.is_ascii_hexdigit()) {
        return Some("[sha256]".into());
    }
    if raw.len() == 26 && all(raw, |c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c)) {
        return Some("[code]".into());
    }
    if raw.starts_with("eyJ") && raw.matches('.').count() == 2 && !raw.contains(' ') {
        return Some("[credential]".into());
    }
    if !temporary.is_empty() && raw.contains(temporary) {
        return Some("[path]".into());
    }
    certificate_number(raw).or_else(|| embedded_dates(raw))
}

/// A sentence quoting a date (`décision du jury du 2026-09-16`), with the date replaced.
fn embedded_dates(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = raw;
    let mut found = false;
    while let Some(start) = rest.char_indices().map(|(i, _)| i).find(|&i| rest.get(i..i + 10).is_some_and(is_date)) {
        out.push_str(&rest[..start]);
        out.push_str("[date]");
        rest = &rest[start + 10..];
        found = true;
    }
    out.push_str(rest);
    found.then_some(out)
}

/// Long lists keep their length and first items (the rest says nothing more about the shape).
fn shorten(value: &mut Value) {
    match value {
        Value::Array(items) if items.len() > 5 => {
            let total = items.len();
            items.truncate(3);
            items.push(Value::String(format!("[… {total} éléments en tout]")));
        }
        Value::Array(items) => items.iter_mut().for_each(shorten),
        Value::Object(members) => members.values_mut().for_each(shorten),
        _ => {}
    }
}

fn redact(value: &mut Value, temporary: &str, numbers: bool) {
    match value {
        Value::String(text) => {
            if let Some(shown) = placeholder(text, temporary) {
                *text = shown;
            }
        }
        Value::Number(_) if numbers => *value = Value::String("[number]".into()),
        Value::Array(items) => items.iter_mut().for_each(|v| redact(v, temporary, numbers)),
        Value::Object(members) => members.values_mut().for_each(|v| redact(v, temporary, numbers)),
        _ => {}
    }
}

/// The same placeholders in XML: every text node and attribute value is looked at whole.
fn redact_xml(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut segment = String::new();
    for c in xml.chars() {
        if matches!(c, '<' | '>' | '"') {
            out.push_str(&placeholder(&segment, "").unwrap_or_else(|| segment.clone()));
            segment.clear();
            out.push(c);
        } else {
            segment.push(c);
        }
    }
    out.push_str(&segment);
    out
}

struct Demo {
    db: TestDb,
    dir: tempfile::TempDir,
    keys: std::path::PathBuf,
}

impl Demo {
    /// Demo data with both eligible candidates certified (dated the jury's day).
    fn certified() -> Self {
        let db = TestDb::new(Seed::Demo);
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        json_ok(&lms_env(&db, &keys, &["keys", "init", "--json"]));
        let demo = Demo { db, dir, keys };
        demo.json(&["certify", "issue", "--session", DEMO_SESSION, "--all-eligible", "--json"]);
        demo
    }

    fn run(&self, args: &[&str]) -> CliOutput {
        lms_env(&self.db, &self.keys, args)
    }

    fn json(&self, args: &[&str]) -> Value {
        json_ok(&self.run(args))
    }

    fn shape(&self, args: &[&str]) -> Value {
        let mut value = self.json(args);
        redact(&mut value, self.dir.path().to_str().unwrap_or_default(), false);
        value
    }

    /// The year's BPF: which sections and figures it has. Which categories appear depends on
    /// the days the demo sessions fall on, so only the total's shape and the section names stay.
    fn bpf_shape(&self, year: &str) -> Value {
        let report = self.json(&["report", "bpf", "--year", year, "--json"]);
        let mut total = report["f1_trainees"]["total"].clone();
        redact(&mut total, "", true);
        let sections: Vec<&String> = report.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        serde_json::json!({ "sections": sections, "total": total })
    }
}

#[test]
fn redaction_keeps_what_is_stable() {
    assert_eq!(placeholder("0192f3a4-5b6c-7d8e-9f00-112233445566", "").as_deref(), Some("[id]"));
    assert_eq!(placeholder("2026-12-07", "").as_deref(), Some("[date]"));
    assert_eq!(placeholder("2026-12-07T10:15:00", "").as_deref(), Some("[timestamp]"));
    assert_eq!(placeholder("RS5142-2026-0002", "").as_deref(), Some("RS5142-[year]-0002"));
    assert_eq!(placeholder("PTL-NA-DEMO-0", ""), None);
    assert_eq!(placeholder("aurelie.fontaine@example.org", ""), None);
    assert_eq!(redact_xml(r#"<a d="20261207">2026-12-07</a>"#), r#"<a d="[date]">[date]</a>"#);
    assert_eq!(placeholder("jury du 2026-09-16 : ajourné", "").as_deref(), Some("jury du [date] : ajourné"));
    assert_eq!(placeholder("Présentiel, en inter-structures. Apports. Émargement.", ""), None);
}

#[test]
fn cli_json_shapes() {
    let demo = Demo::certified();
    let year = lms_core::catalogue::paris_today().format("%Y").to_string();
    let cases: [(&str, Vec<&str>); 12] = [
        ("venue_list", vec!["venue", "list", "--json"]),
        ("course_list", vec!["course", "list", "--json"]),
        ("session_list", vec!["session", "list", "--json"]),
        ("session_show", vec!["session", "show", DEMO_SESSION, "--json"]),
        ("enrolment_list", vec!["enrolment", "list", "--session", DEMO_SESSION, "--json"]),
        ("certify_check", vec!["certify", "check", "--session", DEMO_SESSION, "--json"]),
        ("certify_list", vec!["certify", "list", "--json"]),
        ("jury_list", vec!["jury", "list", "--session", DEMO_SESSION, "--json"]),
        ("user_list", vec!["user", "list", "--json"]),
        ("documents_settings", vec!["documents", "settings", "--json"]),
        ("report_outcomes", vec!["report", "outcomes", "--json"]),
        ("report_coverage", vec!["report", "coverage", "--json"]),
    ];
    for (name, args) in cases {
        let mut shape = demo.shape(&args);
        shorten(&mut shape);
        insta::assert_json_snapshot!(format!("cli_{name}"), shape);
    }
    insta::assert_json_snapshot!("cli_report_bpf", demo.bpf_shape(&year));
}

#[test]
fn xml_exports() {
    let demo = Demo::certified();
    let lheo = demo.dir.path().join("offre.xml");
    demo.json(&["export", "lheo", "--out", lheo.to_str().unwrap(), "--json"]);
    let lheo_xml = std::fs::read_to_string(&lheo).unwrap();
    crate::xml_validation::assert_valid("xml_exports", crate::xml_validation::Standard::Lheo, &lheo_xml);
    insta::assert_snapshot!("export_lheo", redact_xml(&lheo_xml));

    assert_eq!(demo.run(&["export", "setting", "accrochage.emitter_client_id", "DEMO0001"]).code, 0);
    let today = lms_core::catalogue::paris_today().to_string();
    let accrochage = demo.dir.path().join("flux.xml");
    let written = demo.json(&[
        "export",
        "accrochage",
        "--from",
        "2000-01-01",
        "--to",
        &today,
        "--out",
        accrochage.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(written["holders"], 2, "{written}");
    let accrochage_xml = std::fs::read_to_string(&accrochage).unwrap();
    crate::xml_validation::assert_valid("xml_exports", crate::xml_validation::Standard::Accrochage112, &accrochage_xml);
    insta::assert_snapshot!("export_accrochage", redact_xml(&accrochage_xml));
}

#[test]
fn cli_course_show_and_enrolment_requests_json_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let demo = Demo { db: TestDb::new(Seed::Demo), dir, keys };
    insta::assert_json_snapshot!("cli_course_show", demo.shape(&["course", "show", "IMPACT", "--json"]));
    insta::assert_json_snapshot!(
        "cli_enrolment_requests",
        demo.shape(&["enrolment", "requests", "--session", "IMPACT-DEMO-LIMOGES", "--json"])
    );
}

#[test]
fn session_show_lists_half_day_changes() {
    let db = TestDb::new(Seed::Demo);
    let show = |args: &[&str]| json_ok(&lms_tests::lms(&db, args, None));
    let first =
        show(&["session", "show", "PTL-NA-DEMO-2", "--json"])["half_days"][0]["id"].as_str().unwrap().to_string();
    let moved = show(&[
        "session",
        "reschedule",
        "PTL-NA-DEMO-2",
        "--half-day",
        &first,
        "--start",
        "10:00",
        "--end",
        "12:30",
        "--reason",
        "Accueil retardé d'une demi-heure",
        "--json",
    ]);
    let mut moved = moved;
    redact(&mut moved, "", false);
    insta::assert_json_snapshot!("cli_session_reschedule", moved);
    let mut changes = show(&["session", "show", "PTL-NA-DEMO-2", "--json"])["changes"].clone();
    redact(&mut changes, "", false);
    insta::assert_json_snapshot!("cli_session_show_changes", changes);
}
