//! The complaints register (Qualiopi 31) and improvement actions (32): submission by API and page
//! (anonymous and signed in), gapless references, the working-day deadline, the acknowledgement
//! and answer e-mails, each step with who and when and in order only, overdue complaints,
//! improvement actions, trainers' incidents, the CSV and the evidence, the CLI (`--json`
//! snapshots), bad input and floods refused with nothing written.

use axum::http::StatusCode;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::access::limiter::{MAX_COMPLAINTS_PER_ADDRESS, MAX_COMPLAINTS_PER_EMAIL};
use lms_core::access::{self, ClientInfo};
use lms_core::complaints::actions::{self, NewAction};
use lms_core::complaints::{self, ComplaintError, ComplaintKind, ComplaintStatus, ListFilter, NewComplaint};
use lms_core::db::schema::{
    complaint_events, complaints as complaints_table, improvement_actions, login_attempts, outbox_messages,
};
use lms_core::mail::MailKind;
use lms_core::people::{self, NewUser, Role};
use lms_core::rights::Actor;
use lms_core::{Classify, ErrorKind};
use lms_tests::*;
use serde_json::{Value, json};

const PASSWORD: &str = "un mot de passe solide";

fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, 0, 0).unwrap()
}

/// (complaints, history lines, outbox messages, improvement actions, limiter counters)
fn written(conn: &mut DbConn) -> (i64, i64, i64, i64, i64) {
    (
        complaints_table::table.count().get_result(conn).unwrap(),
        complaint_events::table.count().get_result(conn).unwrap(),
        outbox_messages::table.count().get_result(conn).unwrap(),
        improvement_actions::table.count().get_result(conn).unwrap(),
        login_attempts::table.count().get_result(conn).unwrap(),
    )
}

fn person(conn: &mut DbConn, email: &str, name: &str, role: Role) -> lms_core::people::UserView {
    people::add_user(conn, &NewUser { email: email.into(), display_name: name.into(), role, password: PASSWORD.into() })
        .unwrap()
}

fn caller(conn: &mut DbConn, user: &lms_core::people::UserView) -> access::Caller {
    access::caller_for(conn, &user.id).unwrap()
}

fn complaint(email: &str, subject: &str) -> NewComplaint {
    NewComplaint {
        name: "Jeanne Petit".into(),
        email: email.into(),
        kind: None,
        session: None,
        subject: subject.into(),
        message: "La salle n'était pas chauffée.".into(),
    }
}

fn submit_at(conn: &mut DbConn, email: &str, now: NaiveDateTime) -> complaints::Receipt {
    complaints::submit(conn, None, &complaint(email, "Salle froide"), &ClientInfo::default(), now).unwrap()
}

async fn post(app: &axum::Router, uri: &str, body: Value, bearer: Option<&str>) -> (StatusCode, Value) {
    let (status, _, text) = send(app, json_request("POST", uri, &body.to_string(), bearer)).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn mail_text(conn: &mut DbConn, kind: MailKind) -> Vec<(String, String)> {
    outbox_messages::table
        .filter(outbox_messages::kind.eq(kind))
        .order(outbox_messages::created_at.asc())
        .select((outbox_messages::recipient_email, outbox_messages::text_body))
        .load(conn)
        .unwrap()
}

#[tokio::test]
async fn the_api_takes_complaints_from_anyone_numbers_them_and_acknowledges_them() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let ana = person(&mut conn, "ana.martin@example.org", "Ana Martin", Role::Trainee);
    let token = access::create_api_token(&mut conn, &ana, lms_core::db::now()).unwrap();
    let app = test_app(&db).await;

    let (status, first) = post(
        &app,
        "/api/v1/complaints",
        json!({"name": "Jeanne Petit", "email": " Jeanne.Petit@Example.org ", "subject": "Salle froide",
               "message": "La salle n'était pas chauffée."}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let year = lms_core::locale::to_paris(lms_core::db::now()).date().format("%Y").to_string();
    assert_eq!(first["reference"], format!("REC-{year}-0001"));
    assert_eq!(first["kind"], "complaint");
    assert_eq!(first["status"], "new");
    assert_eq!(first["email"], "jeanne.petit@example.org");
    let due: NaiveDate = first["answer_due_on"].as_str().unwrap().parse().unwrap();

    // Signed in: linked to the account, whose name and address win over the body's.
    let (status, second) = post(
        &app,
        "/api/v1/complaints",
        json!({"name": "", "email": "autre@example.org", "subject": "Support manquant", "message": "Pas reçu.",
               "kind": "difficulty"}),
        Some(&token),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["reference"], format!("REC-{year}-0002"), "gapless");
    assert_eq!(second["kind"], "difficulty");
    assert_eq!(second["email"], "ana.martin@example.org");
    let linked: (Option<String>, String) = complaints_table::table
        .filter(complaints_table::reference.eq(format!("REC-{year}-0002")))
        .select((complaints_table::author_id, complaints_table::author_name))
        .first(&mut conn)
        .unwrap();
    assert_eq!(linked, (Some(ana.id.to_string()), "Ana Martin".to_owned()));

    // One acknowledgement each, with the reference and the deadline.
    let mails = mail_text(&mut conn, MailKind::ComplaintAcknowledgement);
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].0, "jeanne.petit@example.org");
    assert!(mails[0].1.contains(&format!("REC-{year}-0001")), "{}", mails[0].1);
    assert!(mails[0].1.contains(&lms_core::locale::date_fr(due)), "{}", mails[0].1);
    assert_eq!(mails[1].0, "ana.martin@example.org");
}

#[test]
fn the_deadline_counts_working_days_across_holidays() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    // Friday 18 December 2026 + 10 working days: Christmas and New Year's Day skipped.
    let receipt = submit_at(&mut conn, "a@example.org", at(2026, 12, 18, 10));
    assert_eq!(receipt.answer_due_on, NaiveDate::from_ymd_opt(2027, 1, 5).unwrap());
    assert_eq!(receipt.reference, "REC-2026-0001");
    // The setting changes the count; the year starts a new sequence.
    lms_core::documents::organisation::set_setting(&mut conn, "quality.complaint_answer_days", "1").unwrap();
    let receipt = submit_at(&mut conn, "b@example.org", at(2027, 4, 30, 10));
    assert_eq!(receipt.reference, "REC-2027-0001");
    // Friday 30 April 2027 + 1: Saturday, Sunday, then Monday 3 May.
    assert_eq!(receipt.answer_due_on, NaiveDate::from_ymd_opt(2027, 5, 3).unwrap());
    let receipt = submit_at(&mut conn, "c@example.org", at(2027, 5, 7, 10));
    // Friday 7 May + 1: Saturday 8 May is a holiday anyway, Monday 10 May.
    assert_eq!(receipt.answer_due_on, NaiveDate::from_ymd_opt(2027, 5, 10).unwrap());
    assert_eq!(receipt.reference, "REC-2027-0002");
}

#[test]
fn each_step_keeps_who_and_when_and_comes_in_order_only() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let admin = person(&mut conn, "office@example.org", "Camille Laborde", Role::Admin);
    let admin = caller(&mut conn, &admin);
    let trainee = person(&mut conn, "t@example.org", "Théo Stagiaire", Role::Trainee);
    let trainee = caller(&mut conn, &trainee);
    let received = at(2026, 3, 2, 9);
    let reference = submit_at(&mut conn, "jeanne@example.org", received).reference;
    let refused = |conn: &mut DbConn,
                   before: (i64, i64, i64, i64, i64),
                   result: Result<complaints::ComplaintDetail, ComplaintError>,
                   code: &str| {
        let error = result.unwrap_err();
        assert_eq!(error.code(), code, "{error}");
        assert_eq!(written(conn), before, "nothing written for {code}");
        error
    };

    // Not the office.
    let before = written(&mut conn);
    let error = complaints::acknowledge(&mut conn, Actor::Person(&trainee), &reference, None, at(2026, 3, 2, 10));
    assert_eq!(error.unwrap_err().kind(), ErrorKind::Forbidden);
    assert_eq!(written(&mut conn), before);
    // Wrong order: nothing written.
    let before = written(&mut conn);
    let r = complaints::close(&mut conn, Actor::Console, &reference, None, at(2026, 3, 2, 10));
    assert_eq!(refused(&mut conn, before, r, "complaint_not_answered").kind(), ErrorKind::Conflict);
    let before = written(&mut conn);
    let r = complaints::answer(&mut conn, Actor::Console, &reference, "Réponse", None, at(2026, 3, 2, 10));
    refused(&mut conn, before, r, "complaint_not_acknowledged");
    let r = complaints::show(&mut conn, Actor::Console, "REC-1999-0001", at(2026, 3, 2, 10));
    assert_eq!(r.unwrap_err().kind(), ErrorKind::NotFound);

    let detail =
        complaints::acknowledge(&mut conn, Actor::Person(&admin), &reference, Some("Vu."), at(2026, 3, 3, 8)).unwrap();
    assert_eq!(detail.line.status, ComplaintStatus::Acknowledged);
    assert_eq!(detail.acknowledged_at, Some(at(2026, 3, 3, 8)));
    let before = written(&mut conn);
    let r = complaints::acknowledge(&mut conn, Actor::Console, &reference, None, at(2026, 3, 3, 9));
    refused(&mut conn, before, r, "complaint_already_acknowledged");
    let before = written(&mut conn);
    let r = complaints::answer(&mut conn, Actor::Console, &reference, "  ", None, at(2026, 3, 3, 9));
    assert_eq!(refused(&mut conn, before, r, "invalid_input").kind(), ErrorKind::Invalid);

    let detail = complaints::answer(
        &mut conn,
        Actor::Person(&admin),
        &reference.to_lowercase(),
        "Le chauffage est réparé.",
        None,
        at(2026, 3, 4, 14),
    )
    .unwrap();
    assert_eq!(detail.line.status, ComplaintStatus::Answered);
    assert_eq!(detail.answer.as_deref(), Some("Le chauffage est réparé."));
    let answers = mail_text(&mut conn, MailKind::ComplaintAnswer);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].0, "jeanne@example.org");
    assert!(answers[0].1.contains("Le chauffage est réparé.") && answers[0].1.contains(&reference));
    let before = written(&mut conn);
    let r = complaints::answer(&mut conn, Actor::Console, &reference, "Encore", None, at(2026, 3, 4, 15));
    refused(&mut conn, before, r, "complaint_already_answered");

    let detail = complaints::close(&mut conn, Actor::Console, &reference, None, at(2026, 3, 5, 9)).unwrap();
    assert_eq!(detail.line.status, ComplaintStatus::Closed);
    let before = written(&mut conn);
    let r = complaints::answer(&mut conn, Actor::Console, &reference, "Après", None, at(2026, 3, 6, 9));
    refused(&mut conn, before, r, "complaint_closed");
    let before = written(&mut conn);
    let r = complaints::close(&mut conn, Actor::Console, &reference, None, at(2026, 3, 6, 9));
    refused(&mut conn, before, r, "complaint_closed");

    let steps: Vec<(String, String, NaiveDateTime, Option<String>)> =
        detail.history.iter().map(|e| (e.step.as_str().to_owned(), e.by.clone(), e.at, e.note.clone())).collect();
    assert_eq!(
        steps,
        [
            ("received".to_owned(), "Jeanne Petit".to_owned(), received, None),
            ("acknowledged".to_owned(), "Camille Laborde".to_owned(), at(2026, 3, 3, 8), Some("Vu.".to_owned())),
            ("answered".to_owned(), "Camille Laborde".to_owned(), at(2026, 3, 4, 14), None),
            ("closed".to_owned(), "console".to_owned(), at(2026, 3, 5, 9), None),
        ]
    );
    let by: (Option<String>, Option<String>, Option<String>) = complaints_table::table
        .select((complaints_table::acknowledged_by, complaints_table::answered_by, complaints_table::closed_by))
        .first(&mut conn)
        .unwrap();
    assert_eq!(by, (Some(admin.user.id.to_string()), Some(admin.user.id.to_string()), None));
}

#[test]
fn overdue_is_unanswered_past_the_answer_day() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let old = submit_at(&mut conn, "old@example.org", at(2026, 3, 2, 9));
    let recent = submit_at(&mut conn, "recent@example.org", at(2026, 3, 20, 9));
    let now = at(2026, 3, 25, 9);
    assert!(old.answer_due_on < now.date() && recent.answer_due_on > now.date());
    let overdue = |conn: &mut DbConn| -> Vec<String> {
        complaints::list(conn, Actor::Console, ListFilter { status: None, overdue_only: true }, now)
            .unwrap()
            .into_iter()
            .map(|c| c.reference)
            .collect()
    };
    assert_eq!(overdue(&mut conn), std::slice::from_ref(&old.reference));
    let all = complaints::list(&mut conn, Actor::Console, ListFilter::default(), now).unwrap();
    assert_eq!(
        all.iter().map(|c| (c.reference.as_str(), c.overdue)).collect::<Vec<_>>(),
        [(recent.reference.as_str(), false), (old.reference.as_str(), true)]
    );
    complaints::acknowledge(&mut conn, Actor::Console, &old.reference, None, now).unwrap();
    assert_eq!(overdue(&mut conn), std::slice::from_ref(&old.reference), "acknowledging is not answering");
    complaints::answer(&mut conn, Actor::Console, &old.reference, "Réponse tardive.", None, now).unwrap();
    assert!(overdue(&mut conn).is_empty());
    let acknowledged = ListFilter { status: Some(ComplaintStatus::New), overdue_only: false };
    let new: Vec<_> = complaints::list(&mut conn, Actor::Console, acknowledged, now).unwrap();
    assert_eq!(new.len(), 1);
    // The evidence says the late answer missed its deadline.
    let tables = complaints::evidence(&mut conn, now).unwrap();
    let register = &tables[0];
    assert_eq!(register.indicator, 31);
    let late = register.rows.iter().find(|r| r[0] == old.reference).unwrap();
    assert_eq!(late.last().unwrap(), "non (répondue en retard)");
    let summary = complaints::public_summary(&mut conn, now).unwrap();
    assert_eq!((summary.received, summary.settled, summary.answered_in_time), (2, 1, 0));
}

#[test]
fn improvement_actions_open_from_an_answer_or_alone_and_are_marked_done() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let reference = submit_at(&mut conn, "jeanne@example.org", at(2026, 3, 2, 9)).reference;
    complaints::acknowledge(&mut conn, Actor::Console, &reference, None, at(2026, 3, 2, 10)).unwrap();
    let due = NaiveDate::from_ymd_opt(2026, 4, 30).unwrap();
    let action =
        NewAction { what: "Vérifier le chauffage avant chaque session".into(), owner: "Régie".into(), due_on: due };
    let detail =
        complaints::answer(&mut conn, Actor::Console, &reference, "Réparé.", Some(&action), at(2026, 3, 3, 9)).unwrap();
    assert_eq!(detail.actions.len(), 1);
    assert_eq!(detail.actions[0].complaint.as_deref(), Some(reference.as_str()));

    // Bad input: nothing written.
    let before = written(&mut conn);
    let empty = NewAction { what: " ".into(), owner: "Régie".into(), due_on: due };
    let error = actions::add(&mut conn, Actor::Console, None, &empty, at(2026, 3, 3, 9)).unwrap_err();
    assert_eq!(error.code(), "invalid_input");
    let error = actions::add(&mut conn, Actor::Console, Some("REC-2026-9999"), &action, at(2026, 3, 3, 9)).unwrap_err();
    assert_eq!(error.code(), "complaint_not_found");
    assert_eq!(written(&mut conn), before);

    let alone = NewAction {
        what: "Afficher le registre des réclamations à l'accueil".into(),
        owner: "Camille".into(),
        due_on: due,
    };
    let alone = actions::add(&mut conn, Actor::Console, None, &alone, at(2026, 3, 5, 9)).unwrap();
    assert_eq!(alone.complaint, None);
    let done =
        actions::mark_done(&mut conn, Actor::Console, alone.id.as_str(), "Affiché.", at(2026, 3, 10, 9)).unwrap();
    assert_eq!(done.done_on, NaiveDate::from_ymd_opt(2026, 3, 10));
    assert_eq!(done.done_note.as_deref(), Some("Affiché."));
    let before = written(&mut conn);
    let again = actions::mark_done(&mut conn, Actor::Console, alone.id.as_str(), "Encore.", at(2026, 3, 11, 9));
    assert_eq!(again.unwrap_err().code(), "improvement_action_already_done");
    let unknown = actions::mark_done(&mut conn, Actor::Console, "pas-un-id", "x", at(2026, 3, 11, 9));
    assert_eq!(unknown.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(written(&mut conn), before);

    // Open ones first.
    let list = actions::list(&mut conn, Actor::Console, at(2026, 5, 2, 9)).unwrap();
    assert_eq!(list.len(), 2);
    assert!(list[0].done_on.is_none() && list[0].late, "open and past due");
    assert!(list[1].done_on.is_some() && !list[1].late);
    let tables = complaints::evidence(&mut conn, at(2026, 5, 2, 9)).unwrap();
    assert_eq!(tables[1].indicator, 32);
    assert_eq!(tables[1].rows.len(), 2);
}

fn session_id(conn: &mut DbConn, reference: &str) -> lms_core::db::ids::TrainingSessionId {
    use lms_core::db::schema::training_sessions;
    training_sessions::table
        .filter(training_sessions::reference.eq(reference))
        .select(training_sessions::id)
        .first(conn)
        .unwrap()
}

#[tokio::test]
async fn a_trainer_of_the_session_records_incidents_others_are_refused() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session_id(&mut conn, "PTL-NA-DEMO-1");
    let now = lms_core::db::now();
    let trainer = people::find_user_by_email(&mut conn, "formatrice.charente@demo.tierslieux.example.org").unwrap();
    let other = people::find_user_by_email(&mut conn, "formatrice.limousin@demo.tierslieux.example.org").unwrap();
    let admin = people::find_user_by_email(&mut conn, "admin@demo.tierslieux.example.org").unwrap();
    let app = test_app(&db).await;
    let uri = format!("/api/v1/sessions/{session}/incidents");

    let before = written(&mut conn);
    for who in [&other, &admin] {
        let token = access::create_api_token(&mut conn, who, now).unwrap();
        let (status, body) = post(&app, &uri, json!({"note": "Panne"}), Some(&token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (status, _) = post(&app, &uri, json!({"note": "Panne"}), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let other_caller = caller(&mut conn, &other);
    let refused = complaints::record_incident(&mut conn, &other_caller, &session, "", "Panne", now).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Forbidden);
    assert_eq!(written(&mut conn), before, "nothing written for a refused incident");

    let token = access::create_api_token(&mut conn, &trainer, now).unwrap();
    let (status, body) = post(&app, &uri, json!({"note": ""}), Some(&token)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")));
    let outbox_before = written(&mut conn).2;
    let (status, body) =
        post(&app, &uri, json!({"subject": "Malaise", "note": "Une stagiaire a fait un malaise."}), Some(&token)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["kind"], "incident");
    assert_eq!(written(&mut conn).2, outbox_before, "no acknowledgement for an incident");
    let detail = complaints::show(&mut conn, Actor::Console, body["reference"].as_str().unwrap(), now).unwrap();
    assert_eq!(detail.line.kind, ComplaintKind::Incident);
    assert_eq!(detail.line.session.as_deref(), Some("PTL-NA-DEMO-1"));
    assert_eq!(detail.line.author_name, "Inès Marchand");

    // The trainer's page: the link, the form, the confirmation.
    let cookie = browser_login(&app, "formatrice.charente@demo.tierslieux.example.org", "tiers-lieux-demo").await;
    let cookies = format!("lms_session={cookie}");
    let (_, _, page) = send(&app, get_with_cookies(&format!("/trainer/sessions/{session}"), &cookies)).await;
    assert!(page.contains(&format!("/trainer/sessions/{session}/incident")), "linked from the session page");
    let (status, _, page) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{session}/incident"), &cookies)).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_field(&page);
    let (status, _, page) = send(
        &app,
        form_request(
            &format!("/trainer/sessions/{session}/incident"),
            &[("csrf", &csrf), ("subject", ""), ("note", "Vidéoprojecteur en panne.")],
            &cookies,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Incident consigné"), "{page}");
    let subjects: Vec<String> = complaints_table::table
        .filter(complaints_table::kind.eq(ComplaintKind::Incident))
        .select(complaints_table::subject)
        .load(&mut conn)
        .unwrap();
    assert!(subjects.contains(&"Incident en session".to_owned()), "{subjects:?}");
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_nothing_is_written() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let app = test_app(&db).await;
    let base = json!({"name": "Jeanne Petit", "email": "jeanne@example.org", "subject": "Objet", "message": "Message"});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let cases = [
        ("no message", with("message", json!("   ")), "invalid_input"),
        ("bad e-mail", with("email", json!("pas une adresse")), "invalid_input"),
        ("no name", with("name", json!("")), "invalid_input"),
        ("oversized subject", with("subject", json!("x".repeat(201))), "invalid_input"),
        ("subject on two lines", with("subject", json!("a\nb")), "invalid_input"),
        ("oversized message", with("message", json!("x".repeat(5_001))), "invalid_input"),
        ("control character", with("message", json!("bip\u{7}")), "invalid_input"),
        ("unknown session", with("session", json!("PAS-DE-SESSION")), "unknown_session"),
        ("unknown kind", with("kind", json!("plainte")), "invalid_input"),
        ("incident by the public", with("kind", json!("incident")), "invalid_input"),
    ];
    let before = written(&mut conn);
    for (what, body, code) in cases {
        let (status, answer) = post(&app, "/api/v1/complaints", body, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    let (status, _) = post(&app, "/api/v1/complaints", json!({"email": "a@b.fr"}), None).await;
    assert!(status.is_client_error());
    assert_eq!(written(&mut conn), before, "nothing written, not even a limiter counter");
    // 5 000 characters exactly is fine.
    let (status, answer) = post(&app, "/api/v1/complaints", with("message", json!("é".repeat(5_000))), None).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_address_is_refused_and_writes_nothing() {
    let db = TestDb::new(Seed::Reference);
    let address = spawn_server(&db).await;
    let url = format!("http://{address}/api/v1/complaints");
    let client = reqwest::Client::new();
    let body = |i: i32| json!({"name": "Robot", "email": format!("robot{i}@example.org"), "subject": "Spam", "message": "Spam"});
    for i in 0..MAX_COMPLAINTS_PER_ADDRESS {
        let response = client.post(&url).json(&body(i)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let mut conn = db.conn();
    let before = written(&mut conn);
    let response = client.post(&url).json(&body(999)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "too_many_attempts");
    assert!(answer["error"]["message"].as_str().unwrap().contains("réessayez dans"));
    let after = written(&mut conn);
    assert_eq!((after.0, after.1, after.2, after.3), (before.0, before.1, before.2, before.3), "no complaint, no mail");

    // One address flooded from anywhere: its mailbox is protected too.
    for _ in 0..MAX_COMPLAINTS_PER_EMAIL {
        complaints::submit(
            &mut conn,
            None,
            &complaint("cible@example.org", "x"),
            &ClientInfo::default(),
            lms_core::db::now(),
        )
        .unwrap();
    }
    let before = written(&mut conn);
    let error = complaints::submit(
        &mut conn,
        None,
        &complaint("Cible@example.org", "x"),
        &ClientInfo { ip: Some("192.0.2.9".into()), user_agent: None },
        lms_core::db::now(),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    let after = written(&mut conn);
    assert_eq!((after.0, after.2), (before.0, before.2));
}

#[tokio::test]
async fn the_page_takes_complaints_anonymously_and_signed_in() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let app = test_app(&db).await;

    // Anonymous: the double-submit cookie.
    let (status, headers, page) = send(&app, get("/reclamation")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<legend>") && page.contains("name=\"email\""));
    let cookie = set_cookie(&headers, "lms_csrf").unwrap();
    let csrf = csrf_field(&page);
    let fields = |message: &str| -> Vec<(&'static str, String)> {
        vec![
            ("csrf", csrf.clone()),
            ("kind", "difficulty".to_owned()),
            ("name", "Jeanne <b>Petit</b>".to_owned()),
            ("email", "jeanne@example.org".to_owned()),
            ("session", "PTL-NA-DEMO-1".to_owned()),
            ("subject", "Accès au lieu".to_owned()),
            ("message", message.to_owned()),
        ]
    };
    let before = written(&mut conn);
    let bad = fields("");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, page) = send(&app, form_request("/reclamation", &bad, &format!("lms_csrf={cookie}"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("role=\"alert\"") && page.contains("Jeanne &lt;b&gt;Petit") && !page.contains("<b>Petit"),
        "typed text kept, escaped"
    );
    assert_eq!(written(&mut conn), before);
    let good = fields("Une marche à l'entrée.");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, page) = send(&app, form_request("/reclamation", &good, "")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no cookie, no complaint");
    let (status, _, page_ok) = send(&app, form_request("/reclamation", &good, &format!("lms_csrf={cookie}"))).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let reference: String = complaints_table::table
        .order(complaints_table::received_at.desc())
        .select(complaints_table::reference)
        .first(&mut conn)
        .unwrap();
    assert!(page_ok.contains(&reference) && page_ok.contains("au plus tard le"), "{page_ok}");

    // Signed in: prefilled, linked, the login session's token.
    let session = browser_login(&app, "karim.benali@example.org", "tiers-lieux-demo").await;
    let cookies = format!("lms_session={session}");
    let (_, _, page) = send(&app, get_with_cookies("/reclamation", &cookies)).await;
    assert!(page.contains("Karim Benali") && !page.contains("name=\"email\""), "prefilled from the account");
    let csrf = csrf_field(&page);
    let (status, _, page) = send(
        &app,
        form_request(
            "/reclamation",
            &[
                ("csrf", &csrf),
                ("kind", "complaint"),
                ("session", ""),
                ("subject", "Support"),
                ("message", "Pas reçu."),
            ],
            &cookies,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("karim.benali@example.org"));
    let karim = people::user_id_by_email(&mut conn, "karim.benali@example.org").unwrap().unwrap();
    let mine: i64 = complaints_table::table
        .filter(complaints_table::author_id.eq(karim.to_string()))
        .filter(complaints_table::subject.eq("Support"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(mine, 1);
    let (status, _, _) = send(
        &app,
        form_request("/reclamation", &[("csrf", "faux"), ("subject", "Support"), ("message", "Pas reçu.")], &cookies),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a wrong token is refused");
    let (_, _, footer) = send(&app, get("/")).await;
    assert!(footer.contains("href=\"/reclamation\""), "linked from the footer");
}

#[test]
fn the_demo_register_exports_as_csv_and_evidence() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let now = lms_core::db::now();
    let lines = complaints::list(&mut conn, Actor::Console, ListFilter::default(), now).unwrap();
    let statuses: std::collections::BTreeSet<_> = lines.iter().map(|c| c.status).collect();
    assert_eq!(statuses.len(), 4, "a complaint in each state");
    assert_eq!(lines.iter().filter(|c| c.overdue).count(), 1, "one overdue");
    assert_eq!(lines.iter().filter(|c| c.kind == ComplaintKind::Incident).count(), 1);
    let list = actions::list(&mut conn, Actor::Console, now).unwrap();
    assert_eq!(list.iter().filter(|a| a.done_on.is_some()).count(), 1);
    assert_eq!(list.iter().filter(|a| a.done_on.is_none()).count(), 1);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("complaints.csv");
    let out = lms(&db, &["export", "csv", "complaints", "--out", file.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), lms_core::complaints::CSV_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), lines.len());
    assert!(!text.contains("jean.morel@example.org"), "no author address in the CSV");

    let tables = complaints::evidence(&mut conn, now).unwrap();
    assert_eq!(tables.iter().map(|t| (t.indicator, t.rows.len())).collect::<Vec<_>>(), [(31, 6), (32, 2)]);
    let all_cells: String = tables[0].rows.iter().flatten().cloned().collect::<Vec<_>>().join("|");
    assert!(!all_cells.contains("marche"), "no message body in the evidence");
    let summary = complaints::public_summary(&mut conn, now).unwrap();
    assert_eq!(summary.received, 5, "incidents are not complaints");
    assert_eq!((summary.actions_done, summary.actions_open), (1, 1));
}

/// Ids are random and the CLI acts at the real time: both are masked, the rest is the contract.
fn redact_ids(text: &str) -> String {
    let value: Value = serde_json::from_str(text).unwrap();
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if key == "id" {
                        *item = json!("[id]");
                    } else if (key == "at" || key.ends_with("_at") || key == "done_on")
                        && key != "received_at"
                        && !item.is_null()
                    {
                        *item = json!("[now]");
                    } else {
                        walk(item);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut value = value;
    walk(&mut value);
    serde_json::to_string_pretty(&value).unwrap()
}

#[test]
fn the_cli_moves_complaints_and_prints_json() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let first = submit_at(&mut conn, "jeanne@example.org", at(2026, 3, 2, 9)).reference;
    let second = submit_at(&mut conn, "paul@example.org", at(2026, 3, 3, 9)).reference;
    drop(conn);

    let run = |args: &[&str]| {
        let out = lms(&db, args, None);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        out.stdout
    };
    let refused = |args: &[&str], code: &str| {
        let out = lms(&db, args, None);
        assert_eq!(out.code, 1, "{args:?}");
        assert!(out.stderr.starts_with(&format!("erreur [{code}] : ")), "{args:?}: {}", out.stderr);
    };
    refused(&["complaint", "close", &first], "complaint_not_answered");
    refused(&["complaint", "answer", &first, "--text", "x"], "complaint_not_acknowledged");
    refused(&["complaint", "show", "REC-2026-0999"], "complaint_not_found");
    run(&["complaint", "acknowledge", &first, "--note", "Transmis."]);
    run(&[
        "complaint",
        "answer",
        &first,
        "--text",
        "Le chauffage est réparé.",
        "--action",
        "Vérifier le chauffage",
        "--action-owner",
        "Régie",
        "--action-due",
        "2026-04-30",
    ]);
    refused(&["complaint", "answer", &first, "--text", "encore"], "complaint_already_answered");
    run(&["complaint", "close", &first]);
    let out = lms(&db, &["complaint", "answer", &second, "--text", "x", "--action", "y"], None);
    assert_eq!(out.code, 2, "an action needs its owner and due date: {}", out.stderr);

    let added = run(&[
        "--json",
        "complaint",
        "action",
        "add",
        "--what",
        "Former l'accueil",
        "--owner",
        "Camille",
        "--due",
        "2026-05-15",
    ]);
    let added: Value = serde_json::from_str(&added).unwrap();
    let id = added["id"].as_str().unwrap().to_owned();
    run(&["complaint", "action", "done", &id, "--note", "Formation faite."]);
    refused(&["complaint", "action", "done", &id, "--note", "encore"], "improvement_action_already_done");
    refused(
        &["complaint", "action", "add", "--what", "x", "--owner", "y", "--due", "2026-05-15", "--complaint", "REC-0"],
        "complaint_not_found",
    );

    insta::assert_snapshot!("complaint_show_json", redact_ids(&run(&["--json", "complaint", "show", &first])));
    insta::assert_snapshot!(
        "complaint_list_json",
        redact_ids(&run(&["--json", "complaint", "list", "--status", "closed"]))
    );
    let overdue: Value = serde_json::from_str(&run(&["--json", "complaint", "list", "--overdue"])).unwrap();
    assert_eq!(overdue.as_array().unwrap().len(), 1, "the second one, never answered");
    assert_eq!(overdue[0]["reference"], second.as_str());
    insta::assert_snapshot!("complaint_action_list_json", redact_ids(&run(&["--json", "complaint", "action", "list"])));
    let text = run(&["complaint", "show", &first]);
    assert!(text.contains("Historique") && text.contains("par console"), "{text}");
    let out = lms(&db, &["complaint", "list", "--status", "perdu"], None);
    assert_eq!(out.code, 2);
}
