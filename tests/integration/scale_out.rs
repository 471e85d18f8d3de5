//! Scale-out on PostgreSQL: two `lms-server` processes on one database (enrolments, cancellations
//! and attendance through both), an instance stopped under load, and a database outage. (Runs in
//! the PostgreSQL pass; on SQLite there is one process by design, so these tests say SKIPPED and
//! return at once.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use lms_core::enrolment::{self, EnrolmentStatus};
use lms_tests::{Backend, Seed, ServerProcess, TestDb, skip_unless_backend};
use serde_json::Value;

use crate::enrolment::published_session;

const PASSWORD: &str = "un mot de passe solide";

const ONE_PROCESS_ON_SQLITE: &str = "on SQLite one server process owns the file, by design";

async fn sign_up_and_token(_client: &reqwest::Client, sign_up_on: &str, token_from: &str, email: &str) -> String {
    // Each trainee from their own loopback address (127.0.3.x, 127.0.4.x…), as real trainees
    // are: one address would trip the per-address sign-up limit.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let [_, _, high, low] = (n + 3 * 256 + 1).to_be_bytes();
    let from = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, high.max(3), low.max(1)));
    let client = reqwest::Client::builder().local_address(from).build().expect("client");
    let created = client
        .post(format!("{sign_up_on}/api/v1/accounts"))
        .json(&serde_json::json!({"email": email, "name": email, "password": PASSWORD}))
        .send()
        .await
        .expect("sign up");
    assert_eq!(created.status(), StatusCode::ACCEPTED);
    let token: Value = client
        .post(format!("{token_from}/api/v1/auth/token"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token body");
    token["token"].as_str().expect("token").to_owned()
}

fn check_invariants(db: &TestDb, session: &lms_core::db::ids::TrainingSessionId, capacity: usize) {
    let mut conn = db.conn();
    let list = enrolment::list_enrolments(&mut conn, session).unwrap();
    let confirmed = list.iter().filter(|e| e.status == EnrolmentStatus::Confirmed).count();
    let positions: Vec<i64> = list.iter().filter_map(|e| e.waitlist_position).collect();
    assert!(confirmed <= capacity);
    assert_eq!(positions, (1..=positions.len() as i64).collect::<Vec<_>>());
    if !positions.is_empty() {
        assert_eq!(confirmed, capacity, "nobody waits while a seat is free");
    }
    let view = lms_core::catalogue::find_training_session(&mut conn, session).unwrap();
    assert_eq!(view.confirmed as usize, confirmed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_logins_and_keep_the_enrolment_invariants() {
    if skip_unless_backend(
        Backend::Postgres,
        "two_instances_share_logins_and_keep_the_enrolment_invariants",
        ONE_PROCESS_ON_SQLITE,
    ) {
        return;
    }
    let db = TestDb::new(Seed::Reference);
    let session = published_session(&mut db.conn(), 12);
    let (a, b) = (ServerProcess::start(&db.url_string).await, ServerProcess::start(&db.url_string).await);
    let client = reqwest::Client::new();

    // Accounts made on one instance, tokens from the other, used on both.
    let mut tokens = Vec::new();
    for i in 0..60 {
        let (first, second) = if i % 2 == 0 { (&a.base, &b.base) } else { (&b.base, &a.base) };
        tokens.push(sign_up_and_token(&client, first, second, &format!("multi{i}@example.org")).await);
    }
    let me = client.get(format!("{}/api/v1/me", b.base)).bearer_auth(&tokens[0]).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "a login made on one instance works on the other");

    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let client = client.clone();
            let (enrol_on, cancel_on) =
                if i % 2 == 0 { (a.base.clone(), b.base.clone()) } else { (b.base.clone(), a.base.clone()) };
            let session = session.to_string();
            tokio::spawn(async move {
                let url = format!("{enrol_on}/api/v1/sessions/{session}/enrolments");
                let response = client.post(&url).bearer_auth(&token).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::CREATED);
                if i % 3 == 0 {
                    let cancelled = client
                        .delete(format!("{cancel_on}/api/v1/sessions/{session}/enrolments/me"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(cancelled.status(), StatusCode::OK);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    check_invariants(&db, &session, 12);
    let list = enrolment::list_enrolments(&mut db.conn(), &session).unwrap();
    assert_eq!(list.iter().filter(|e| e.status == EnrolmentStatus::Cancelled).count(), 20);
    assert_eq!(list.iter().filter(|e| e.status == EnrolmentStatus::Confirmed).count(), 12);
    assert_eq!(list.iter().filter(|e| e.status == EnrolmentStatus::Waitlisted).count(), 28);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stopping_an_instance_under_load_loses_nothing_acknowledged() {
    if skip_unless_backend(
        Backend::Postgres,
        "stopping_an_instance_under_load_loses_nothing_acknowledged",
        ONE_PROCESS_ON_SQLITE,
    ) {
        return;
    }
    let db = TestDb::new(Seed::Reference);
    let session = published_session(&mut db.conn(), 10);
    let mut a = ServerProcess::start(&db.url_string).await;
    let b = ServerProcess::start(&db.url_string).await;
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for i in 0..40 {
        tokens.push(sign_up_and_token(&client, &b.base, &b.base, &format!("charge{i}@example.org")).await);
    }
    let acknowledged = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let (client, acknowledged, session) = (client.clone(), Arc::clone(&acknowledged), session.to_string());
            let target = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
            tokio::spawn(async move {
                // Spread the requests over the moment instance A stops.
                tokio::time::sleep(Duration::from_millis(10 * i as u64)).await;
                let response = client
                    .post(format!("{target}/api/v1/sessions/{session}/enrolments"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                if let Ok(response) = response
                    && response.status().is_success()
                {
                    let body: Value = response.json().await.unwrap();
                    acknowledged.lock().await.push(body["enrolment_id"].as_str().unwrap().to_owned());
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    tokio::task::spawn_blocking(move || {
        a.stop();
        a
    })
    .await
    .unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let acknowledged = acknowledged.lock().await.clone();
    assert!(acknowledged.len() >= 20, "instance B kept serving: {} acknowledged", acknowledged.len());
    let list = enrolment::list_enrolments(&mut db.conn(), &session).unwrap();
    for id in &acknowledged {
        let found =
            list.iter().find(|e| e.id.as_str() == id).unwrap_or_else(|| panic!("acknowledged enrolment {id} lost"));
        assert!(matches!(found.status, EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted));
    }
    check_invariants(&db, &session, 10);
    assert_eq!(reqwest::get(format!("{}/healthz", b.base)).await.unwrap().status(), StatusCode::OK);
}

/// Two trainers record sheets of three half-days at once, through both instances: every
/// acknowledged entry is in the ledger, and the session's chain is unbroken (the per-session lock
/// holds across processes).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_record_attendance_into_one_unbroken_ledger() {
    use crate::attendance_support::{CO_TRAINER, DEMO, DEMO_TRAINEES, TRAINER, open_half_day_started, token};
    if skip_unless_backend(
        Backend::Postgres,
        "two_instances_record_attendance_into_one_unbroken_ledger",
        ONE_PROCESS_ON_SQLITE,
    ) {
        return;
    }
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = crate::attendance_support::session(&mut conn, DEMO);
    let half_days: Vec<_> = [40, 35, 30]
        .iter()
        .map(|m| open_half_day_started(&mut conn, &session, chrono::Duration::minutes(*m)))
        .collect();
    let tokens = [token(&mut conn, TRAINER), token(&mut conn, CO_TRAINER)];
    let before = lms_core::attendance::ledger_position(&mut conn, &session).unwrap().seq;
    let (a, b) = (ServerProcess::start(&db.url_string).await, ServerProcess::start(&db.url_string).await);
    let client = reqwest::Client::new();

    let tasks: Vec<_> = (0..30_usize)
        .map(|i| {
            let client = client.clone();
            let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
            let token = tokens[i % 3 % 2].clone();
            let url = format!("{base}/api/v1/sessions/{session}/half-days/{}/sheet", half_days[i % 3]);
            // Minutes unique per request, so that every line of every sheet is a change.
            let entries: Vec<Value> = DEMO_TRAINEES
                .iter()
                .map(|trainee| serde_json::json!({"trainee": trainee, "status": "late", "minutes": i + 1}))
                .collect();
            tokio::spawn(async move {
                let response =
                    client.put(url).bearer_auth(token).json(&serde_json::json!({ "entries": entries })).send().await;
                let response = response.expect("the instance answers");
                assert_eq!(response.status(), StatusCode::OK);
                let outcome: Value = response.json().await.unwrap();
                outcome["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    assert_eq!(acknowledged.len(), 30 * DEMO_TRAINEES.len(), "every line of every sheet was a change");

    let mut conn = db.conn();
    let after = lms_core::attendance::ledger_position(&mut conn, &session).unwrap().seq;
    assert_eq!(after - before, acknowledged.len() as i64, "one link per acknowledged entry, no more");
    let report = lms_core::attendance::verify_ledger(&mut conn, Some(&session)).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let mut ids: Vec<String> = {
        use diesel::prelude::*;
        use lms_core::db::schema::attendance_entries;
        attendance_entries::table
            .filter(attendance_entries::training_session_id.eq(&session))
            .filter(attendance_entries::seq.gt(before))
            .select(attendance_entries::id)
            .load(&mut conn)
            .unwrap()
    };
    ids.sort();
    acknowledged.sort();
    assert_eq!(ids, acknowledged, "the acknowledged entries are exactly the new links");
}

/// A TCP relay to PostgreSQL that the test can cut and restore, to simulate an outage.
struct Relay {
    port: u16,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn start(port: u16) -> Relay {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("relay bind");
        let port = listener.local_addr().expect("relay port").port();
        let tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let registry = Arc::clone(&tasks);
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let connection = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                registry.lock().unwrap().push(connection);
            }
        });
        tasks.lock().unwrap().push(accept);
        Relay { port, tasks }
    }

    /// Drops every connection and stops listening.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_answers_503_quickly_and_the_server_recovers_by_itself() {
    if skip_unless_backend(
        Backend::Postgres,
        "a_database_outage_answers_503_quickly_and_the_server_recovers_by_itself",
        ONE_PROCESS_ON_SQLITE,
    ) {
        return;
    }
    let db = TestDb::new(Seed::Reference);
    let relay = Relay::start(0).await;
    let database = db.url_string.rsplit('/').next().unwrap().to_owned();
    let via_relay = format!("postgres://postgres@127.0.0.1:{}/{database}?connect_timeout=2", relay.port);
    let server = ServerProcess::start(&via_relay).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();

    relay.cut();
    let started = Instant::now();
    let response = client.get(format!("{}/healthz", server.base)).send().await.expect("an answer, not a hang");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "database_unavailable");
    assert!(started.elapsed() < Duration::from_secs(15), "bounded wait: {:?}", started.elapsed());
    let page = client.get(format!("{}/", server.base)).send().await.expect("an answer");
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.text().await.unwrap().contains("indisponible"));

    // The database comes back on the same address: the server recovers without a restart.
    let _back = Relay::start(relay.port).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = client.get(format!("{}/healthz", server.base)).send().await
            && response.status() == StatusCode::OK
        {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not recover within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
