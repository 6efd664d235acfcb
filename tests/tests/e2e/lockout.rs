//! The lockout an anonymous attacker cannot turn against an officer: failed log-ins from anywhere
//! lock the account for clients without a device token, while a device that presents the token of
//! an earlier log-in of the same user is counted, throttled and locked on its own.

use jiuzhu_proto::ErrorCode;
use jiuzhu_tests::{both_backends, spawn_app_with, Backend, TestApp, DEMO_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A log-in sent from `ip` (any address of 127.0.0.0/8 reaches the test server), with a device
/// token in the body or as the browser's cookie.
async fn login_from(
    app: &TestApp,
    ip: [u8; 4],
    username: &str,
    password: &str,
    token: Option<&str>,
    cookie: Option<&str>,
) -> (StatusCode, Value, Option<String>) {
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap();
    let mut body = json!({"username": username, "password": password});
    if let Some(t) = token {
        body["device_token"] = json!(t);
    }
    let mut req = http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&body);
    if let Some(c) = cookie {
        req = req.header("cookie", format!("jiuzhu_device={c}"));
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, res.json().await.unwrap_or(Value::Null), set_cookie)
}

fn device_token(body: &Value) -> String {
    body["device_token"].as_str().unwrap().to_owned()
}

const OFFICE: [u8; 4] = [127, 0, 0, 1];

async fn attackers_cannot_lock_out_a_trusted_device(backend: Backend) {
    // The production limits: 5 failures lock for 30 minutes, 10 attempts a minute per account.
    let Some(app) = spawn_app_with(backend, |s| {
        s.login_limit_per_account = 10;
        s.login_limit_per_ip = 60;
    })
    .await
    else {
        return;
    };
    app.load_demo().await;

    // The officer logged in before from two devices (a phone through the SDK, a browser).
    let mut phone = app.client();
    let first = phone.login("admin", DEMO_PASSWORD, None).await.unwrap();
    let phone_token = first.device_token.clone().unwrap();
    assert_eq!(phone.device_token(), Some(phone_token.as_str()));
    let (status, body, set_cookie) =
        login_from(&app, OFFICE, "admin", DEMO_PASSWORD, None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let browser_token = device_token(&body);
    let set_cookie = set_cookie.unwrap();
    for part in [
        "jiuzhu_device=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/api/v1/auth/login",
    ] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    let (_, coordinator, _) =
        login_from(&app, OFFICE, "coordinator", DEMO_PASSWORD, None, None).await;
    let coordinator_token = device_token(&coordinator);

    // 50 guesses at admin's password from ten addresses.
    let mut answers = Vec::new();
    for n in 0..50u8 {
        let ip = [127, 0, 1, 10 + n % 10];
        let (status, body, _) =
            login_from(&app, ip, "admin", &format!("guess-{n}"), None, None).await;
        assert_ne!(status, StatusCode::OK);
        answers.push(body["error"].as_str().unwrap_or_default().to_owned());
    }
    assert!(answers.iter().any(|c| c == "account_locked"), "{answers:?}");
    assert!(!answers.iter().any(|c| c == "internal"), "{answers:?}");

    // Untrusted clients are locked out, even with the right password...
    let (status, body, _) = login_from(&app, OFFICE, "admin", DEMO_PASSWORD, None, None).await;
    assert!(
        status == StatusCode::LOCKED || status == StatusCode::TOO_MANY_REQUESTS,
        "{status} {body}"
    );
    // ...and so are forged tokens and another user's token.
    let now = chrono::Utc::now().timestamp();
    let forged = format!("d1.{}.{now}.{}", "ab".repeat(16), "00".repeat(16));
    // The last hex digit changed (to one it is not: "0" alone left one token in 16 unchanged).
    let last = if phone_token.ends_with('0') { '1' } else { '0' };
    let edited = format!("{}{last}", &phone_token[..phone_token.len() - 1]);
    for bad in [forged.as_str(), edited.as_str(), coordinator_token.as_str()] {
        let (status, body, _) =
            login_from(&app, OFFICE, "admin", DEMO_PASSWORD, Some(bad), None).await;
        assert!(
            status == StatusCode::LOCKED || status == StatusCode::TOO_MANY_REQUESTS,
            "{bad}: {status} {body}"
        );
    }

    // The officer's phone (token in the body) and browser (cookie) log in.
    let again = phone.login("admin", DEMO_PASSWORD, None).await.unwrap();
    assert_eq!(again.user.username, "admin");
    let (status, body, _) = login_from(
        &app,
        OFFICE,
        "admin",
        DEMO_PASSWORD,
        None,
        Some(&browser_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A stolen token is no way to keep guessing: five failures with it lock that device...
    let stolen = phone.device_token().unwrap().to_owned();
    for n in 0..5 {
        let (status, body, _) = login_from(
            &app,
            [127, 0, 2, 1],
            "admin",
            &format!("stolen-{n}"),
            Some(&stolen),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let err = phone.login("admin", DEMO_PASSWORD, None).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::AccountLocked));
    // ...while the officer's other device still logs in.
    let (status, body, _) = login_from(
        &app,
        OFFICE,
        "admin",
        DEMO_PASSWORD,
        Some(&browser_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The coordinator's own token still works for the coordinator.
    let (status, body, _) = login_from(
        &app,
        OFFICE,
        "coordinator",
        DEMO_PASSWORD,
        Some(&coordinator_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
both_backends!(
    trusted_devices_survive_a_lockout,
    attackers_cannot_lock_out_a_trusted_device
);

/// The per-minute throttle of an account does not stop a trusted device either, but a trusted
/// device has a throttle of its own.
async fn throttles_are_per_device(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.login_limit_per_account = 3;
        s.lockout_threshold = 100;
    })
    .await
    else {
        return;
    };
    app.load_demo().await;
    let (_, body, _) = login_from(&app, OFFICE, "worker1", DEMO_PASSWORD, None, None).await;
    let token = device_token(&body);
    for n in 0..3 {
        let ip = [127, 0, 3, 1 + n];
        let _ = login_from(&app, ip, "worker1", "wrong-password", None, None).await;
    }
    let (status, _, _) = login_from(&app, OFFICE, "worker1", DEMO_PASSWORD, None, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, body, _) =
        login_from(&app, OFFICE, "worker1", DEMO_PASSWORD, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = device_token(&body);
    for _ in 0..3 {
        let _ = login_from(&app, OFFICE, "worker1", "wrong", Some(&token), None).await;
    }
    let (status, _, _) =
        login_from(&app, OFFICE, "worker1", DEMO_PASSWORD, Some(&token), None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}
both_backends!(per_device_throttle, throttles_are_per_device);
