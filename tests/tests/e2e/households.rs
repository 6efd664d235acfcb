//! The household registry: create, read, update, reveal, search, conflicts, scope, bad input.

use jiuzhu_mobile_api::client::OrgUnitQuery;
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::geo::Crs;
use jiuzhu_proto::household::*;
use jiuzhu_proto::org::OrgKind;
use jiuzhu_proto::ErrorBody;
use jiuzhu_tests::{both_backends, spawn_app, Backend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub use jiuzhu_tests::fixtures::{coordinator_grid, household, id_number, member};

async fn post(client: &Client, path: &str, body: &impl serde::Serialize) -> (StatusCode, Value) {
    let res = client
        .request(Method::POST, path)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn patch(client: &Client, path: &str, body: &impl serde::Serialize) -> (StatusCode, Value) {
    let res = client
        .request(Method::PATCH, path)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn codes(body: &Value) -> Vec<(String, String)> {
    let body: ErrorBody = serde_json::from_value(body.clone()).unwrap();
    body.details
        .into_iter()
        .map(|d| (d.field, d.code))
        .collect()
}

async fn create_read_reveal(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (grid, lat, lon) = coordinator_grid(&app).await;
    let worker = app.login("worker1").await;
    let head_id = id_number("32040219500101001");
    let child_id = id_number("32040220100615002");
    let mut input = household(
        "天宁区红梅新村 3 幢 2 单元 401 室",
        lat,
        lon,
        vec![
            member("王建国", Relation::Head, &head_id),
            member("王小红", Relation::Child, &child_id.to_lowercase()),
        ],
    );
    input.tags = vec!["独居老人".into(), " 重病家庭 ".into()];
    let (status, body) = post(&worker, "/households", &input).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let h: Household = serde_json::from_value(body).unwrap();
    assert_eq!(h.grid_id, grid.id);
    assert!(!h.grid_overridden);
    assert_eq!(h.version, 1);
    assert_eq!(h.tags, vec!["独居老人".to_string(), "重病家庭".to_string()]);
    let head = &h.members[0];
    assert_eq!(
        head.id_number_masked,
        format!("{}********{}", &head_id[..6], &head_id[14..])
    );
    assert_eq!(head.birth_date.to_string(), "1950-01-01");
    assert_eq!(head.gender, Gender::Male);
    assert_eq!(h.members[1].gender, Gender::Female);
    assert_eq!(head.phone_masked.as_deref(), Some("138****5678"));
    assert_eq!(h.head_member_id, Some(head.id));
    // The full number never appears in any response but the reveal.
    let text = worker
        .request(Method::GET, &format!("/households/{}", h.id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !text.contains(&head_id) && !text.contains("13812345678"),
        "{text}"
    );

    // Reveal: not for grid workers; needs a reason; audited.
    let (status, _) = post(
        &worker,
        &format!("/households/{}/reveal", h.id),
        &json!({"reason": "核对低保材料"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let coordinator = app.login("coordinator").await;
    let (status, body) = post(
        &coordinator,
        &format!("/households/{}/reveal", h.id),
        &json!({"reason": " "}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = post(
        &coordinator,
        &format!("/households/{}/reveal", h.id),
        &json!({"reason": "核对低保材料", "member_id": h.members[1].id}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A revealed number is never kept by a browser or a proxy.
    let again = coordinator
        .request(Method::POST, &format!("/households/{}/reveal", h.id))
        .json(&json!({"reason": "核对低保材料", "member_id": h.members[1].id}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["cache-control"], "no-store");
    let revealed: RevealResponse = serde_json::from_value(body).unwrap();
    assert_eq!(revealed.members.len(), 1);
    assert_eq!(revealed.members[0].id_number, child_id.to_uppercase());
    let hid = h.id.to_string();
    let trail = app
        .state
        .db(move |conn| jiuzhu_server::audit::for_entity(conn, "household", &hid))
        .await
        .unwrap();
    let reveal = trail
        .iter()
        .find(|r| r.action == "household.reveal_id")
        .unwrap();
    assert!(reveal.detail.contains("核对低保材料"));
    assert!(
        !reveal.detail.contains(&child_id[6..14]),
        "the audit log holds the number"
    );
    let st = app.state.clone();
    let chain = app
        .state
        .db(move |conn| st.audit.verify(conn))
        .await
        .unwrap();
    assert!(chain.intact(), "{chain:?}");
    assert!(chain.rows >= 2);

    // Exact search by ID number goes through the blind index; name prefix; tag; status.
    let find = |q: Vec<(&'static str, String)>| {
        let c = coordinator.clone();
        async move {
            let res = c
                .request(Method::GET, "/households")
                .query(&q)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<jiuzhu_proto::page::Page<HouseholdSummary>>()
                .await
                .unwrap()
                .items
        }
    };
    assert_eq!(find(vec![("id_number", child_id.clone())]).await.len(), 1);
    assert_eq!(
        find(vec![("id_number", id_number("32040219500101003"))])
            .await
            .len(),
        0
    );
    assert_eq!(find(vec![("name", "王小".into())]).await.len(), 1);
    assert_eq!(
        find(vec![("name", "王%".into())]).await.len(),
        0,
        "LIKE wildcards must be escaped"
    );
    assert_eq!(find(vec![("tag", "独居老人".into())]).await.len(), 1);
    assert_eq!(find(vec![("status", "dibao".into())]).await.len(), 0);
    assert_eq!(find(vec![("grid_id", grid.id.to_string())]).await.len(), 1);
    let bad = coordinator
        .request(Method::GET, "/households")
        .query(&[("id_number", "123")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_text = bad.text().await.unwrap();
    assert!(!bad_text.contains("123\""), "{bad_text}");

    // Scope: the worker of another grid does not see it; it looks missing.
    let other = app.login("worker2").await;
    let res = other
        .request(Method::GET, &format!("/households/{}", h.id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let listed = other
        .request(Method::GET, "/households")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(&h.id.to_string()));
    let (status, _) = post(
        &other,
        &format!("/households/{}/reveal", h.id),
        &json!({"reason": "x y"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
both_backends!(create_read_reveal, create_read_reveal);

async fn no_plaintext_in_the_database(backend: Backend) {
    if backend != Backend::Sqlite {
        return;
    }
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (_, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let secret = id_number("32040219771203123");
    let (status, body) = post(
        &coordinator,
        "/households",
        &household(
            "某路 1 号",
            lat,
            lon,
            vec![member("李四", Relation::Head, &secret)],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let path = app.database_url.trim_start_matches("sqlite://").to_owned();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    let haystack = String::from_utf8_lossy(&bytes);
    assert!(
        !haystack.contains(&secret),
        "a plaintext ID number is in the database file"
    );
    assert!(
        !haystack.contains(&secret[6..14]),
        "the birth-date digits are stored in the clear next to something"
    );
    assert!(
        !haystack.contains("13812345678"),
        "a plaintext phone number is in the database file"
    );
}
both_backends!(no_plaintext, no_plaintext_in_the_database);

async fn conflicts_versions_overrides_status(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (grid, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let shared = id_number("32040219800202201");
    let (status, body) = post(
        &coordinator,
        "/households",
        &household(
            "甲户",
            lat,
            lon,
            vec![member("张一", Relation::Head, &shared)],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let first: Household = serde_json::from_value(body).unwrap();

    // The same number in a second household: refused, and reported as a conflict.
    let (status, body) = post(
        &coordinator,
        "/households",
        &household(
            "乙户",
            lat,
            lon,
            vec![
                member("张二", Relation::Head, &id_number("32040219810303303")),
                member("张一", Relation::Spouse, &shared),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        codes(&body),
        vec![(
            "members[1].id_number".to_string(),
            "id_number_conflict".to_string()
        )]
    );
    assert!(body.to_string().contains(&first.id.to_string()));
    let conflicts: Vec<IdConflict> = coordinator
        .request(Method::GET, "/households/conflicts")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].existing_household_id, first.id);
    assert!(!serde_json::to_string(&conflicts).unwrap().contains(&shared));
    let all: jiuzhu_proto::page::Page<HouseholdSummary> = coordinator
        .request(Method::GET, "/households")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1, "the refused household was half-written");

    // Versions: a stale update is refused and changes nothing.
    let path = format!("/households/{}", first.id);
    let (status, body) = patch(
        &coordinator,
        &path,
        &json!({"version": 1, "notes": "第一次走访"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2);
    let (status, body) = patch(&coordinator, &path, &json!({"version": 1, "notes": "覆盖"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let now: Household = coordinator
        .request(Method::GET, &path)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now.notes, "第一次走访");

    // Status history: dibao from a date, then edge; the first period is closed.
    let (status, body) = patch(&coordinator, &path, &json!({"version": 2, "status": "dibao", "status_since": "2026-01-01", "status_note": "审批通过"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = patch(
        &coordinator,
        &path,
        &json!({"version": 3, "status": "edge", "status_since": "2026-09-01"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let h: Household = serde_json::from_value(body).unwrap();
    assert_eq!(h.status, AssistanceStatus::Edge);
    assert_eq!(h.status_history.len(), 2);
    assert_eq!(h.status_history[0].status, AssistanceStatus::Dibao);
    assert_eq!(
        h.status_history[0].to.map(|d| d.to_string()).as_deref(),
        Some("2026-09-01")
    );
    assert_eq!(h.status_history[1].to, None);

    // A grid override by a coordinator is kept when the location changes, and recorded.
    let other_grid = coordinator
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Grid),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|g| g.id != grid.id)
        .unwrap();
    let (status, body) = patch(
        &coordinator,
        &path,
        &json!({"version": 4, "grid_id": other_grid.id}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["grid_id"], json!(other_grid.id));
    assert_eq!(body["grid_overridden"], true);
    let (status, body) = patch(
        &coordinator,
        &path,
        &json!({"version": 5, "location": {"lat": lat, "lon": lon}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["grid_id"],
        json!(other_grid.id),
        "the override was lost"
    );
    let (status, body) = patch(
        &coordinator,
        &path,
        &json!({"version": 6, "clear_grid_override": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["grid_id"], json!(grid.id));
    let hid = first.id.to_string();
    let trail = app
        .state
        .db(move |conn| jiuzhu_server::audit::for_entity(conn, "household", &hid))
        .await
        .unwrap();
    assert!(trail
        .iter()
        .any(|r| r.detail.contains("\"overridden\":true")));
    // Grid workers cannot override.
    let worker = app.login("worker1").await;
    let (status, _) = patch(
        &worker,
        &path,
        &json!({"version": 7, "grid_id": other_grid.id}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Members: add, patch, remove; one head always; a number already here is a conflict.
    let (status, body) = patch(&coordinator, &path, &json!({"version": 7, "add_members": [member("张三", Relation::Child, &id_number("32040220150505404"))]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let h: Household = serde_json::from_value(body).unwrap();
    assert_eq!(h.members.len(), 2);
    let child = h.members[1].id;
    let (status, body) = patch(
        &coordinator,
        &path,
        &json!({"version": 8, "add_members": [member("重复", Relation::Other, &shared)]}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = patch(
        &coordinator,
        &path,
        &json!({"version": 8, "update_members": [{"id": child, "relation": "head"}]}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "two heads: {body}"
    );
    let (status, body) = patch(&coordinator, &path, &json!({"version": 8, "update_members": [{"id": child, "health": "grave_illness", "disability_type": "physical", "disability_level": 2, "phone": null}]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["members"][1]["health"], "grave_illness");
    assert_eq!(body["members"][1]["phone_masked"], Value::Null);
    let (status, body) = patch(
        &coordinator,
        &path,
        &json!({"version": 9, "remove_members": [child]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["members"].as_array().unwrap().len(), 1);
}
both_backends!(conflicts_versions, conflicts_versions_overrides_status);

async fn bad_input_is_refused_with_field_errors(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (_, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let ok_head = id_number("32040219600101005");
    let future = id_number("32040220991231001");
    let with_bad_id = |raw: &str| {
        household(
            "地址",
            lat,
            lon,
            vec![
                member("户主", Relation::Head, &ok_head),
                member("成员", Relation::Spouse, raw),
            ],
        )
    };
    let valid = id_number("32040219700707007");
    let mut bad_check = valid.clone();
    bad_check.replace_range(17..18, if valid.ends_with('0') { "1" } else { "0" });
    for (raw, code) in [
        (&valid[..17], "wrong_length"),
        (&format!("{valid}1")[..], "wrong_length"),
        (&bad_check[..], "bad_check_character"),
        (&id_number("32040219990231001")[..], "impossible_birth_date"),
        (&future[..], "future_birth_date"),
        (&id_number("00000019700101001")[..], "invalid_region"),
        (
            &format!("{}\u{200b}{}", &valid[..9], &valid[9..])[..],
            "invalid_character",
        ),
    ] {
        let (status, body) = post(&coordinator, "/households", &with_bad_id(raw)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{raw}: {body}");
        assert_eq!(
            codes(&body),
            vec![("members[1].id_number".to_string(), code.to_string())],
            "{body}"
        );
        assert!(
            !body.to_string().contains(&raw[..12]),
            "the error echoes the number: {body}"
        );
    }
    // Full-width digits, lowercase x and 15-digit legacy numbers are normalised.
    let full_width: String = id_number("32040219650505006")
        .chars()
        .map(|c| {
            c.to_digit(10)
                .map_or(c, |d| char::from_u32(0xFF10 + d).unwrap_or(c))
        })
        .collect();
    let (status, body) = post(&coordinator, "/households", &with_bad_id(&full_width)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let legacy15 = "320402660606007";
    let (status, body) = post(
        &coordinator,
        "/households",
        &household(
            "旧证",
            lat,
            lon,
            vec![member("老人", Relation::Head, legacy15)],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["members"][0]["birth_date"], "1966-06-06");
    // A birth date or gender that contradicts the number.
    let mut m = member("户主", Relation::Head, &id_number("32040219900101009"));
    m.birth_date = Some("1990-01-02".parse().unwrap());
    m.gender = Some(Gender::Female);
    let (status, body) = post(
        &coordinator,
        "/households",
        &household("x", lat, lon, vec![m]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let c = codes(&body);
    assert!(
        c.contains(&("members[0].birth_date".into(), "mismatch".into()))
            && c.contains(&("members[0].gender".into(), "mismatch".into())),
        "{c:?}"
    );

    // Incomes: negative refused; "1,000" and NaN are not numbers at all.
    let mut m = member("户主", Relation::Head, &id_number("32040219900101017"));
    m.annual_income.wages_fen = -1;
    let (status, body) = post(
        &coordinator,
        "/households",
        &household("x", lat, lon, vec![m]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        codes(&body),
        vec![(
            "members[0].annual_income.wages_fen".to_string(),
            "out_of_range".to_string()
        )]
    );
    let mut raw = serde_json::to_value(household(
        "x",
        lat,
        lon,
        vec![member(
            "户主",
            Relation::Head,
            &id_number("32040219900101025"),
        )],
    ))
    .unwrap();
    for bad in [json!("1,000"), json!("NaN"), json!(1.5)] {
        raw["members"][0]["annual_income"]["wages_fen"] = bad.clone();
        let (status, body) = post(&coordinator, "/households", &raw).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    // Names: 300 characters refused; emoji, 4-byte CJK and bidi marks stored intact.
    let (status, body) = post(
        &coordinator,
        "/households",
        &household(
            "x",
            lat,
            lon,
            vec![member(
                &"长".repeat(300),
                Relation::Head,
                &id_number("32040219900101033"),
            )],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        codes(&body),
        vec![("members[0].name".to_string(), "too_long".to_string())]
    );
    for name in [
        "𠀀𪚥王",
        "李🙂",
        "\u{202e}abc\u{202c}",
        "阿卜杜热合曼·买买提",
    ] {
        let id = id_number(&format!(
            "32040219900102{:03}",
            100 + name.chars().count() * 7 + name.len()
        ));
        let (status, body) = post(
            &coordinator,
            "/households",
            &household("x", lat, lon, vec![member(name, Relation::Head, &id)]),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        assert_eq!(body["members"][0]["name"], name);
    }
    // Structure: no head, two heads, a location outside every grid, NaN coordinates, unknown fields.
    let (status, body) = post(
        &coordinator,
        "/households",
        &household(
            "x",
            lat,
            lon,
            vec![member(
                "甲",
                Relation::Spouse,
                &id_number("32040219900101041"),
            )],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        codes(&body),
        vec![("members".to_string(), "one_head".to_string())]
    );
    let (status, body) = post(
        &coordinator,
        "/households",
        &household(
            "x",
            45.0,
            100.0,
            vec![member(
                "甲",
                Relation::Head,
                &id_number("32040219900101068"),
            )],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        codes(&body),
        vec![("location".to_string(), "outside_all_grids".to_string())]
    );
    let (status, _) = post(
        &coordinator,
        "/households",
        &household(
            "x",
            91.0,
            100.0,
            vec![member(
                "甲",
                Relation::Head,
                &id_number("32040219900101076"),
            )],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut raw = serde_json::to_value(household(
        "x",
        lat,
        lon,
        vec![member(
            "甲",
            Relation::Head,
            &id_number("32040219900101084"),
        )],
    ))
    .unwrap();
    raw["members"][0]["favourite_colour"] = json!("red");
    let (status, body) = post(&coordinator, "/households", &raw).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "unknown_field");
    // Unknown-region warning: saved, with a warning.
    let (status, body) = post(
        &coordinator,
        "/households",
        &household(
            "x",
            lat,
            lon,
            vec![member(
                "甲",
                Relation::Head,
                &id_number("32000019900101092"),
            )],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["warnings"],
        json!(["members[0].id_number: unknown_region"])
    );
    // A location outside the caller's scope (another community's grid) is refused.
    let admin = app.login("admin").await;
    let far_grid = admin
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Grid),
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .pop()
        .unwrap();
    let mut h = household(
        "x",
        lat,
        lon,
        vec![member(
            "甲",
            Relation::Head,
            &id_number("32040219900101105"),
        )],
    );
    h.grid_id = Some(far_grid.id);
    let (status, body) = post(&coordinator, "/households", &h).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        codes(&body),
        vec![("grid_id".to_string(), "unknown_grid".to_string())]
    );
}
both_backends!(bad_input, bad_input_is_refused_with_field_errors);

async fn keyset_pagination_is_stable(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (_, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    for i in 0..12 {
        let (status, body) = post(
            &coordinator,
            "/households",
            &household(
                &format!("{i} 号"),
                lat,
                lon,
                vec![member(
                    "户主",
                    Relation::Head,
                    &id_number(&format!("32040219800101{i:03}")),
                )],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut req = coordinator
            .request(Method::GET, "/households")
            .query(&[("limit", "5")]);
        if let Some(a) = &after {
            req = req.query(&[("after", a)]);
        }
        let page: jiuzhu_proto::page::Page<HouseholdSummary> =
            req.send().await.unwrap().json().await.unwrap();
        seen.extend(page.items.into_iter().map(|h| h.id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let before_demo_count = seen.len();
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a household appeared twice");
    assert!(before_demo_count >= 12);
    let res = coordinator
        .request(Method::GET, "/households")
        .query(&[("after", "!!not-a-key")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
both_backends!(keyset_pagination, keyset_pagination_is_stable);

async fn boundary_change_moves_located_households_only(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (grid, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let (status, body) = post(
        &coordinator,
        "/households",
        &household(
            "随位置",
            lat,
            lon,
            vec![member(
                "甲",
                Relation::Head,
                &id_number("32040219700101111"),
            )],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let follows: Household = serde_json::from_value(body).unwrap();
    let mut pinned = household(
        "人工指定",
        lat,
        lon,
        vec![member(
            "乙",
            Relation::Head,
            &id_number("32040219700101129"),
        )],
    );
    pinned.grid_id = Some(grid.id);
    let (status, body) = post(&coordinator, "/households", &pinned).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let pinned: Household = serde_json::from_value(body).unwrap();
    assert!(pinned.grid_overridden);

    // Shrink the grid away from the point and put a new grid of the same community around it.
    let community_code = &grid.code[..12];
    let sq = |lon0: f64, lat0: f64, d: f64| json!({"type": "Polygon", "coordinates": [[[lon0 - d, lat0 - d], [lon0 + d, lat0 - d], [lon0 + d, lat0 + d], [lon0 - d, lat0 + d], [lon0 - d, lat0 - d]]]});
    let fc = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": grid.code, "name": grid.name}, "geometry": sq(121.9, 30.9, 0.001)},
        {"type": "Feature", "properties": {"code": format!("{community_code}998"), "name": "新网格"}, "geometry": sq(lon, lat, 0.0005)},
    ]});
    let admin = app.login("admin").await;
    let report = admin
        .import_org_units(Crs::Wgs84, fc.to_string())
        .await
        .unwrap();
    assert_eq!((report.created, report.updated), (1, 1));
    let moved: Household = coordinator
        .request(Method::GET, &format!("/households/{}", follows.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(moved.grid_code, format!("{community_code}998"));
    assert_eq!(moved.version, follows.version + 1);
    let kept: Household = coordinator
        .request(Method::GET, &format!("/households/{}", pinned.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        kept.grid_id, grid.id,
        "an override must survive boundary changes"
    );
}
both_backends!(
    boundary_change_regrids,
    boundary_change_moves_located_households_only
);

async fn concurrent_creates_never_duplicate_a_number(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (_, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let shared = id_number("32040219880808808");
    let mut tasks = Vec::new();
    for i in 0..4 {
        let c = coordinator.clone();
        let mut h = household(
            &format!("{i} 号"),
            lat,
            lon,
            vec![member("同号", Relation::Head, &shared)],
        );
        h.external_id = Some("same-external".into());
        tasks.push(tokio::spawn(
            async move { post(&c, "/households", &h).await.0 },
        ));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    // The duplicate's path names the member as sent, even after an invalid one.
    let ok = id_number("32040219880808816");
    let h = household(
        "x",
        lat,
        lon,
        vec![
            member("坏", Relation::Spouse, "123"),
            member("头", Relation::Head, &ok),
            member("重", Relation::Child, &ok),
        ],
    );
    let (status, body) = post(&coordinator, "/households", &h).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let c = codes(&body);
    assert!(
        c.contains(&(
            "members[2].id_number".to_string(),
            "duplicate_in_household".to_string()
        )),
        "{c:?}"
    );
}
both_backends!(
    concurrent_creates,
    concurrent_creates_never_duplicate_a_number
);
