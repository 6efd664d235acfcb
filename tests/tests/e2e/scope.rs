//! Every read is limited to the caller's subtree; outside it looks like missing.

use jiuzhu_mobile_api::client::OrgUnitQuery;
use jiuzhu_proto::org::OrgKind;
use jiuzhu_proto::user::{CreateUser, Role};
use jiuzhu_proto::ErrorCode;
use jiuzhu_tests::{both_backends, spawn_app, Backend};

async fn street_officers_see_their_street_only(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let streets = admin
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Street),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert!(streets.len() >= 4);
    let (mine, other) = (&streets[0], &streets[1]);
    let district = app.login("district").await;
    district
        .create_user(&CreateUser {
            username: "officer.b".into(),
            password: "a-good-password".into(),
            display_name: "乙街道".into(),
            role: Role::StreetOfficer,
            org_unit_id: other.id,
        })
        .await
        .unwrap();
    let officer_a = app.login("street").await;
    let mut officer_b = app.client();
    officer_b
        .login("officer.b", "a-good-password", None)
        .await
        .unwrap();

    // Own street: visible with its boundary; the other street: exactly like a missing unit.
    assert_eq!(officer_a.org_unit(mine.id).await.unwrap().code, mine.code);
    let hidden = officer_a.org_unit(other.id).await.unwrap_err();
    let missing = officer_a
        .org_unit(jiuzhu_proto::OrgUnitId::new())
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Some(ErrorCode::NotFound));
    assert_eq!(hidden.status(), missing.status());
    assert_eq!(format!("{hidden}"), format!("{missing}"));

    // Lists contain the subtree only, parents first.
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = officer_b
            .org_units(&OrgUnitQuery {
                after: after.clone(),
                limit: Some(7),
                ..Default::default()
            })
            .await
            .unwrap();
        seen.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert!(seen.len() > 5);
    assert_eq!(seen[0].code, other.code);
    assert!(
        seen.iter().all(|u| u.path.starts_with(&other.path)),
        "leak outside the street"
    );
    let mut paths: Vec<_> = seen.iter().map(|u| u.path.clone()).collect();
    paths.dedup();
    assert_eq!(paths.len(), seen.len(), "keyset pagination repeated a unit");
}
both_backends!(street_scope, street_officers_see_their_street_only);
