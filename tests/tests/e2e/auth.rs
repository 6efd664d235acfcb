//! Log-in, tokens, refresh rotation, lockout and rate limits.

use jiuzhu_proto::ErrorCode;
use jiuzhu_tests::{both_backends, spawn_app, spawn_app_with, Backend, DEMO_PASSWORD};
use reqwest::StatusCode;

async fn login_me_logout(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let mut client = app.client();
    // Case and surrounding spaces do not matter.
    let pair = client
        .login("  Worker1 ", DEMO_PASSWORD, Some("phone-1"))
        .await
        .unwrap();
    assert_eq!(pair.token_type, "Bearer");
    assert!(pair.access_token.starts_with("jza_"));
    let me = client.me().await.unwrap();
    assert_eq!(me.username, "worker1");
    assert_eq!(me.role, jiuzhu_proto::user::Role::GridWorker);
    client.logout().await.unwrap();
    let err = client.me().await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    // The refresh token of a logged-out session is dead too.
    let err = client
        .refresh(&pair.refresh_token, Some("phone-1"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    // No token, a malformed one, and a well-formed unknown one are all 401.
    for token in [
        None,
        Some("garbage"),
        Some("jza_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let mut c = app.client();
        c.set_token(token.map(str::to_owned));
        assert_eq!(
            c.me().await.unwrap_err().code(),
            Some(ErrorCode::Unauthorized)
        );
    }
}
both_backends!(login_me_logout, login_me_logout);

async fn unknown_user_and_wrong_password_look_alike(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let send = |user: &'static str| {
        let req = app
            .client()
            .request(reqwest::Method::POST, "/auth/login")
            .json(&serde_json::json!({
                "username": user, "password": "wrong-password-1"
            }));
        async move {
            let started = std::time::Instant::now();
            let res = req.send().await.unwrap();
            (res.status(), res.text().await.unwrap(), started.elapsed())
        }
    };
    let (s1, b1, t1) = send("worker1").await;
    let (s2, b2, t2) = send("nobody-at-all").await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!((s1, &b1), (s2, &b2));
    assert!(b1.contains("invalid_credentials"));
    // Both ran one argon2 verification; neither returns early. (Generous bound: a shared machine.)
    let (fast, slow) = if t1 < t2 { (t1, t2) } else { (t2, t1) };
    assert!(
        slow.as_secs_f64() < fast.as_secs_f64() * 5.0 + 0.05,
        "{t1:?} vs {t2:?}"
    );
}
both_backends!(
    unknown_user_like_wrong_password,
    unknown_user_and_wrong_password_look_alike
);

async fn refresh_rotates_and_reuse_revokes_family(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let mut phone = app.client();
    let first = phone
        .login("worker1", DEMO_PASSWORD, Some("phone-A"))
        .await
        .unwrap();
    let second = phone
        .refresh(&first.refresh_token, Some("phone-A"))
        .await
        .unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert!(phone.me().await.is_ok());
    // Presenting the rotated-out token again: refused, and the whole family dies.
    let mut thief = app.client();
    let err = thief
        .refresh(&first.refresh_token, Some("phone-A"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::TokenReused));
    assert_eq!(
        phone.me().await.unwrap_err().status(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let err = phone
        .refresh(&second.refresh_token, Some("phone-A"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));

    // A refresh token is bound to its device.
    let pair = phone
        .login("worker1", DEMO_PASSWORD, Some("phone-A"))
        .await
        .unwrap();
    let err = app
        .client()
        .refresh(&pair.refresh_token, Some("phone-B"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::DeviceMismatch));
    // An access token is not a refresh token.
    let err = app
        .client()
        .refresh(&pair.access_token, Some("phone-A"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
}
both_backends!(refresh_rotation, refresh_rotates_and_reuse_revokes_family);

async fn concurrent_refresh_has_one_winner(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let pair = app
        .client()
        .login("worker2", DEMO_PASSWORD, None)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut c = app.client();
        let token = pair.refresh_token.clone();
        tasks.push(tokio::spawn(async move {
            c.refresh(&token, None).await.is_ok()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert!(wins <= 1, "{wins} refreshes of one token succeeded");
}
both_backends!(concurrent_refresh, concurrent_refresh_has_one_winner);

async fn five_failures_lock_the_account(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    for i in 0..5 {
        let err = app
            .client()
            .login("coordinator", "not-the-password", None)
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some(ErrorCode::InvalidCredentials),
            "attempt {i}"
        );
    }
    let err = app
        .client()
        .login("coordinator", DEMO_PASSWORD, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::AccountLocked));
    assert_eq!(err.status(), Some(StatusCode::LOCKED));
    // Other accounts are unaffected.
    app.client()
        .login("street", DEMO_PASSWORD, None)
        .await
        .unwrap();
    // A name that does not exist locks the same way: a lock reveals nothing.
    for _ in 0..5 {
        let _ = app
            .client()
            .login("ghost-user", "not-the-password", None)
            .await;
    }
    let err = app
        .client()
        .login("ghost-user", "whatever-pass", None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::AccountLocked));
}
both_backends!(lockout, five_failures_lock_the_account);

async fn rate_limits_answer_429_before_hashing(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.login_limit_per_ip = 6;
        s.login_limit_per_account = 3;
    })
    .await
    else {
        return;
    };
    app.load_demo().await;
    for _ in 0..3 {
        let _ = app.client().login("worker1", "wrong-password", None).await;
    }
    let res = app
        .client()
        .request(reqwest::Method::POST, "/auth/login")
        .json(&serde_json::json!({"username": "worker1", "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert!(res.text().await.unwrap().contains("rate_limited"));
    // Per IP: three more attempts on other names, then everything from this address waits.
    for name in ["street", "district"] {
        let _ = app.client().login(name, "wrong-password", None).await;
    }
    let _ = app.client().login("admin", "wrong-password", None).await;
    let err = app
        .client()
        .login("citizen", DEMO_PASSWORD, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RateLimited));
}
both_backends!(rate_limits, rate_limits_answer_429_before_hashing);

async fn bad_login_bodies(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let post = |body: serde_json::Value| {
        app.client()
            .request(reqwest::Method::POST, "/auth/login")
            .json(&body)
            .send()
    };
    let res = post(serde_json::json!({"username": "worker1", "password": ""}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // A 1 MB password is over the body limit: refused before anything else.
    let res = post(serde_json::json!({"username": "worker1", "password": "x".repeat(1 << 20)}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.text().await.unwrap().contains("payload_too_large"));
    let res = post(serde_json::json!({"username": "worker1", "password": "p", "extra": 1}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("unknown_field"));
}
both_backends!(bad_login_bodies, bad_login_bodies);
