//! Accounts: who may create whom, where, and with which names.

use jiuzhu_mobile_api::client::OrgUnitQuery;
use jiuzhu_proto::org::OrgKind;
use jiuzhu_proto::user::{CreateUser, Role, UpdateUser};
use jiuzhu_proto::ErrorCode;
use jiuzhu_tests::{both_backends, spawn_app, Backend, TestApp, DEMO_PASSWORD};

async fn first_unit(app: &TestApp, kind: OrgKind) -> jiuzhu_proto::org::OrgUnit {
    let admin = app.login("admin").await;
    let page = admin
        .org_units(&OrgUnitQuery {
            kind: Some(kind),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    page.items.into_iter().next().unwrap()
}

async fn create_and_manage_users(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let grid = first_unit(&app, OrgKind::Grid).await;
    let coordinator = app.login("coordinator").await;
    let new = |username: &str, role: Role| CreateUser {
        username: username.into(),
        password: "a-good-password".into(),
        display_name: "张 三".into(),
        role,
        org_unit_id: grid.id,
    };
    let created = coordinator
        .create_user(&new("Zhang.San", Role::GridWorker))
        .await
        .unwrap();
    assert_eq!(created.username, "zhang.san");
    assert_eq!(created.org_unit_code, grid.code);
    // Same name up to case and spaces: a conflict.
    let err = coordinator
        .create_user(&new("  ZHANG.san ", Role::GridWorker))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::DuplicateUsername));
    // A coordinator cannot make an admin or a peer.
    let err = coordinator
        .create_user(&new("boss", Role::Admin))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    // A grid worker belongs to a grid, not a community.
    let community = first_unit(&app, OrgKind::Community).await;
    let err = coordinator
        .create_user(&CreateUser {
            org_unit_id: community.id,
            ..new("li.si", Role::GridWorker)
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RoleNotAllowed));
    // Passwords: empty and oversized refused; usernames with invisible characters refused.
    for password in ["", "short"] {
        let err = coordinator
            .create_user(&CreateUser {
                password: password.into(),
                ..new("wang.wu", Role::GridWorker)
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidPassword));
    }
    let err = coordinator
        .create_user(&new("zero\u{200b}width", Role::GridWorker))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidUsername));
    // Grid workers manage nobody.
    let worker = app.login("worker1").await;
    assert_eq!(
        worker.users(None, None).await.unwrap_err().code(),
        Some(ErrorCode::Forbidden)
    );

    // The new account logs in; disabling it revokes its tokens.
    let mut zhang = app.client();
    zhang
        .login("zhang.san", "a-good-password", None)
        .await
        .unwrap();
    let updated = coordinator
        .update_user(
            created.id,
            &UpdateUser {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(updated.disabled);
    assert!(zhang.me().await.is_err());
    let err = app
        .client()
        .login("zhang.san", "a-good-password", None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::AccountDisabled));

    // Lists are scoped: the coordinator sees accounts of their community only.
    let listed = coordinator.users(None, Some(500)).await.unwrap();
    let names: Vec<_> = listed.items.iter().map(|u| u.username.as_str()).collect();
    assert!(
        names.contains(&"zhang.san") && names.contains(&"coordinator"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"admin") && !names.contains(&"street"),
        "{names:?}"
    );
    let all = app
        .login("admin")
        .await
        .users(None, Some(500))
        .await
        .unwrap();
    assert!(all.items.len() > listed.items.len());
    let _ = DEMO_PASSWORD;
}
both_backends!(users, create_and_manage_users);

async fn cannot_touch_users_outside_scope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let everyone = admin.users(None, Some(500)).await.unwrap().items;
    let district_user = everyone.iter().find(|u| u.username == "district").unwrap();
    let coordinator = app.login("coordinator").await;
    let err = coordinator
        .update_user(
            district_user.id,
            &UpdateUser {
                display_name: Some("hijacked".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    // Outside the subtree looks exactly like missing.
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
    let missing = coordinator
        .update_user(jiuzhu_proto::UserId::new(), &UpdateUser::default())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some(ErrorCode::NotFound));
}
both_backends!(users_outside_scope, cannot_touch_users_outside_scope);

/// The lists a console's pickers need: by role, by unit, and the workers a household's task may
/// go to (active grid workers of its community), all inside the caller's scope.
async fn filter_users_and_assignees(backend: Backend) {
    use jiuzhu_tests::fixtures::{coordinator_grid, household, id_number, member};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (grid, lat, lon) = coordinator_grid(&app).await;
    let admin = app.login("admin").await;
    let coordinator = app.login("coordinator").await;
    let list = |client: &jiuzhu_mobile_api::Client, query: Vec<(&'static str, String)>| {
        let req = client.request(reqwest::Method::GET, "/users").query(&query);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            let names: Vec<String> = body["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|u| u["username"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            (status, body, names)
        }
    };
    let (status, body, names) = list(&admin, vec![("role", "grid_worker".into())]).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert!(names.contains(&"worker1".into()) && names.contains(&"worker2".into()));
    assert!(body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["role"] == "grid_worker"));
    let (_, _, names) = list(&admin, vec![("org_unit_id", grid.id.to_string())]).await;
    assert_eq!(names, vec!["worker1".to_owned()]);
    // A unit outside the caller's scope is not found, like any object out of scope.
    let other_street = admin
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Street),
            limit: Some(5),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|s| !grid.path.starts_with(&s.path))
        .unwrap();
    let (status, _, _) = list(
        &coordinator,
        vec![("org_unit_id", other_street.id.to_string())],
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);

    // Who a task of this household may go to: the active grid workers of its grid (worker1's),
    // not those of the community's other grids, whose scope does not hold it.
    let h = coordinator
        .create_household(&household(
            "竹林路 8 号",
            lat,
            lon,
            vec![member(
                "户主",
                jiuzhu_proto::household::Relation::Head,
                &id_number("32040219600101771"),
            )],
        ))
        .await
        .unwrap();
    let second = coordinator
        .create_user(&CreateUser {
            username: "worker1.b".into(),
            password: "a-good-password".into(),
            display_name: "网格员一（二）".into(),
            role: Role::GridWorker,
            org_unit_id: grid.id,
        })
        .await
        .unwrap();
    let (status, _, mut names) =
        list(&coordinator, vec![("assignable_for", h.id.to_string())]).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    names.sort();
    assert_eq!(names, vec!["worker1", "worker1.b"]);
    coordinator
        .update_user(
            second.id,
            &UpdateUser {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (_, _, names) = list(&coordinator, vec![("assignable_for", h.id.to_string())]).await;
    assert_eq!(names, vec!["worker1"]);
    let (status, _, _) = list(
        &coordinator,
        vec![("assignable_for", uuid::Uuid::new_v4().to_string())],
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    let (status, _, _) = list(&coordinator, vec![("role", "emperor".into())]).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
}
both_backends!(user_filters, filter_users_and_assignees);

/// An admin cannot demote, move or disable themselves (the city would be left without its
/// administration); another admin can.
/// A second admin of the city, `admin2` with password `a-good-password`, made by `admin`.
async fn second_admin(
    app: &TestApp,
    admin: &jiuzhu_mobile_api::Client,
) -> jiuzhu_proto::user::User {
    let city = first_unit(app, OrgKind::City).await;
    admin
        .create_user(&CreateUser {
            username: "admin2".into(),
            password: "a-good-password".into(),
            display_name: "第二管理员".into(),
            role: Role::Admin,
            org_unit_id: city.id,
        })
        .await
        .unwrap()
}

async fn no_self_demotion(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let me = admin.me().await.unwrap();
    for change in [
        UpdateUser {
            role: Some(Role::Citizen),
            ..Default::default()
        },
        UpdateUser {
            disabled: Some(true),
            ..Default::default()
        },
    ] {
        let err = admin.update_user(me.id, &change).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::Forbidden), "{change:?}");
    }
    // A new name or password of one's own is fine.
    admin
        .update_user(
            me.id,
            &UpdateUser {
                display_name: Some("管理员".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let second = second_admin(&app, &admin).await;
    let mut admin2 = app.client();
    admin2
        .login("admin2", "a-good-password", None)
        .await
        .unwrap();
    let demoted = admin2
        .update_user(
            me.id,
            &UpdateUser {
                role: Some(Role::DistrictOfficer),
                org_unit_id: Some(first_unit(&app, OrgKind::District).await.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(demoted.role, Role::DistrictOfficer);
    let _ = second;
}
both_backends!(self_demotion, no_self_demotion);

/// Two admins disabling each other at the same moment: one wins, the other is refused, and the
/// city keeps an active admin (on PostgreSQL the check and the write are serialised by a lock;
/// without it both would commit). Eight rounds.
async fn never_zero_admins(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let me = admin.me().await.unwrap();
    let other = second_admin(&app, &admin).await;
    let disable = UpdateUser {
        disabled: Some(true),
        ..Default::default()
    };
    let enable = UpdateUser {
        disabled: Some(false),
        ..Default::default()
    };
    for round in 0..8 {
        let x = app.login("admin").await;
        let mut y = app.client();
        y.login("admin2", "a-good-password", None).await.unwrap();
        let (a, b) = tokio::join!(
            x.update_user(other.id, &disable),
            y.update_user(me.id, &disable)
        );
        assert!(
            a.is_ok() != b.is_ok(),
            "round {round}: exactly one may win: {:?} / {:?}",
            a.as_ref().map(|u| u.disabled),
            b.as_ref().map(|u| u.disabled)
        );
        for refused in [a.as_ref().err(), b.as_ref().err()].into_iter().flatten() {
            assert!(
                matches!(
                    refused.code(),
                    Some(
                        ErrorCode::Conflict | ErrorCode::Unauthorized | ErrorCode::AccountDisabled
                    )
                ),
                "round {round}: {refused:?}"
            );
        }
        // The winner re-enables the loser for the next round.
        if a.is_ok() {
            x.update_user(other.id, &enable).await.unwrap();
        } else {
            let mut y = app.client();
            y.login("admin2", "a-good-password", None).await.unwrap();
            y.update_user(me.id, &enable).await.unwrap();
        }
    }
}
both_backends!(last_admin_race, never_zero_admins);
