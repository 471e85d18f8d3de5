//! Attack suite: what an attacker tried on 127.0.0.1, replayed with bounded loops against servers
//! this test starts — real sockets, several loopback source addresses (127.0.0.2, .3, …: Linux
//! routes all of 127/8 to the loopback), concurrent clients. Cutting off a compromised account,
//! the limiters under parallel load, lockout by someone else, sign-up as an account oracle, open
//! redirects, proxies, slow-header sockets, check-in guessing, and the shape of every refusal.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::http::StatusCode;
use diesel::prelude::*;
use lms_core::db::schema::{login_sessions, users};
use lms_tests::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "un mot de passe solide";

fn from(last_octet: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet)))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn sign_up(client: &reqwest::Client, address: SocketAddr, email: &str) -> reqwest::StatusCode {
    client
        .post(format!("http://{address}/api/v1/accounts"))
        .json(&json!({"email": email, "name": "Cible", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn token_attempt(client: &reqwest::Client, address: SocketAddr, email: &str, password: &str) -> (u16, Value) {
    let response = client
        .post(format!("http://{address}/api/v1/auth/token"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn api_me(address: SocketAddr, token: &str) -> u16 {
    from(1).get(format!("http://{address}/api/v1/me")).bearer_auth(token).send().await.unwrap().status().as_u16()
}

/// A browser login through the page (form token and cookie), from `client`'s address.
async fn page_login(client: &reqwest::Client, address: SocketAddr, email: &str, password: &str) -> Option<String> {
    let form = client.get(format!("http://{address}/login")).send().await.unwrap();
    let csrf_cookie = cookie_value(form.headers(), "lms_csrf").unwrap();
    let csrf = csrf_field(&form.text().await.unwrap());
    let response = client
        .post(format!("http://{address}/login"))
        .header("cookie", format!("lms_csrf={csrf_cookie}"))
        .form(&[("email", email), ("password", password), ("csrf", &csrf), ("next", "/me")])
        .send()
        .await
        .unwrap();
    cookie_value(response.headers(), "lms_session").map(|v| format!("lms_session={v}"))
}

fn cookie_value(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap_or("").to_owned()))
        .filter(|v| !v.is_empty())
}

/// `/me` with a cookie: 200 when the login session works, a redirect to the login page when not.
async fn me_page(address: SocketAddr, cookie: &str) -> u16 {
    from(1).get(format!("http://{address}/me")).header("cookie", cookie).send().await.unwrap().status().as_u16()
}

fn csrf_of(conn: &mut lms_core::DbConn, cookie: &str) -> String {
    let token = cookie.trim_start_matches("lms_session=");
    lms_core::access::caller_from_login_session(conn, token, lms_core::db::now()).unwrap().unwrap().csrf_token.unwrap()
}

/// A server on the reference data with `people` signed up (from 127.0.0.2, whose client it
/// returns).
async fn server_with_people(people: &[&str]) -> (TestDb, SocketAddr, reqwest::Client) {
    let db = TestDb::new(Seed::Reference);
    let address = spawn_server(&db).await;
    let client = from(2);
    for email in people {
        sign_up(&client, address, email).await;
    }
    (db, address, client)
}

// ------------------------------------------------------------------ cutting an account off

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_every_other_login_and_every_token() {
    let (db, address, client) = server_with_people(&["victime@example.org"]).await;
    let (_, body) = token_attempt(&client, address, "victime@example.org", PASSWORD).await;
    let stolen_token = body["token"].as_str().unwrap().to_owned();
    let mine = page_login(&client, address, "victime@example.org", PASSWORD).await.unwrap();
    let thief = page_login(&from(3), address, "victime@example.org", PASSWORD).await.unwrap();
    assert_eq!((api_me(address, &stolen_token).await, me_page(address, &thief).await), (200, 200));

    let csrf = csrf_of(&mut db.conn(), &mine);
    let changed = client
        .post(format!("http://{address}/me/password"))
        .header("cookie", &mine)
        .form(&[
            ("current", PASSWORD),
            ("new_password", "un tout nouveau secret"),
            ("new_password_confirmation", "un tout nouveau secret"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(api_me(address, &stolen_token).await, 401, "the token ended with the old password");
    assert_eq!(me_page(address, &thief).await, 303, "the other login ended");
    assert_eq!(me_page(address, &mine).await, 200, "the login that changed it goes on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_can_cut_an_account_off_from_the_command_line() {
    let (db, address, client) = server_with_people(&["compromis@example.org"]).await;
    let token_with = async |password: &str| {
        token_attempt(&from(2), address, "compromis@example.org", password).await.1["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let token = || token_with(PASSWORD);
    let login_with =
        async |password: &str| page_login(&client, address, "compromis@example.org", password).await.unwrap();

    // set-password: both cookies and tokens end.
    let (old_token, cookie) =
        (token().await, page_login(&client, address, "compromis@example.org", PASSWORD).await.unwrap());
    let out = lms(
        &db,
        &["user", "set-password", "--email", "compromis@example.org", "--password-stdin"],
        Some("nouveau secret 2026\n"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("1 connexion(s) fermée(s), 1 jeton(s)"), "{}", out.stdout);
    assert_eq!((api_me(address, &old_token).await, me_page(address, &cookie).await), (401, 303));
    let new_password = "nouveau secret 2026";
    assert_eq!(token_attempt(&client, address, "compromis@example.org", new_password).await.0, 200);

    // revoke-tokens: the password still works, nothing issued before does.
    let (old_token, cookie) = (token_with(new_password).await, login_with(new_password).await);
    let out = lms(&db, &["--json", "user", "revoke-tokens", "--email", "compromis@example.org"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ended: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(ended["api_tokens"].as_u64().unwrap() >= 2 && ended["login_sessions"].as_u64().unwrap() >= 1, "{ended}");
    assert_eq!((api_me(address, &old_token).await, me_page(address, &cookie).await), (401, 303));

    // deactivate: no login, no token, no cookie; reactivate: the password again, nothing else.
    let (old_token, cookie) = (token_with(new_password).await, login_with(new_password).await);
    assert_eq!(lms(&db, &["user", "deactivate", "--email", "compromis@example.org"], None).code, 0);
    assert_eq!((api_me(address, &old_token).await, me_page(address, &cookie).await), (401, 303));
    let (status, body) = token_attempt(&client, address, "compromis@example.org", new_password).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_credentials")),
        "same answer as a wrong password"
    );
    assert!(page_login(&client, address, "compromis@example.org", new_password).await.is_none());
    let listed = lms(&db, &["--json", "user", "list"], None);
    assert!(
        listed.stdout.contains("\"active\":false") || listed.stdout.contains("\"active\": false"),
        "{}",
        listed.stdout
    );
    assert_eq!(lms(&db, &["user", "reactivate", "--email", "compromis@example.org"], None).code, 0);
    assert_eq!(api_me(address, &old_token).await, 401, "reactivation brings nothing back");
    assert_eq!(token_attempt(&client, address, "compromis@example.org", new_password).await.0, 200);

    // Unknown accounts: a clear refusal with the API's code, nothing written.
    let out = lms(&db, &["user", "deactivate", "--email", "personne@example.org"], None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("erreur [unknown_user] : aucun compte"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_role_stops_working_at_once() {
    let db = TestDb::new(Seed::Demo);
    let address = spawn_server(&db).await;
    let trainer = "formatrice.charente@demo.tierslieux.example.org";
    let (_, body) = token_attempt(&from(2), address, trainer, "tiers-lieux-demo").await;
    let token = body["token"].as_str().unwrap().to_owned();
    let sessions = |token: String| async move {
        from(2)
            .get(format!("http://{address}/api/v1/trainer/sessions"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(sessions(token.clone()).await, 200);
    let out = lms(&db, &["user", "remove-role", "--email", trainer, "--role", "trainer"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(sessions(token.clone()).await, 403);
    // Removing a role the account does not hold is refused and changes nothing.
    let out = lms(&db, &["user", "remove-role", "--email", trainer, "--role", "trainer"], None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("erreur [role_not_held] : "), "{}", out.stderr);
    assert!(out.stderr.contains("n'a pas le rôle trainer"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_see_and_end_their_own_logins_and_tokens() {
    let (db, address, client) = server_with_people(&["moi@example.org", "autre@example.org"]).await;
    let token =
        token_attempt(&client, address, "moi@example.org", PASSWORD).await.1["token"].as_str().unwrap().to_owned();
    let mine = page_login(&client, address, "moi@example.org", PASSWORD).await.unwrap();
    let phone = page_login(&from(3), address, "moi@example.org", PASSWORD).await.unwrap();
    let someone_else = page_login(&client, address, "autre@example.org", PASSWORD).await.unwrap();
    let page = client.get(format!("http://{address}/me/securite")).header("cookie", &mine).send().await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
    let page = page.text().await.unwrap();
    assert!(page.contains("cette connexion") && page.contains("127.0.0.3") && page.contains("Jeton « api »"), "{page}");

    let mut conn = db.conn();
    let csrf = csrf_of(&mut conn, &mine);
    let phone_id: String = login_sessions::table
        .filter(login_sessions::ip.eq("127.0.0.3"))
        .select(login_sessions::id)
        .first(&mut conn)
        .unwrap();
    let token_id: String =
        lms_core::db::schema::api_tokens::table.select(lms_core::db::schema::api_tokens::id).first(&mut conn).unwrap();
    let paths =
        [format!("/me/securite/connexions/{phone_id}/fermer"), format!("/me/securite/jetons/{token_id}/revoquer")];
    let end_both_as = |cookie: String, csrf: String| {
        let (client, paths) = (client.clone(), paths.clone());
        async move {
            let mut statuses = Vec::new();
            for path in paths {
                let response = client
                    .post(format!("http://{address}{path}"))
                    .header("cookie", &cookie)
                    .form(&[("csrf", &csrf)])
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status());
            }
            statuses
        }
    };
    // Another person cannot end them (404), and nothing changes.
    let other_csrf = csrf_of(&mut conn, &someone_else);
    assert_eq!(end_both_as(someone_else.clone(), other_csrf).await, [StatusCode::NOT_FOUND; 2]);
    assert_eq!((me_page(address, &phone).await, api_me(address, &token).await), (200, 200));
    // The owner can.
    assert_eq!(end_both_as(mine.clone(), csrf.clone()).await, [StatusCode::SEE_OTHER; 2]);
    assert_eq!((me_page(address, &phone).await, api_me(address, &token).await), (303, 401));
    assert_eq!(me_page(address, &mine).await, 200);
}

// ------------------------------------------------------------------------------- limiters

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_simultaneous_wrong_passwords_check_at_most_five() {
    let db = TestDb::new(Seed::Reference);
    let address = spawn_server(&db).await;
    sign_up(&from(2), address, "cible@example.org").await;
    let attempts: Vec<_> = (0..40)
        .map(|i| {
            tokio::spawn(async move {
                token_attempt(&from(2), address, "cible@example.org", &format!("devine {i:02}")).await.0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, 40, "{statuses:?}");
    assert!(
        checked <= lms_core::access::MAX_FAILURES_PER_ACCOUNT as usize,
        "{checked} passwords checked: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_lock_the_owner_out_but_many_addresses_trip_the_backstop() {
    let db = TestDb::new(Seed::Reference);
    let address = spawn_server(&db).await;
    sign_up(&from(2), address, "proprietaire@example.org").await;
    for _ in 0..lms_core::access::MAX_FAILURES_PER_ACCOUNT {
        assert_eq!(token_attempt(&from(66), address, "proprietaire@example.org", "devine").await.0, 401);
    }
    // The attacker's address is locked for this account…
    let (status, body) = token_attempt(&from(66), address, "proprietaire@example.org", PASSWORD).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("too_many_attempts")));
    // …the owner, elsewhere, is not.
    assert_eq!(token_attempt(&from(2), address, "proprietaire@example.org", PASSWORD).await.0, 200);

    // Many addresses, each under its own limit, add up to the account-wide backstop.
    let per_address = lms_core::access::MAX_FAILURES_PER_ACCOUNT;
    let addresses = (lms_core::access::MAX_FAILURES_PER_ACCOUNT_ANYWHERE / per_address) as u8;
    let mut failures = per_address; // the first attacker's
    'spray: for octet in 100..100 + addresses {
        for _ in 0..per_address {
            if failures >= lms_core::access::MAX_FAILURES_PER_ACCOUNT_ANYWHERE {
                break 'spray;
            }
            assert_eq!(token_attempt(&from(octet), address, "proprietaire@example.org", "devine").await.0, 401);
            failures += 1;
        }
    }
    let (status, _) = token_attempt(&from(3), address, "proprietaire@example.org", PASSWORD).await;
    assert_eq!(status, 429, "after {failures} failures from many addresses the account is locked everywhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_does_not_reveal_who_has_an_account_and_is_rate_limited() {
    let db = TestDb::new(Seed::Reference);
    let address = spawn_server(&db).await;
    let post = |email: &'static str, name: &'static str, octet: u8| async move {
        let response = from(octet)
            .post(format!("http://{address}/api/v1/accounts"))
            .json(&json!({"email": email, "name": name, "password": "encore un secret"}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json::<Value>().await.unwrap())
    };
    let (fresh_status, fresh) = post("nouvelle@example.org", "Nouvelle", 2).await;
    let hash_before: Option<String> = users::table
        .filter(users::email.eq("nouvelle@example.org"))
        .select(users::password_hash)
        .first(&mut db.conn())
        .unwrap();
    let (taken_status, taken) = post("nouvelle@example.org", "Nouvelle", 3).await;
    assert_eq!((fresh_status, taken_status), (202, 202));
    assert_eq!(fresh, taken, "the same answer for a free and a taken address");
    let hash_after: Option<String> = users::table
        .filter(users::email.eq("nouvelle@example.org"))
        .select(users::password_hash)
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(hash_before, hash_after, "the existing account is untouched");
    // The page gives the same answer too: the login page with the same message.
    let body = from(4).get(format!("http://{address}/signup")).send().await.unwrap();
    let cookie = cookie_value(body.headers(), "lms_csrf").unwrap();
    let csrf = csrf_field(&body.text().await.unwrap());
    let mut locations = Vec::new();
    for email in ["page-libre@example.org", "nouvelle@example.org"] {
        let response = from(4)
            .post(format!("http://{address}/signup"))
            .header("cookie", format!("lms_csrf={cookie}"))
            .form(&[
                ("name", "Page"),
                ("email", email),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert!(cookie_value(response.headers(), "lms_session").is_none());
        locations.push(response.headers()["location"].to_str().unwrap().to_owned());
    }
    assert_eq!(locations, ["/login?info=signup_received", "/login?info=signup_received"]);

    // Mass sign-up from one address is cut off; another address is not affected.
    let limit = lms_core::access::accounts::MAX_SIGN_UPS_PER_ADDRESS;
    let mut statuses = Vec::new();
    for i in 0..limit + 3 {
        let response = from(5)
            .post(format!("http://{address}/api/v1/accounts"))
            .json(&json!({"email": format!("robot{i}@example.org"), "name": "Robot", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 202).count(), limit as usize, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3, "{statuses:?}");
    let robots: i64 = users::table.filter(users::email.like("robot%")).count().get_result(&mut db.conn()).unwrap();
    assert_eq!(robots, i64::from(limit), "refused sign-ups wrote nothing");
    assert_eq!(sign_up(&from(6), address, "humaine@example.org").await, StatusCode::ACCEPTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_in_codes_cannot_be_guessed_in_parallel() {
    let db = TestDb::new(Seed::Reference);
    let address = spawn_server(&db).await;
    sign_up(&from(2), address, "devineur@example.org").await;
    let token = token_attempt(&from(2), address, "devineur@example.org", PASSWORD).await.1["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let guesses: Vec<_> = (0..30)
        .map(|i| {
            let token = token.clone();
            tokio::spawn(async move {
                let response = from(2)
                    .post(format!("http://{address}/api/v1/checkin"))
                    .bearer_auth(token)
                    .json(&json!({"code": format!("{:06}", 100_000 + i)}))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for guess in guesses {
        answers.push(guess.await.unwrap());
    }
    let tried = answers.iter().filter(|(_, code)| code == "unknown_checkin_code").count();
    let slowed = answers.iter().filter(|(s, code)| *s == 429 && code == "too_many_checkin_attempts").count();
    assert_eq!(tried + slowed, 30, "{answers:?}");
    assert!(
        tried <= lms_core::attendance::checkin::MAX_WRONG_CODES_PER_ACCOUNT as usize,
        "{tried} codes tried: {answers:?}"
    );
}

// ------------------------------------------------------------------- redirects and proxies

#[tokio::test]
async fn login_never_redirects_off_site_nor_fails_on_a_strange_next() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    let body = json!({"email": "nav@example.org", "name": "Nav", "password": PASSWORD}).to_string();
    send(&app, json_request("POST", "/api/v1/accounts", &body, None)).await;
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "\\/evil.example",
        "/\u{1}x",
        "//evil.example",
        "/é",
        "https://evil.example/",
    ] {
        let (_, headers, page) = send(&app, get("/login")).await;
        let cookie = set_cookie(&headers, "lms_csrf").unwrap();
        let csrf = csrf_field(&page);
        let fields = [("email", "nav@example.org"), ("password", PASSWORD), ("csrf", csrf.as_str()), ("next", next)];
        let (status, headers, _) = send(&app, form_request("/login", &fields, &format!("lms_csrf={cookie}"))).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(headers["location"], "/me", "{next:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    let db = TestDb::new(Seed::Reference);
    let behind_proxy =
        spawn_server_with(&db, |config| config.trusted_proxies = vec!["127.0.0.9/32".parse().unwrap()]).await;
    sign_up(&from(2), behind_proxy, "derriere@example.org").await;
    let via_proxy = |client_ip: &'static str, password: &'static str| async move {
        from(9)
            .post(format!("http://{behind_proxy}/api/v1/auth/token"))
            .header("x-forwarded-for", format!("{client_ip}, 127.0.0.9"))
            .json(&json!({"email": "derriere@example.org", "password": password}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    for _ in 0..5 {
        assert_eq!(via_proxy("198.51.100.7", "devine").await, 401);
    }
    // Behind the proxy, the attacker's real address is locked, not everyone behind the proxy.
    assert_eq!(via_proxy("198.51.100.7", PASSWORD).await, 429);
    assert_eq!(via_proxy("203.0.113.20", PASSWORD).await, 200);
    // A login session records the real client.
    let response = from(9)
        .post(format!("http://{behind_proxy}/api/v1/auth/token"))
        .header("forwarded", "for=\"[2001:db8::5]:4711\"")
        .json(&json!({"email": "derriere@example.org", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Without trust, the header is the client's own words: spoofing it does not dodge the lock.
    let direct = spawn_server(&db).await;
    for i in 0..5 {
        let status = from(11)
            .post(format!("http://{direct}/api/v1/auth/token"))
            .header("x-forwarded-for", format!("192.0.2.{i}"))
            .json(&json!({"email": "derriere@example.org", "password": "devine"}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let status = from(11)
        .post(format!("http://{direct}/api/v1/auth/token"))
        .header("x-forwarded-for", "192.0.2.200")
        .json(&json!({"email": "derriere@example.org", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

// ------------------------------------------------------------------------------ sockets

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_headers_are_cut_off_and_idle_sockets_cannot_starve_the_server() {
    let db = TestDb::new(Seed::Reference);
    let address = spawn_server_with(&db, |config| {
        config.header_timeout = Duration::from_secs(1);
        config.max_connections = 8;
    })
    .await;
    // 24 sockets (three times the cap) that never finish their headers.
    let mut slow = Vec::new();
    for i in 0..24_u8 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from(([127, 0, 0, 20 + i % 4], 0))).unwrap();
        let mut stream = socket.connect(address).await.unwrap();
        let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await;
        slow.push(stream);
    }
    // A normal client still gets served: the trickling ones are dropped after the timeout and
    // free their place. Bounded: at most 10 s.
    let started = std::time::Instant::now();
    let response = from(2).get(format!("http://{address}/healthz")).timeout(Duration::from_secs(10)).send().await;
    assert_eq!(response.unwrap().status(), StatusCode::OK, "served after {:?}", started.elapsed());
    // And every slow socket was closed by the server (read gives end of file or a reset).
    let mut closed = 0;
    for stream in &mut slow {
        let mut buffer = [0_u8; 512];
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            // A 408 answer before closing is also a cut-off.
            Ok(Ok(n)) if String::from_utf8_lossy(&buffer[..n]).contains("408") => closed += 1,
            other => panic!("a trickling socket was kept: {other:?}"),
        }
    }
    assert_eq!(closed, 24);
}

// --------------------------------------------------------------------- small holes, each

#[tokio::test]
async fn an_empty_csrf_pair_is_not_a_match() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    for cookie in ["lms_csrf=", "lms_csrf=abc"] {
        let csrf = cookie.trim_start_matches("lms_csrf=");
        let fields = [("email", "x@example.org"), ("password", PASSWORD), ("csrf", csrf)];
        let (status, _, _) = send(&app, form_request("/login", &fields, cookie)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{cookie}");
        let fields = [
            ("name", "X"),
            ("email", "x@example.org"),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
            ("csrf", csrf),
        ];
        let (status, _, _) = send(&app, form_request("/signup", &fields, cookie)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{cookie}");
    }
    let count: i64 = users::table.count().get_result(&mut db.conn()).unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn every_refusal_has_the_shape_of_its_door() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    // The API: JSON with a code, whatever refused the request.
    for (method, uri, content_type, body) in [
        ("GET", "/api/v1/sessions/%ff", None, ""),
        ("GET", "/api/v1/sessions/search?near=17000&minutes=beaucoup", None, ""),
        ("GET", "/api/v1/sessions/search?near=%ff%fe", None, ""),
        ("POST", "/api/v1/accounts", Some("text/plain"), "bonjour"),
        ("DELETE", "/api/v1/accounts", None, ""),
    ] {
        let mut builder = axum::http::Request::builder().method(method).uri(uri);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        let (status, headers, text) = send(&app, builder.body(axum::body::Body::from(body)).unwrap()).await;
        assert!(status.is_client_error(), "{method} {uri}: {status}");
        assert!(
            headers["content-type"].to_str().unwrap().starts_with("application/json"),
            "{method} {uri}: {headers:?}"
        );
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {uri}: not JSON: {text}"));
        assert!(json["error"]["code"].as_str().is_some_and(|c| !c.is_empty()), "{method} {uri}: {json}");
    }
    // Pages: a French page, never plain text or JSON.
    for (uri, content_type, body) in [
        ("/login", "application/json", r#"{"email":"x"}"#),
        ("/login", "application/x-www-form-urlencoded", "email=x"),
        ("/signup", "text/plain", "name=x"),
        ("/sessions/%ff/enrol", "application/x-www-form-urlencoded", "csrf=x"),
    ] {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", content_type)
            .body(axum::body::Body::from(body))
            .unwrap();
        let (status, headers, page) = send(&app, request).await;
        assert!(status.is_client_error() || status == StatusCode::SEE_OTHER, "{uri} {content_type}: {status}");
        if status != StatusCode::SEE_OTHER {
            assert!(
                headers["content-type"].to_str().unwrap().starts_with("text/html"),
                "{uri} {content_type}: {headers:?}"
            );
            assert!(page.contains("<html") && page.contains("lang=\"fr\""), "{uri}: {page}");
        }
    }
}

#[tokio::test]
async fn personal_pages_are_never_cached_and_hsts_is_an_option() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let cookie = format!(
        "lms_session={}",
        browser_login(&app, "formatrice.charente@demo.tierslieux.example.org", "tiers-lieux-demo").await
    );
    for path in ["/me", "/trainer", "/me/securite", "/login"] {
        let (status, headers, _) = send(&app, get_with_cookies(path, &cookie)).await;
        assert!(status.is_success() || status.is_redirection(), "{path}: {status}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert!(headers.get("strict-transport-security").is_none(), "HSTS is off by default");
    }
    let (_, headers, _) = send(&app, get("/static/style.css")).await;
    assert!(headers["cache-control"].to_str().unwrap().contains("max-age"), "assets stay cacheable");

    let mut config = lms_server::Config::for_tests(db.url.clone());
    config.hsts_max_age = Some(31_536_000);
    let app = lms_server::app(lms_server::AppState::open(&config).await.unwrap());
    let (_, headers, _) = send(&app, get("/")).await;
    assert_eq!(headers["strict-transport-security"], "max-age=31536000; includeSubDomains");
}
