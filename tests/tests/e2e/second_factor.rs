//! The second factor (TOTP): an officer sets it up, log-ins then need a code that is good once,
//! wrong codes count towards the lockout, an admin resets it for a lost phone, and a server that
//! requires it of admins lets an admin without one do nothing but set it up. Codes are computed
//! here with the `totp-rs` crate from the secret the server shows, as an authenticator app would.

use jiuzhu_mobile_api::Client;
use jiuzhu_server::db::repo::{login, users};
use jiuzhu_server::db::AnyConnection;
use jiuzhu_server::domain::account::Username;
use jiuzhu_tests::{both_backends, spawn_app_with, Backend, TestApp, DEMO_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::call;
use totp_rs::{Algorithm, Secret, TOTP};

/// The authenticator app: the code of the step `offset` steps from now.
struct App {
    totp: TOTP,
}

impl App {
    fn new(enrolment: &Value) -> Self {
        let secret = enrolment["secret"].as_str().unwrap();
        let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
        let totp = TOTP::new(Algorithm::SHA1, 6, 0, 30, bytes, None, String::new()).unwrap();
        App { totp }
    }

    fn code(&self, offset: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        self.totp.generate((now + offset * 30) as u64)
    }

    /// A well-formed code that no step near now has.
    fn wrong(&self) -> String {
        let near: Vec<String> = (-2..=2).map(|o| self.code(o)).collect();
        (0..)
            .map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000))
            .find(|c| !near.contains(c))
            .unwrap()
    }
}

/// A log-in without any device token, so that its failures count against the account.
async fn login(app: &TestApp, username: &str, code: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({"username": username, "password": DEMO_PASSWORD});
    if let Some(c) = code {
        body["second_factor_code"] = json!(c);
    }
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn code_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("")
}

/// Sets up a second factor for the logged-in client's account: its app, and the code that
/// confirmed it (spent).
async fn enrol(client: &Client) -> (App, String) {
    let (status, enrolment) = call(client, Method::POST, "/auth/second-factor", None).await;
    assert_eq!(status, StatusCode::OK, "{enrolment}");
    assert!(enrolment["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/Jiuzhu:"));
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    let app = App::new(&enrolment);
    let code = app.code(0);
    let (status, user) = call(
        client,
        Method::POST,
        "/auth/second-factor/confirm",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["second_factor"], json!(true));
    (app, code)
}

async fn log_ins_need_a_code_good_once(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.lockout_threshold = 3).await else {
        return;
    };
    app.load_demo().await;
    let coordinator = app.login("coordinator").await;
    let me = coordinator.me().await.unwrap();
    assert!(!me.second_factor);

    // Confirming before starting, then with a wrong code, is refused.
    let (status, body) = call(
        &coordinator,
        Method::POST,
        "/auth/second-factor/confirm",
        Some(json!({"code": "123456"})),
    )
    .await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::CONFLICT, "second_factor_not_started")
    );
    let (_, enrolment) = call(&coordinator, Method::POST, "/auth/second-factor", None).await;
    let first = App::new(&enrolment);
    let (status, body) = call(
        &coordinator,
        Method::POST,
        "/auth/second-factor/confirm",
        Some(json!({"code": first.wrong()})),
    )
    .await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "second_factor_invalid")
    );
    // Starting again replaces the secret: the first one's code no longer confirms.
    let (totp, spent) = enrol(&coordinator).await;
    assert_ne!(
        first.totp.secret, totp.totp.secret,
        "a new secret each time"
    );
    let (status, body) = call(&coordinator, Method::POST, "/auth/second-factor", None).await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::CONFLICT, "second_factor_enabled")
    );

    // The secret is sealed at rest: neither its base32 nor its bytes are in the row.
    let secret = totp.totp.get_secret_base32();
    let secret_hex = hex::encode(Secret::Encoded(secret.clone()).to_bytes().unwrap());
    let id = me.id.to_string();
    let stored = blocking(&app, {
        let id = id.clone();
        move |conn| users::second_factor_secret(conn, &id).unwrap()
    })
    .await
    .unwrap();
    assert!(stored.starts_with("k1:"), "{stored}");
    assert!(!stored.contains(&secret_hex) && !stored.contains(&secret));

    // The password alone no longer logs in; a wrong password still says only that.
    let (status, body) = login(&app, "coordinator", None).await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::UNAUTHORIZED, "second_factor_required")
    );
    assert!(body.get("access_token").is_none());
    let wrong_password = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"username": "coordinator", "password": "not-the-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    let body: Value = wrong_password.json().await.unwrap();
    assert_eq!(code_of(&body), "invalid_credentials");

    // The confirming code was spent; the next step's is good once.
    let (status, body) = login(&app, "coordinator", Some(&spent)).await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::UNAUTHORIZED, "second_factor_invalid")
    );
    let next = totp.code(1);
    let (status, body) = login(&app, "coordinator", Some(&next)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["second_factor"], json!(true));
    let (status, body) = login(&app, "coordinator", Some(&next)).await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::UNAUTHORIZED, "second_factor_invalid")
    );

    // Wrong codes count as failed log-ins: with the replay, two more lock the account; then
    // even a right code is refused.
    for _ in 0..2 {
        let (status, body) = login(&app, "coordinator", Some(&totp.wrong())).await;
        assert_eq!(
            (status, code_of(&body)),
            (StatusCode::UNAUTHORIZED, "second_factor_invalid")
        );
    }
    let (status, body) = login(&app, "coordinator", Some(&totp.code(1))).await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::LOCKED, "account_locked")
    );

    // Each failure is audited under the account, with nothing of the code.
    let admin = app.login("admin").await;
    let records = log_in_records(&admin, &id).await;
    let failures = records.iter().filter(|r| r["result"] == "failure").count();
    assert!(failures >= 4, "{records:?}");
    let (_, page) = call(
        &admin,
        Method::GET,
        &format!("/audit?action=user.second_factor.enable&entity_id={id}"),
        None,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");

    // The phone is lost: an admin removes the second factor, which ends its sessions; the
    // password alone logs in again (once the lock has run out: here, cleared by the test).
    let admin_id = admin.me().await.unwrap().id;
    let (status, body) = call(
        &admin,
        Method::DELETE,
        &format!("/users/{admin_id}/second-factor"),
        None,
    )
    .await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let (status, body) = call(
        &admin,
        Method::DELETE,
        &format!("/users/{id}/second-factor"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["second_factor"], json!(false));
    let err = coordinator.me().await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    blocking(&app, |conn| {
        login::clear_lockout(conn, "coordinator").unwrap()
    })
    .await;
    let (status, body) = login(&app, "coordinator", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["second_factor"], json!(false));
}
both_backends!(log_ins_need_a_code_good_once, log_ins_need_a_code_good_once);

/// Runs `work` on a pooled connection of the server, in its audit context.
async fn blocking<T: Send + 'static>(
    app: &TestApp,
    work: impl FnOnce(&mut AnyConnection) -> T + Send + 'static,
) -> T {
    let (state, audit) = (app.state.clone(), app.state.audit.context());
    tokio::task::spawn_blocking(move || {
        audit.enter(|| {
            let mut conn = state.database.pool.get().unwrap();
            work(&mut conn)
        })
    })
    .await
    .unwrap()
}

async fn admins_must_set_it_up_first_when_required(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.admin_second_factor = Some(true)).await else {
        return;
    };
    app.load_demo().await;

    // Other roles are not held up.
    let mut street = app.client();
    let pair = street.login("street", DEMO_PASSWORD, None).await.unwrap();
    assert!(!pair.second_factor_enrolment_required);
    let (status, _) = call(&street, Method::GET, "/users?limit=5", None).await;
    assert_eq!(status, StatusCode::OK);

    let mut admin = app.client();
    let pair = admin
        .login("admin", DEMO_PASSWORD, Some("admin-browser"))
        .await
        .unwrap();
    assert!(pair.second_factor_enrolment_required);
    for (method, path) in [
        (Method::GET, "/users?limit=5"),
        (Method::GET, "/households?limit=5"),
        (Method::GET, "/audit?limit=5"),
        (Method::GET, "/tasks?limit=5"),
    ] {
        let (status, body) = call(&admin, method, path, None).await;
        assert_eq!(
            (status, code_of(&body)),
            (StatusCode::FORBIDDEN, "second_factor_enrolment_required"),
            "{path}"
        );
    }
    // A refreshed session is still held up.
    let refreshed = admin
        .refresh(&pair.refresh_token, Some("admin-browser"))
        .await
        .unwrap();
    assert!(refreshed.second_factor_enrolment_required);
    admin.set_token(Some(refreshed.access_token.clone()));
    let me = admin.me().await.unwrap();
    assert!(!me.second_factor);

    // Set up, the same session may do everything; the next log-in needs a code.
    let (totp, _) = enrol(&admin).await;
    let (status, _) = call(&admin, Method::GET, "/users?limit=5", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = login(&app, "admin", None).await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::UNAUTHORIZED, "second_factor_required")
    );
    let (status, body) = login(&app, "admin", Some(&totp.code(1))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.get("second_factor_enrolment_required").is_none(),
        "{body}"
    );

    // The command line removes it for the last admin, whom nobody else can reset.
    let admin_id = me.id.to_string();
    blocking(&app, |conn| {
        let username = Username::parse("admin").unwrap();
        jiuzhu_server::accounts::reset_second_factor(conn, &username).unwrap();
        let nobody = Username::parse("no.such.officer").unwrap();
        let e = jiuzhu_server::accounts::reset_second_factor(conn, &nobody).unwrap_err();
        assert!(
            e.to_string().contains("no account has this username"),
            "{e}"
        );
    })
    .await;
    let err = admin.me().await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    let (status, body) = login(&app, "admin", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["second_factor_enrolment_required"], json!(true));
    assert_eq!(body["user"]["id"], json!(admin_id));
}
both_backends!(
    admins_must_set_it_up_first_when_required,
    admins_must_set_it_up_first_when_required
);

/// A log-in from a trusted device (one that presents its device token) is counted under the
/// device, but audited under the account, as any other: it once named nobody.
async fn trusted_device_log_ins_are_audited_under_the_account(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    app.load_demo().await;
    let mut phone = app.client();
    phone
        .login("worker1", DEMO_PASSWORD, Some("phone-1"))
        .await
        .unwrap();
    assert!(phone.device_token().is_some());
    let id = phone.me().await.unwrap().id.to_string();
    phone
        .login("worker1", DEMO_PASSWORD, Some("phone-1"))
        .await
        .unwrap();
    let err = phone
        .login("worker1", "wrong-password-1", Some("phone-1"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));

    let admin = app.login("admin").await;
    let items = log_in_records(&admin, &id).await;
    let of = |result: &str| items.iter().filter(|r| r["result"] == result).count();
    assert_eq!((of("success"), of("failure")), (2, 1), "{items:?}");
    assert!(items
        .iter()
        .filter(|r| r["result"] == "success")
        .all(|r| r["actor_id"] == json!(id)));
    assert_eq!(log_in_records(&admin, "unknown").await, Vec::<Value>::new());
}

/// The audit's log-in records of the account `id` (newest first), as an admin finds them.
async fn log_in_records(admin: &Client, id: &str) -> Vec<Value> {
    let path = format!("/audit?action=auth.login&entity_id={id}&limit=100");
    let (status, page) = call(admin, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}
both_backends!(
    trusted_device_log_ins_are_audited_under_the_account,
    trusted_device_log_ins_are_audited_under_the_account
);
