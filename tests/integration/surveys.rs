//! Satisfaction surveys (`lms_core::surveys`): opening when the last half-day ends, once, with
//! invitations, e-mails and notifications; the à froid survey later; one reminder; answering by
//! the API and the page (once, 404 for others, closed, every bad input writes nothing); the
//! anonymous mode; the CLI's list and results (JSON snapshots), the questionnaire import, the
//! CSV export, the evidence; the server opening surveys without SMTP.

use axum::http::StatusCode;
use chrono::{Duration, NaiveDateTime, Timelike};
use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::db::ids::{SurveyId, TrainingSessionId};
use lms_core::db::schema::{
    half_days, notifications, outbox_messages, questionnaires, survey_invitations, survey_responses, surveys,
};
use lms_core::mail::MailKind;
use lms_core::notifications::NotificationKind;
use lms_core::surveys::{SurveyAudience, SurveyTiming, open_due};
use lms_tests::*;
use serde_json::{Value, json};

use crate::attendance_support::{DEMO, DEMO_TRAINEES, OUTSIDER, PASSWORD, TRAINEE, session, token};

/// Moves every half-day of DEMO-1 back so that the last one ended `ago` before now; returns when
/// it ended.
fn finish_demo_session(conn: &mut DbConn, ago: Duration) -> (TrainingSessionId, NaiveDateTime) {
    let id = session(conn, DEMO);
    let last: Option<NaiveDateTime> = half_days::table
        .filter(half_days::training_session_id.eq(&id))
        .select(diesel::dsl::max(half_days::ends_at))
        .first(conn)
        .unwrap();
    let ended = lms_core::db::now() - ago;
    let shift = last.unwrap() - ended;
    let rows: Vec<(String, NaiveDateTime, NaiveDateTime)> = half_days::table
        .filter(half_days::training_session_id.eq(&id))
        .select((half_days::id, half_days::starts_at, half_days::ends_at))
        .load(conn)
        .unwrap();
    for (half_day, starts, ends) in rows {
        diesel::update(half_days::table.filter(half_days::id.eq(half_day)))
            .set((half_days::starts_at.eq(starts - shift), half_days::ends_at.eq(ends - shift)))
            .execute(conn)
            .unwrap();
    }
    (id, ended)
}

fn survey_of(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    audience: SurveyAudience,
    timing: SurveyTiming,
) -> SurveyId {
    surveys::table
        .filter(surveys::training_session_id.eq(session))
        .filter(surveys::audience.eq(audience))
        .filter(surveys::kind.eq(timing))
        .select(surveys::id)
        .first(conn)
        .unwrap()
}

fn count_mails(conn: &mut DbConn, kind: MailKind) -> i64 {
    outbox_messages::table.filter(outbox_messages::kind.eq(kind)).count().get_result(conn).unwrap()
}

/// (responses, answered invitations): what an answer writes.
fn written(conn: &mut DbConn) -> (i64, i64) {
    (
        survey_responses::table.count().get_result(conn).unwrap(),
        survey_invitations::table
            .filter(survey_invitations::answered_at.is_not_null())
            .count()
            .get_result(conn)
            .unwrap(),
    )
}

/// DEMO-1 finished an hour ago, its surveys opened; returns the trainees' à chaud survey.
fn opened_demo(conn: &mut DbConn) -> (TrainingSessionId, SurveyId) {
    let (id, _) = finish_demo_session(conn, Duration::hours(1));
    open_due(conn, lms_core::db::now()).unwrap();
    let survey = survey_of(conn, &id, SurveyAudience::Trainee, SurveyTiming::AChaud);
    (id, survey)
}

fn full_answer() -> Value {
    json!({
        "satisfaction": 5,
        "answers": {
            "objectifs": 5, "contenu": 4, "formateur": 5, "organisation": 3,
            "recommandation": "Oui, sans hésiter",
            "commentaire": "Des visites de lieux très utiles."
        }
    })
}

async fn post(app: &axum::Router, uri: &str, body: &Value, bearer: &str) -> (StatusCode, Value) {
    let (status, _, text) = send(app, json_request("POST", uri, &body.to_string(), Some(bearer))).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn surveys_open_when_the_last_half_day_ends_once_with_mails_notifications_and_one_reminder() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let (id, ended) = finish_demo_session(&mut conn, Duration::hours(1));
    let invitations_before = count_mails(&mut conn, MailKind::SurveyInvitation);

    // Before the end: nothing for DEMO-1.
    let early = open_due(&mut conn, ended - Duration::minutes(1)).unwrap();
    assert!(early.opened.iter().all(|s| s.session != DEMO), "{early:?}");

    let report = open_due(&mut conn, lms_core::db::now()).unwrap();
    let mine: Vec<_> = report.opened.iter().filter(|s| s.session == DEMO).collect();
    assert_eq!(mine.len(), 2, "trainees and trainers à chaud: {report:?}");
    let trainees = mine.iter().find(|s| s.audience == SurveyAudience::Trainee).unwrap();
    assert_eq!((trainees.timing, trainees.invited), (SurveyTiming::AChaud, 6));
    let trainers = mine.iter().find(|s| s.audience == SurveyAudience::Trainer).unwrap();
    assert_eq!(trainers.invited, 2);
    assert_eq!(count_mails(&mut conn, MailKind::SurveyInvitation) - invitations_before, 8);
    let survey = survey_of(&mut conn, &id, SurveyAudience::Trainee, SurveyTiming::AChaud);
    let (opens, closes): (NaiveDateTime, NaiveDateTime) =
        surveys::table.find(&survey).select((surveys::opens_at, surveys::closes_at)).first(&mut conn).unwrap();
    assert!(opens >= ended && opens <= lms_core::db::now());
    assert_eq!(closes - opens, Duration::days(lms_core::surveys::ANSWER_DAYS));
    // The questions are the default questionnaire's, copied.
    let questions: String = surveys::table.find(&survey).select(surveys::questions).first(&mut conn).unwrap();
    assert!(questions.contains("\"objectifs\"") && questions.contains("\"recommandation\""), "{questions}");
    // One notification per invitee, linking to the questionnaire.
    let links: Vec<Option<String>> = notifications::table
        .filter(notifications::kind.eq(NotificationKind::SurveyOpened))
        .select(notifications::link)
        .load(&mut conn)
        .unwrap();
    let expected = format!("/me/questionnaires/{survey}");
    assert_eq!(links.iter().filter(|l| l.as_deref() == Some(expected.as_str())).count(), 6);
    let body: String = outbox_messages::table
        .filter(outbox_messages::kind.eq(MailKind::SurveyInvitation))
        .filter(outbox_messages::recipient_email.eq(TRAINEE))
        .select(outbox_messages::text_body)
        .first(&mut conn)
        .unwrap();
    assert!(body.contains(&expected), "{body}");
    assert!(body.contains("Piloter un tiers-lieu") || body.contains(DEMO), "{body}");

    // Twice: nothing more.
    let outbox: i64 = outbox_messages::table.count().get_result(&mut conn).unwrap();
    let again = open_due(&mut conn, lms_core::db::now()).unwrap();
    assert!(again.opened.is_empty(), "{again:?}");
    assert_eq!(again.reminders, 0);
    assert_eq!(outbox_messages::table.count().get_result::<i64>(&mut conn).unwrap(), outbox);

    // One trainee answers; a week later the seven others (5 trainees, 2 trainers) get one reminder.
    let lea = crate::attendance_support::caller(&mut conn, TRAINEE);
    let answer = lms_core::surveys::Answer {
        satisfaction: Some(json!(4)),
        answers: serde_json::from_value(full_answer()["answers"].clone()).unwrap(),
    };
    lms_core::surveys::answer(&mut conn, &lea, &survey, &answer, lms_core::db::now()).unwrap();
    let week = lms_core::db::now() + Duration::days(lms_core::surveys::REMINDER_AFTER_DAYS) + Duration::hours(1);
    let reminded = open_due(&mut conn, week).unwrap();
    assert_eq!(reminded.reminders, 7, "{reminded:?}");
    let to_lea: i64 = outbox_messages::table
        .filter(outbox_messages::kind.eq(MailKind::SurveyReminder))
        .filter(outbox_messages::recipient_email.eq(TRAINEE))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(to_lea, 0, "who answered is not reminded");
    assert_eq!(open_due(&mut conn, week + Duration::days(1)).unwrap().reminders, 0, "one reminder only");
    // After the end of the answering period: no reminder to anyone.
    let closed = open_due(&mut conn, lms_core::db::now() + Duration::days(lms_core::surveys::ANSWER_DAYS + 1)).unwrap();
    assert_eq!(closed.reminders, 0);

    // À froid: `quality.survey_cold_days` after the end, trainees only (no trainer questionnaire).
    let cold_days =
        i64::from(lms_core::documents::organisation::QualitySettings::load(&mut conn).unwrap().survey_cold_days);
    let cold = open_due(&mut conn, ended + Duration::days(cold_days) + Duration::minutes(5)).unwrap();
    let cold: Vec<_> = cold.opened.iter().filter(|s| s.session == DEMO).collect();
    assert_eq!(cold.len(), 1, "{cold:?}");
    assert_eq!((cold[0].audience, cold[0].timing, cold[0].invited), (SurveyAudience::Trainee, SurveyTiming::AFroid, 6));
}

#[tokio::test]
async fn a_trainee_answers_once_by_the_api_and_others_cannot_see_or_answer() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let (_, survey) = opened_demo(&mut conn);
    let app = test_app(&db).await;
    let lea = token(&mut conn, TRAINEE);

    let (status, _, text) = send(&app, {
        let mut r = get("/api/v1/me/surveys");
        r.headers_mut().insert("authorization", format!("Bearer {lea}").parse().unwrap());
        r
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    let item = list.as_array().unwrap().iter().find(|s| s["id"] == survey.to_string()).expect("the survey is listed");
    assert_eq!(item["session_reference"], DEMO);
    assert_eq!(item["course_title"], "Piloter un tiers-lieu");
    assert!(item["closes_at"].is_string());
    assert_eq!(item["questions"][0]["id"], "objectifs");
    assert_eq!(item["questions"][0]["kind"], "scale");

    let uri = format!("/api/v1/surveys/{survey}/responses");
    let (status, body) = post(&app, &uri, &full_answer(), &lea).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["anonymous"], false);
    let after_first = written(&mut conn);

    // Twice: 409, nothing written.
    let (status, body) = post(&app, &uri, &full_answer(), &lea).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("survey_already_answered")));
    assert_eq!(written(&mut conn), after_first);
    // Answered: no longer listed.
    let respondent: Option<String> = survey_responses::table
        .filter(survey_responses::survey_id.eq(&survey))
        .select(survey_responses::respondent_id)
        .first(&mut conn)
        .unwrap();
    assert!(respondent.is_some(), "a named survey keeps its respondent");

    // Someone not invited: 404, whether or not the survey exists; the list does not show it.
    let outsider = token(&mut conn, OUTSIDER);
    let (status, body) = post(&app, &uri, &full_answer(), &outsider).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("survey_not_found")));
    let (status, _) =
        post(&app, &format!("/api/v1/surveys/{}/responses", SurveyId::generate()), &full_answer(), &outsider).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, text) = send(&app, {
        let mut r = get("/api/v1/me/surveys");
        r.headers_mut().insert("authorization", format!("Bearer {outsider}").parse().unwrap());
        r
    })
    .await;
    assert!(!text.contains(&survey.to_string()), "{text}");
    assert_eq!(written(&mut conn), after_first);
    // Without a token: 401.
    let (status, _, _) = send(&app, json_request("POST", &uri, &full_answer().to_string(), None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_bad_answer_is_refused_with_its_code_and_writes_nothing() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let (_, survey) = opened_demo(&mut conn);
    let app = test_app(&db).await;
    let karim = token(&mut conn, DEMO_TRAINEES[1]);
    let uri = format!("/api/v1/surveys/{survey}/responses");
    let before = written(&mut conn);
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = full_answer();
        change(&mut body);
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(&|b| b["satisfaction"] = json!(0)), "invalid_satisfaction"),
        (with(&|b| b["satisfaction"] = json!(6)), "invalid_satisfaction"),
        (with(&|b| b["satisfaction"] = json!("cinq")), "invalid_json"),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("satisfaction");
            }),
            "invalid_satisfaction",
        ),
        (with(&|b| b["answers"]["inconnue"] = json!(3)), "unknown_question"),
        (
            with(&|b| {
                b["answers"].as_object_mut().unwrap().remove("objectifs");
            }),
            "missing_answer",
        ),
        (with(&|b| b["answers"]["contenu"] = json!(9)), "invalid_answer"),
        (with(&|b| b["answers"]["contenu"] = json!("beaucoup")), "invalid_answer"),
        (with(&|b| b["answers"]["recommandation"] = json!("Peut-être")), "invalid_answer"),
        (with(&|b| b["answers"]["commentaire"] = json!("   ")), "invalid_answer"),
        (with(&|b| b["answers"]["commentaire"] = json!("x".repeat(2001))), "invalid_answer"),
        (with(&|b| b["answers"]["commentaire"] = json!(12)), "invalid_answer"),
        (with(&|b| b["answers"]["commentaire"] = json!("texte\u{202E}inversé")), "invalid_answer"),
    ];
    for (body, code) in cases {
        let (status, answer) = post(&app, &uri, &body, &karim).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{code}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{answer}");
        assert_eq!(written(&mut conn), before, "{code}: nothing written");
    }

    // Closed, then not yet open: 422 with their codes, nothing written.
    let past = lms_core::db::now() - Duration::minutes(1);
    diesel::update(surveys::table.find(&survey)).set(surveys::closes_at.eq(past)).execute(&mut conn).unwrap();
    let (status, answer) = post(&app, &uri, &full_answer(), &karim).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("survey_closed")));
    let later = lms_core::db::now() + Duration::days(1);
    diesel::update(surveys::table.find(&survey))
        .set((surveys::opens_at.eq(later), surveys::closes_at.eq(later + Duration::days(30))))
        .execute(&mut conn)
        .unwrap();
    let (status, answer) = post(&app, &uri, &full_answer(), &karim).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("survey_not_open")));
    assert_eq!(written(&mut conn), before);
}

const ANONYMOUS_PTL: &str = r#"
[[questionnaire]]
course = "PTL"
audience = "trainee"
timing = "a_chaud"
title = "Bilan anonyme du parcours Piloter un tiers-lieu"
anonymous = true

[[questionnaire.question]]
id = "utilite"
label = "La formation vous sera-t-elle utile ?"
kind = "scale"
min_label = "Pas du tout"
max_label = "Tout à fait"
required = true

[[questionnaire.question]]
id = "idee"
label = "Une idée pour la prochaine promotion"
kind = "text"
max_length = 300
"#;

#[tokio::test]
async fn an_anonymous_survey_keeps_no_respondent_and_still_takes_one_answer_per_person() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ptl.toml");
    std::fs::write(&file, ANONYMOUS_PTL).unwrap();
    let out = lms(&db, &["--json", "survey", "questionnaire", "import", file.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report, json!({"created": 1, "updated": 0}));
    let shown = lms(&db, &["--json", "survey", "questionnaire", "show", "--course", "PTL"], None);
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown[0]["anonymous"], true);
    assert_eq!(shown[0]["questions"][1]["max_length"], 300);

    let mut conn = db.conn();
    let (_, survey) = opened_demo(&mut conn);
    let title: String = surveys::table.find(&survey).select(surveys::title).first(&mut conn).unwrap();
    assert_eq!(title, "Bilan anonyme du parcours Piloter un tiers-lieu", "the course's own questionnaire wins");
    let app = test_app(&db).await;
    let lea = token(&mut conn, TRAINEE);
    let uri = format!("/api/v1/surveys/{survey}/responses");
    let body = json!({"satisfaction": 4, "answers": {"utilite": 5, "idee": "Plus de temps en atelier"}});
    let (status, answer) = post(&app, &uri, &body, &lea).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["anonymous"], true);

    let (id, respondent, at): (String, Option<String>, NaiveDateTime) = survey_responses::table
        .filter(survey_responses::survey_id.eq(&survey))
        .select((survey_responses::id, survey_responses::respondent_id, survey_responses::submitted_at))
        .first(&mut conn)
        .unwrap();
    assert_eq!(respondent, None, "no respondent stored");
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4, "a random id, not time-ordered");
    assert_eq!((at.hour(), at.minute(), at.second()), (0, 0, 0), "day precision");
    let answered: Option<NaiveDateTime> = survey_invitations::table
        .filter(survey_invitations::survey_id.eq(&survey))
        .filter(survey_invitations::person_id.eq(crate::attendance_support::user(&mut conn, TRAINEE)))
        .select(survey_invitations::answered_at)
        .first(&mut conn)
        .unwrap();
    assert_eq!(answered, Some(at), "the invitation records that she answered, on the day only");

    let (status, answer) = post(&app, &uri, &body, &lea).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("survey_already_answered")));
    assert_eq!(
        survey_responses::table
            .filter(survey_responses::survey_id.eq(&survey))
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap(),
        1
    );

    // The CSV keeps the row without an e-mail.
    let csv_file = dir.path().join("surveys.csv");
    let out = lms(&db, &["export", "csv", "surveys", "--out", csv_file.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&csv_file).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let email = header.iter().position(|h| h == "respondent_email").unwrap();
    let answers = header.iter().position(|h| h == "answers").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let total: i64 = survey_responses::table.count().get_result(&mut conn).unwrap();
    assert_eq!(rows.len() as i64, total);
    let mine = rows.iter().find(|r| r[answers].contains("Plus de temps en atelier")).unwrap();
    assert_eq!(&mine[email], "");
    assert_eq!(&mine[0], DEMO);
}

#[test]
fn a_questionnaire_import_is_all_or_nothing() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let count = |conn: &mut DbConn| -> i64 { questionnaires::table.count().get_result(conn).unwrap() };
    let before = count(&mut conn);
    assert_eq!(before, 3, "the default questionnaires are reference data");
    let bad_second = format!(
        "{ANONYMOUS_PTL}\n{}",
        ANONYMOUS_PTL.replace("\"a_chaud\"", "\"a_froid\"").replace("kind = \"text\"", "kind = \"choice\"")
    );
    let cases = [
        (bad_second, "invalid_questionnaire"),
        (ANONYMOUS_PTL.replace("\"PTL\"", "\"NOPE\""), "unknown_course"),
        ("pas du toml [".to_owned(), "invalid_questionnaire"),
        (format!("{ANONYMOUS_PTL}\n{ANONYMOUS_PTL}"), "invalid_questionnaire"),
    ];
    for (text, code) in cases {
        let out = lms(&db, &["survey", "questionnaire", "import", "-"], Some(&text));
        assert_eq!(out.code, 1, "{code}: {}", out.stdout);
        assert!(out.stderr.starts_with(&format!("erreur [{code}] : ")), "{}", out.stderr);
        assert_eq!(count(&mut conn), before, "{code}: nothing written");
    }
    let out = lms(&db, &["survey", "questionnaire", "show"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("objectifs — Les objectifs annoncés"), "{}", out.stdout);
}

/// `value` with ids, dates and times replaced, for a stable snapshot.
fn stable(mut value: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    let generated = item.as_str().is_some_and(|text| uuid::Uuid::parse_str(text).is_ok());
                    if (key == "id" && generated) || matches!(key.as_str(), "opens_at" | "closes_at") {
                        *item = json!(format!("[{key}]"));
                    } else {
                        walk(item);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

#[tokio::test]
async fn the_cli_lists_surveys_and_results_with_rates_and_the_evidence_holds_them() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let (_, survey) = opened_demo(&mut conn);
    let app = test_app(&db).await;
    for (email, score) in [(DEMO_TRAINEES[0], 5), (DEMO_TRAINEES[1], 3)] {
        let bearer = token(&mut conn, email);
        let mut body = full_answer();
        body["satisfaction"] = json!(score);
        if score == 3 {
            body["answers"]["recommandation"] = json!("Non");
            body["answers"].as_object_mut().unwrap().remove("commentaire");
        }
        let (status, answer) = post(&app, &format!("/api/v1/surveys/{survey}/responses"), &body, &bearer).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }

    let out = lms(&db, &["--json", "survey", "list", "--session", DEMO], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let list: Value = serde_json::from_str(&out.stdout).unwrap();
    insta::assert_json_snapshot!("survey_list", stable(list));
    let out = lms(&db, &["--json", "survey", "results", "--session", DEMO], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let results: Value = serde_json::from_str(&out.stdout).unwrap();
    insta::assert_json_snapshot!("survey_results", stable(results));
    // Over all sessions: DEMO-0's demo answers too.
    let out = lms(&db, &["--json", "survey", "results"], None);
    let all: Value = serde_json::from_str(&out.stdout).unwrap();
    let hot = all["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["audience"] == "trainee" && g["timing"] == "a_chaud")
        .unwrap();
    assert!(hot["answered"].as_i64().unwrap() > 2, "{hot}");
    // Plain text, and an unknown session.
    let out = lms(&db, &["survey", "results", "--session", DEMO], None);
    assert!(out.stdout.contains("Satisfaction générale : 4\u{a0}/\u{a0}5"), "{}", out.stdout);
    let out = lms(&db, &["survey", "list", "--session", "NOPE-0"], None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("erreur [unknown_session] : "), "{}", out.stderr);

    let evidence = lms_core::surveys::evidence(&mut conn).unwrap();
    assert_eq!(evidence.len(), 2);
    assert!(evidence.iter().all(|t| t.indicator == 30 && t.rows.iter().all(|r| r.len() == t.columns.len())));
    assert!(evidence[0].rows.iter().any(|r| r[0] == DEMO && r[8] == "2"), "{:?}", evidence[0].rows);
}

#[tokio::test]
async fn the_page_takes_an_answer_without_javascript_and_says_so_afterwards() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let (_, survey) = opened_demo(&mut conn);
    let app = test_app(&db).await;
    let cookie = format!("lms_session={}", browser_login(&app, DEMO_TRAINEES[2], PASSWORD).await);
    let page = format!("/me/questionnaires/{survey}");

    let (status, _, me) = send(&app, get_with_cookies("/me", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(me.contains(&format!("href=\"{page}\"")), "/me lists the open questionnaire");

    let (status, _, html) = send(&app, get_with_cookies(&page, &cookie)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("<legend>Les objectifs annoncés de la formation ont-ils été atteints ? (obligatoire)</legend>"),
        "{html}"
    );
    assert!(html.contains("for=\"q-commentaire\""));
    let csrf = csrf_field(&html);

    // A required question left out: the form again (422), what was typed kept, nothing written.
    let before = written(&mut conn);
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("satisfaction", "4"),
        ("q_contenu", "4"),
        ("q_formateur", "5"),
        ("q_organisation", "4"),
        ("q_recommandation", "Oui, avec des réserves"),
        ("q_commentaire", ""),
    ];
    let (status, _, html) = send(&app, form_request(&page, &fields, &cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("role=\"alert\"") && html.contains("réponse obligatoire"), "{html}");
    assert!(html.contains("value=\"Oui, avec des réserves\" checked"), "{html}");
    assert_eq!(written(&mut conn), before);

    fields.push(("q_objectifs", "3"));
    let (status, headers, _) = send(&app, form_request(&page, &fields, &cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], format!("{page}?merci=1").as_str());
    assert_eq!(written(&mut conn), (before.0 + 1, before.1 + 1));
    let (_, _, html) = send(&app, get_with_cookies(&format!("{page}?merci=1"), &cookie)).await;
    assert!(html.contains("Merci"), "{html}");
    let (status, _, html) = send(&app, get_with_cookies(&page, &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Vous avez déjà répondu à ce questionnaire"), "{html}");
    assert!(!html.contains("<form method=\"post\" action=\"/me/questionnaires"), "no form any more");
    // Sent again: 409, the page says so, nothing written.
    let (status, _, html) = send(&app, form_request(&page, &fields, &cookie)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("déjà répondu"), "{html}");
    assert_eq!(written(&mut conn), (before.0 + 1, before.1 + 1));

    // Someone else's questionnaire, or a made-up id: not found.
    let outsider = format!("lms_session={}", browser_login(&app, OUTSIDER, PASSWORD).await);
    let (status, _, _) = send(&app, get_with_cookies(&page, &outsider)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = send(&app, get_with_cookies("/me/questionnaires/pas-un-id", &outsider)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Without the form's token: refused.
    let (status, _, _) = send(&app, form_request(&page, &[("satisfaction", "5")], &outsider)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_server_opens_due_surveys_even_without_smtp() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let (id, _) = finish_demo_session(&mut conn, Duration::hours(1));
    let _server = spawn_server_with(&db, |config| assert!(config.smtp_url.is_none())).await;
    let mut opened = 0;
    for _ in 0..100 {
        opened =
            surveys::table.filter(surveys::training_session_id.eq(&id)).count().get_result::<i64>(&mut conn).unwrap();
        if opened > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(opened, 2, "trainees' and trainers' à chaud surveys opened by the server");
    let out = lms(&db, &["--json", "survey", "open"], None);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["opened"], json!([]), "nothing twice");
}
