//! Proactive discovery to decision, end to end: a visit's answers fire the rules, a finding is
//! converted into an application that every role carries through the dibao workflow; a
//! citizen's self-report reaches the right worker and becomes a finding; scope, order, roles,
//! races, deadlines and bad rules.

use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::application::{Action, Application, Transition};
use jiuzhu_proto::household::Relation;
use jiuzhu_proto::task::{CreateTask, TaskKind};
use jiuzhu_proto::visit::{LocationFix, ReviewDecision, ReviewVisit, SubmitVisit};
use jiuzhu_tests::fixtures::{coordinator_grid, household, id_number, member, post_json};
use jiuzhu_tests::{both_backends, spawn_app_with, Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn get_json(client: &Client, path: &str) -> (StatusCode, Value) {
    let res = client.request(Method::GET, path).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn step(client: &Client, app: uuid::Uuid, t: &Transition) -> (StatusCode, Value) {
    post_json(
        client,
        &format!("/applications/{app}/transition"),
        serde_json::to_value(t).unwrap(),
    )
    .await
}

async fn ok_step(client: &Client, app: uuid::Uuid, t: Transition) -> Application {
    let (status, body) = step(client, app, &t).await;
    assert_eq!(status, StatusCode::OK, "{:?}: {body}", t.action);
    serde_json::from_value(body).unwrap()
}

fn code(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("")
}

/// A home-visit answer set (`fixtures/forms/home_visit.xlsx`): three members earning 20,000
/// yuan a year in all, 9,000 yuan of medical out-of-pocket spending (45 % of income, under
/// X = 10,000 yuan, so only the share rule can fire). `day` is the visit's date: the day in
/// Shanghai on which it started (the form refuses a date after that).
fn home_visit_answers(lat: f64, lon: f64, day: NaiveDate) -> Value {
    const PHOTO: &str = "0190a6e2-7c1b-7d4e-9a3f-2b5c6d7e8f90";
    let member = |name: &str, relation: &str, id: &str, born: &str, wages: i64| {
        json!({
            "member_name": name, "relation": relation, "id_number": id, "birth_date": born,
            "health": "healthy", "disability_level": "none", "work_status": "employed",
            "income_wages": wages,
        })
    };
    json!({
        "visit_date": day.to_string(),
        "dibao_investigation": "yes",
        "staff_present": ["staff_01", "staff_02"],
        "location": {"lat": lat, "lon": lon},
        "members": [
            member("张伟", "head", &id_number("32040219750302001"), "1975-03-02", 12000),
            member("刘丽", "spouse", &id_number("32040219781120002"), "1978-11-20", 6000),
            {
                "member_name": "张奶奶", "relation": "parent",
                "id_number": id_number("32040219480101003"), "birth_date": "1948-01-01",
                "health": "grave_illness", "disability_level": "none",
                "adl_eating": "able", "adl_dressing": "unable", "adl_transfer": "able",
                "adl_toileting": "able", "adl_walking": "able", "adl_bathing": "unable",
                "work_status": "unable_to_work", "income_pension": 2000
            }
        ],
        "housing_type": "owned", "housing_area": 62.5, "safety_grade": "b",
        "vehicles": 0, "savings": 3000, "medical_oop_12m": 9000, "school_oop_12m": 0,
        "hardship_causes": ["illness"], "illness_detail": "老人脑梗后长期卧床",
        "house_photo": PHOTO, "staff_signature": PHOTO, "family_signature": PHOTO,
    })
}

struct City {
    app: TestApp,
    coordinator: Client,
    worker1: Client,
    street: Client,
    district: Client,
    admin: Client,
    lat: f64,
    lon: f64,
}

async fn city(backend: Backend) -> Option<City> {
    let app = spawn_app_with(backend, |s| s.discovery.sms_sender = "file".into()).await?;
    app.load_demo().await;
    let (_, lat, lon) = coordinator_grid(&app).await;
    Some(City {
        coordinator: app.login("coordinator").await,
        worker1: app.login("worker1").await,
        street: app.login("street").await,
        district: app.login("district").await,
        admin: app.login("admin").await,
        app,
        lat,
        lon,
    })
}

impl City {
    /// A registered household of two earners (registry: 36,000 yuan each a year).
    async fn household(&self, n: u32) -> uuid::Uuid {
        let h = household(
            &format!("青龙街道 {n} 号"),
            self.lat,
            self.lon,
            vec![
                member(
                    "户主",
                    Relation::Head,
                    &id_number(&format!("32040219700101{n:03}")),
                ),
                member(
                    "配偶",
                    Relation::Spouse,
                    &id_number(&format!("32040219720101{:03}", n + 500)),
                ),
            ],
        );
        self.coordinator.create_household(&h).await.unwrap().id
    }

    /// A home visit by worker1 with the coordinator present, accepted by the coordinator.
    async fn accepted_visit(&self, household: uuid::Uuid, kind: TaskKind) -> uuid::Uuid {
        let me = self.worker1.me().await.unwrap();
        let task = match kind {
            TaskKind::Verify => {
                // The self-report's task, found on the worker's next sync.
                let page = self.worker1.sync(None).await.unwrap();
                page.tasks
                    .into_iter()
                    .find(|t| t.household_id == household && t.kind == TaskKind::Verify)
                    .expect("the verify task is on the worker's phone")
            }
            _ => self
                .coordinator
                .create_task(&CreateTask {
                    kind,
                    household_id: household,
                    form_key: "home_visit".into(),
                    assignee_id: Some(me.id),
                    due_date: (Utc::now() + Duration::days(7)).date_naive(),
                    priority: 0,
                    note: String::new(),
                })
                .await
                .unwrap(),
        };
        let coordinator = self.coordinator.me().await.unwrap();
        let now = Utc::now();
        let started_at = now - Duration::minutes(40);
        let visit = SubmitVisit {
            id: uuid::Uuid::now_v7(),
            task_id: task.id,
            form_key: "home_visit".into(),
            form_version: task.form_version.unwrap_or(1),
            answers: home_visit_answers(
                self.lat,
                self.lon,
                (started_at + Duration::hours(8)).date_naive(),
            ),
            location: LocationFix {
                lat: self.lat,
                lon: self.lon,
                accuracy_m: 8.0,
                crs: None,
                fix_time: now - Duration::minutes(20),
                mock: false,
            },
            started_at,
            finished_at: now - Duration::minutes(5),
            photo_ids: vec![],
            staff: vec![coordinator.id],
            supersedes: None,
        };
        self.worker1.submit_visit(&visit).await.unwrap();
        self.coordinator
            .review_visit(
                visit.id,
                &ReviewVisit {
                    decision: ReviewDecision::Approved,
                    note: String::new(),
                },
            )
            .await
            .unwrap();
        visit.id
    }

    async fn findings(&self, client: &Client, query: &str) -> Vec<Value> {
        let (status, body) = get_json(client, &format!("/findings?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Moves the notice's last day (and so the current step's limit) into the past: what seven
    /// days of waiting would do.
    async fn let_time_pass(&self, app: uuid::Uuid, notice_ended: bool) {
        let id = app.to_string();
        let yesterday = (Utc::now() + Duration::hours(8) - Duration::days(1)).date_naive();
        self.app
            .state
            .db(move |conn| {
                let (sql, day) = if notice_ended {
                    (
                        "UPDATE applications SET notice_ends_on = $1 WHERE id = $2",
                        yesterday - Duration::days(1),
                    )
                } else {
                    (
                        "UPDATE applications SET step_due = $1 WHERE id = $2",
                        yesterday,
                    )
                };
                diesel::sql_query(sql)
                    .bind::<diesel::sql_types::Date, _>(day)
                    .bind::<diesel::sql_types::Text, _>(&id)
                    .execute(conn)?;
                Ok(())
            })
            .await
            .unwrap();
    }
}

async fn visit_to_approval(backend: Backend) {
    let Some(c) = city(backend).await else { return };
    let household = c.household(1).await;
    // Registry incomes are comfortable: no finding on registration.
    assert!(c
        .findings(&c.coordinator, &format!("household_id={household}"))
        .await
        .is_empty());

    let visit = c.accepted_visit(household, TaskKind::Visit).await;
    let found = c
        .findings(
            &c.coordinator,
            &format!("household_id={household}&type=illness"),
        )
        .await;
    assert_eq!(found.len(), 1, "{found:?}");
    let illness = &found[0];
    assert_eq!(illness["state"], "open");
    assert_eq!(illness["source"], "visit");
    assert_eq!(illness["source_id"], visit.to_string());
    assert_eq!(illness["rule_id"], "illness");
    assert_eq!(illness["rule_version"], 1);
    assert_eq!(illness["inputs"]["medical_oop_12m"], 9000.0);
    assert_eq!(illness["inputs"]["household_income"], 20000.0);
    assert_eq!(illness["inputs"]["p"], 0.4);
    assert_eq!(illness["computed"]["oop_share"], 0.45);
    assert_eq!(illness["categories"], json!(["medical", "temporary"]));
    // pc = 20,000 / 3 / 12 = 555.56 yuan against S = 1,010: a dibao finding with its evidence.
    let dibao = c
        .findings(
            &c.coordinator,
            &format!("household_id={household}&type=possible_dibao"),
        )
        .await;
    assert_eq!(dibao.len(), 1);
    assert_eq!(dibao[0]["inputs"]["pc"], 555.56);
    assert_eq!(dibao[0]["inputs"]["s"], 1010.0);

    // Evaluating again refreshes the open finding instead of opening a second one.
    let (status, outcomes) = post_json(
        &c.coordinator,
        &format!("/households/{household}/evaluate"),
        json!(null),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{outcomes}");
    assert!(outcomes
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["rule_id"] == "illness" && o["result"] == "fired"));
    assert_eq!(
        c.findings(
            &c.coordinator,
            &format!("household_id={household}&type=illness")
        )
        .await
        .len(),
        1
    );

    // Dismissing needs a reason.
    let dibao_id = dibao[0]["id"].as_str().unwrap();
    let (status, body) = post_json(
        &c.coordinator,
        &format!("/findings/{dibao_id}/dismiss"),
        json!({"reason": "  "}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Converted into one application asking for dibao and medical assistance (一键联办).
    let illness_id = illness["id"].as_str().unwrap();
    let (status, body) = post_json(
        &c.coordinator,
        &format!("/findings/{illness_id}/convert"),
        json!({"categories": ["dibao", "medical"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app: Application = serde_json::from_value(body).unwrap();
    assert_eq!(app.state.as_str(), "submitted");
    assert_eq!(
        app.finding_id.map(|f| f.to_string()).as_deref(),
        Some(illness_id)
    );
    let routed: Vec<(String, String, String)> = app
        .categories
        .iter()
        .map(|c| {
            (
                c.category.as_str().into(),
                c.department.as_str().into(),
                c.status.as_str().into(),
            )
        })
        .collect();
    assert!(routed.contains(&("dibao".into(), "civil_affairs".into(), "in_progress".into())));
    assert!(routed.contains(&(
        "medical".into(),
        "medical_insurance".into(),
        "referred".into()
    )));
    let (status, body) = post_json(
        &c.coordinator,
        &format!("/findings/{illness_id}/convert"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "converted twice: {body}");

    let a = app.id;
    // What each role is offered at this step: the street accepts or returns, the district and
    // the coordinator have nothing to do yet.
    let offered = |body: &Value| -> Vec<String> {
        body["allowed_actions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["action"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (_, body) = get_json(&c.street, &format!("/applications/{a}")).await;
    let street_offer = offered(&body);
    assert!(street_offer.contains(&"accept".to_owned()), "{body}");
    assert!(street_offer.contains(&"return".to_owned()), "{body}");
    assert!(!street_offer.contains(&"approve".to_owned()), "{body}");
    let returning = body["allowed_actions"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["action"] == "return"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(returning["needs"], json!(["note"]));
    let (_, body) = get_json(&c.district, &format!("/applications/{a}")).await;
    assert!(!offered(&body).contains(&"accept".to_owned()), "{body}");
    let (_, body) = get_json(&c.coordinator, &format!("/applications/{a}")).await;
    assert!(offered(&body).is_empty(), "{body}");
    // Out of order, wrong role, wrong level.
    let (status, body) = step(&c.district, a, &Transition::new(Action::Approve)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "invalid_transition");
    let (status, body) = step(&c.coordinator, a, &Transition::new(Action::Accept)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = step(&c.district, a, &Transition::new(Action::Accept)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = step(&c.admin, a, &Transition::new(Action::Accept)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Two officers accept at once: exactly one wins.
    let street2 = c.app.login("street").await;
    let accept = Transition::new(Action::Accept);
    let (r1, r2) = tokio::join!(step(&c.street, a, &accept), step(&street2, a, &accept));
    let mut statuses = [r1.0, r2.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{r1:?} {r2:?}"
    );

    let after = ok_step(&c.street, a, Transition::new(Action::Investigate)).await;
    assert!(after.step_due.is_some() && after.total_due.is_some());
    assert!(!after.overdue);
    // The investigation cannot end without the data check, nor with a one-person visit.
    let mut finish = Transition::new(Action::FinishInvestigation);
    finish.visit_id = Some(visit);
    let (status, body) = step(&c.street, a, &finish).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"][0]["field"], "data_check");
    let mut check = Transition::new(Action::RecordDataCheck);
    check.data_check = Some(jiuzhu_proto::application::DataCheck {
        passed: true,
        reference: "HD-2026-0001".into(),
    });
    ok_step(&c.coordinator, a, check).await;
    let after = ok_step(&c.street, a, finish).await;
    assert_eq!(after.visit_id, Some(visit));
    let after = ok_step(&c.street, a, Transition::new(Action::StartNotice)).await;
    assert!(after.notice_ends_on.is_some());
    // The district cannot decide before the 7-day notice has run: offered, but blocked, with why.
    let (_, body) = get_json(&c.district, &format!("/applications/{a}")).await;
    let approve_offer = body["allowed_actions"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["action"] == "approve"))
        .cloned()
        .unwrap_or_default();
    assert!(
        approve_offer["blocked"]
            .as_str()
            .unwrap_or_default()
            .contains("公示期未满"),
        "{body}"
    );
    let (status, body) = step(&c.district, a, &Transition::new(Action::Approve)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    c.let_time_pass(a, true).await;
    // The street may not approve unless the district delegated.
    let (status, _) = step(&c.street, a, &Transition::new(Action::Approve)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut approve = Transition::new(Action::Approve);
    approve.public_note = "经审核，符合低保条件 / approved".into();
    let approved = ok_step(&c.district, a, approve).await;
    assert_eq!(approved.state.as_str(), "approved");
    let dibao_status = approved
        .categories
        .iter()
        .find(|c| c.category.as_str() == "dibao")
        .map(|c| c.status.as_str());
    assert_eq!(dibao_status, Some("granted"));
    let mut medical = Transition::new(Action::UpdateCategory);
    medical.category = Some(jiuzhu_proto::application::Category::Medical);
    medical.category_status = Some(jiuzhu_proto::application::CategoryStatus::Granted);
    ok_step(&c.district, a, medical).await;
    ok_step(&c.street, a, Transition::new(Action::Activate)).await;
    let mut exit = Transition::new(Action::StartExit).note("户主再就业，收入超过标准");
    exit.exit_months = Some(7);
    let (status, _) = step(&c.street, a, &exit).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "exit beyond 6 months"
    );
    exit.exit_months = Some(6);
    ok_step(&c.street, a, exit).await;
    let closed = ok_step(
        &c.district,
        a,
        Transition::new(Action::Close).note("渐退期满"),
    )
    .await;
    assert_eq!(closed.state.as_str(), "closed");
    let path: Vec<&str> = closed.timeline.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(
        path,
        [
            "submitted",
            "accepted",
            "investigating",
            "investigating",
            "first_review",
            "public_notice",
            "approved",
            "approved",
            "active",
            "gradual_exit",
            "closed"
        ]
    );
    // Every step is in the audit log.
    let id = a.to_string();
    let audited: i64 = c
        .app
        .state
        .db(move |conn| {
            #[derive(QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let count: Count =
                diesel::sql_query("SELECT COUNT(*) AS n FROM audit_log WHERE entity_id = $1")
                    .bind::<diesel::sql_types::Text, _>(&id)
                    .get_result(conn)?;
            Ok(count.n)
        })
        .await
        .unwrap();
    assert_eq!(audited, 11);

    // A second application, refused with a written reason after an objection.
    let (status, body) = post_json(
        &c.coordinator,
        "/applications",
        json!({"household_id": household, "categories": ["dibao"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let b: Application = serde_json::from_value(body).unwrap();
    for action in [Action::Accept, Action::Investigate] {
        ok_step(&c.street, b.id, Transition::new(action)).await;
    }
    let mut check = Transition::new(Action::RecordDataCheck);
    check.data_check = Some(jiuzhu_proto::application::DataCheck {
        passed: false,
        reference: "HD-2026-0002".into(),
    });
    ok_step(&c.street, b.id, check).await;
    let mut finish = Transition::new(Action::FinishInvestigation);
    finish.visit_id = Some(visit);
    ok_step(&c.street, b.id, finish).await;
    ok_step(&c.street, b.id, Transition::new(Action::StartNotice)).await;
    let (status, _) = step(
        &c.coordinator,
        b.id,
        &Transition::new(Action::RecordObjection),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an objection is written down"
    );
    ok_step(
        &c.coordinator,
        b.id,
        Transition::new(Action::RecordObjection).note("邻居反映其有经营收入"),
    )
    .await;
    c.let_time_pass(b.id, true).await;
    let (status, body) = step(&c.district, b.id, &Transition::new(Action::Approve)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"][0]["field"], "objections");
    ok_step(
        &c.street,
        b.id,
        Transition::new(Action::DemocraticReview).note("民主评议：多数认为收入超标"),
    )
    .await;
    let (status, body) = step(&c.district, b.id, &Transition::new(Action::Refuse)).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a refusal needs its reason: {body}"
    );
    let refused = ok_step(
        &c.district,
        b.id,
        Transition::new(Action::Refuse).note("核对发现家庭经营性收入超过低保标准"),
    )
    .await;
    assert_eq!(refused.state.as_str(), "refused");
    let last = refused.timeline.last().unwrap();
    assert_eq!(last.public_note, "核对发现家庭经营性收入超过低保标准");
    let (status, _) = step(&c.district, b.id, &Transition::new(Action::Approve)).await;
    assert_eq!(status, StatusCode::CONFLICT, "refused is final");
}
both_backends!(
    visit_finding_application_approval_and_refusal,
    visit_to_approval
);

async fn self_report_to_finding(backend: Backend) {
    let Some(c) = city(backend).await else { return };
    let anon = c.app.client();
    // Register: a code goes to the phone (the test's SMS sender spools it).
    let (status, body) = post_json(
        &anon,
        "/citizen/register",
        json!({"phone": "139 1234 5678", "password": "Citizen-pass-2026"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["phone_masked"], "139****5678");
    let outbox = c.app.state.settings.data_dir.join("sms-outbox.jsonl");
    let line = std::fs::read_to_string(&outbox).unwrap();
    let sent: Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
    let sms_code = sent["code"].as_str().unwrap().to_owned();
    let (status, body) = post_json(
        &anon,
        "/citizen/verify",
        json!({"phone": "13912345678", "code": "000000x"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(code(&body), "verification_failed");
    let (status, body) = post_json(
        &anon,
        "/citizen/verify",
        json!({"phone": "13912345678", "code": sms_code}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The number is stored nowhere in clear; logging in with it works.
    let citizen = anon
        .clone()
        .with_token(body["access_token"].as_str().unwrap());
    let mut again = c.app.client();
    again
        .login("13912345678", "Citizen-pass-2026", None)
        .await
        .unwrap();
    let (status, _) = post_json(
        &anon,
        "/citizen/register",
        json!({"phone": "13912345678", "password": "Citizen-pass-2026"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // A rule on what a report registers (a household of no members yet): it runs when the report
    // writes the household, as on every write of a household's facts.
    let (status, body) = put_json(
        &c.admin,
        "/rules/reported_unverified",
        json!({"id": "reported_unverified", "title": {"zh": "自报待核实", "en": "Reported, unverified"},
               "categories": ["temporary"], "when": "${member_count} = 0"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A report from the mini-program, in GCJ-02, inside worker1's grid.
    use jiuzhu_server::domain::geo;
    let gcj = geo::from_wgs84(geo::LatLon::new(c.lat, c.lon).unwrap(), geo::Crs::Gcj02);
    let (status, body) = post_json(
        &citizen,
        "/self-reports",
        json!({
            "description": "邻居老人独居，生病无人照顾",
            "category_hint": "temporary",
            "location": {"lat": gcj.lat(), "lon": gcj.lon()},
            "contact_phone": "13912345678",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "verifying");
    let report_id = body["id"].as_str().unwrap().to_owned();
    let found = c.findings(&c.coordinator, "type=self_report").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let household: uuid::Uuid = found[0]["household_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(found[0]["self_report_id"], report_id);
    let fired = c
        .findings(
            &c.coordinator,
            &format!("household_id={household}&type=reported_unverified"),
        )
        .await;
    assert_eq!(fired.len(), 1, "the rules ran on the reported household");
    assert_eq!(fired[0]["source"], "household");

    // worker1's next sync carries the verify task; the visit is accepted; the rules find.
    c.accepted_visit(household, TaskKind::Verify).await;
    let kinds: Vec<String> = c
        .findings(&c.coordinator, &format!("household_id={household}"))
        .await
        .iter()
        .map(|f| f["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.contains(&"illness".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"self_report".to_owned()));

    // The citizen sees status and public notes only.
    let (status, mine) = get_json(&citizen, "/my/self-reports").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let keys: Vec<&String> = mine[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["category_hint", "created_at", "id", "public_note", "status"]
    );
    let illness = c
        .findings(
            &c.coordinator,
            &format!("household_id={household}&type=illness"),
        )
        .await;
    let id = illness[0]["id"].as_str().unwrap();
    let (status, _) = post_json(
        &c.coordinator,
        &format!("/findings/{id}/convert"),
        json!({"note": "内部：疑似有隐性收入，需重点核查"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, apps) = get_json(&citizen, "/my/applications").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(apps.as_array().unwrap().len(), 1);
    assert!(
        !apps.to_string().contains("隐性收入"),
        "internal notes never reach the family"
    );
    // Staff endpoints stay closed to citizens.
    let (status, _) = get_json(&citizen, "/findings").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = get_json(&citizen, "/applications").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Outside every grid: accepted into the city's queue, never lost.
    let (status, body) = post_json(
        &citizen,
        "/self-reports",
        json!({
            "description": "外地务工返乡，家中失火",
            "location": {"lat": 39.9, "lon": 116.4},
            "contact_phone": "13912345678",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "received");
    let queued = c.findings(&c.admin, "type=self_report&state=open").await;
    assert!(
        queued.iter().any(|f| f["household_id"].is_null()),
        "{queued:?}"
    );
    let coordinator_sees = c.findings(&c.coordinator, "type=self_report").await;
    assert!(coordinator_sees
        .iter()
        .all(|f| !f["household_id"].is_null()));
    // Bad reports: nothing written.
    let (status, body) = post_json(
        &citizen,
        "/self-reports",
        json!({"description": "", "location": {"lat": 95.0, "lon": 116.4}, "contact_phone": "123"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, mine) = get_json(&citizen, "/my/self-reports").await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
}
both_backends!(citizen_self_report_to_finding, self_report_to_finding);

async fn scope_and_deadlines(backend: Backend) {
    let Some(c) = city(backend).await else { return };
    let household = c.household(7).await;
    let (status, body) = post_json(
        &c.coordinator,
        "/applications",
        json!({"household_id": household, "categories": ["dibao", "housing"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app: Application = serde_json::from_value(body).unwrap();
    ok_step(&c.street, app.id, Transition::new(Action::Accept)).await;

    // A street officer of another street sees nothing and moves nothing.
    let streets = c
        .admin
        .org_units(&jiuzhu_mobile_api::client::OrgUnitQuery {
            kind: Some(jiuzhu_proto::org::OrgKind::Street),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    let mine = c.street.me().await.unwrap();
    let other = streets.iter().find(|s| s.id != mine.org_unit_id).unwrap();
    c.admin
        .create_user(&jiuzhu_proto::user::CreateUser {
            username: "street.other".into(),
            display_name: "另一街道".into(),
            role: jiuzhu_proto::user::Role::StreetOfficer,
            org_unit_id: other.id,
            password: "Street-two-2026!".into(),
        })
        .await
        .unwrap();
    let mut stranger = c.app.client();
    stranger
        .login("street.other", "Street-two-2026!", None)
        .await
        .unwrap();
    let (status, _) = get_json(&stranger, &format!("/applications/{}", app.id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = step(&stranger, app.id, &Transition::new(Action::Investigate)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = get_json(&stranger, "/applications").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let unmoved = ok_step(&c.street, app.id, Transition::new(Action::Investigate)).await;
    assert_eq!(unmoved.timeline.len(), 3);

    // A passed deadline shows in every list.
    let (_, list) = get_json(&c.coordinator, "/applications?overdue=true").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    c.let_time_pass(app.id, false).await;
    let (_, list) = get_json(&c.coordinator, "/applications?overdue=true").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["overdue"], true);
    let (_, one) = get_json(&c.district, &format!("/applications/{}", app.id)).await;
    assert_eq!(one["overdue"], true);

    // The exports of findings and applications follow the same scope.
    for (client, visible) in [(&c.coordinator, true), (&stranger, false)] {
        let res = client
            .request(Method::GET, "/exports/applications")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.unwrap();
        assert!(text.contains("application_id"), "{text}");
        assert_eq!(text.contains(&app.id.to_string()), visible, "{text}");
        if visible {
            assert!(text.contains("dibao:in_progress"), "{text}");
        }
    }
    let res = c
        .coordinator
        .request(Method::GET, "/exports/findings?format=geojson")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["features"].is_array(), "{doc}");
}
both_backends!(other_streets_and_overdue_deadlines, scope_and_deadlines);

async fn rules_and_standards(backend: Backend) {
    let Some(c) = city(backend).await else { return };
    // A rule with an unknown field and a cycle is refused with every problem; nothing stored.
    let (status, body) = put_json(
        &c.admin,
        "/rules/possible_dibao",
        json!({
            "id": "possible_dibao", "title": {"zh": "疑似低保", "en": "dibao"},
            "categories": ["dibao"],
            "values": [{"name": "a", "expr": "${b} + 1"}, {"name": "b", "expr": "${a} + 1"}],
            "when": "${pcc} < ${s}"
        }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"when"), "{fields:?}");
    assert!(
        fields.iter().any(|f| f.starts_with("values[")),
        "{fields:?}"
    );
    let (status, _) = put_json(
        &c.coordinator,
        "/rules/possible_dibao",
        json!({"id": "possible_dibao", "title": {"zh": "x"}, "categories": [], "when": "true"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An edit is a new version.
    let (status, body) = put_json(
        &c.admin,
        "/rules/housing",
        json!({"id": "housing", "title": {"zh": "住房困难", "en": "Housing"},
               "categories": ["housing"], "when": "${safety_grade} = 'd'"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2);

    // A standard recorded without S: the rules that need S report it instead of guessing.
    let today = (Utc::now() + Duration::hours(8)).date_naive();
    let (status, body) = put_json(
        &c.admin,
        "/standards",
        json!({"district_code": "320402", "effective_from": today, "d_urban": 76000,
               "d_rural": 45000, "k": 1.5, "r": 0.6, "x": 10000, "p": 0.4}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let household = c.household(9).await;
    let (_, outcomes) = post_json(
        &c.coordinator,
        &format!("/households/{household}/evaluate"),
        json!(null),
    )
    .await;
    let dibao = outcomes
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule_id"] == "possible_dibao")
        .unwrap();
    assert_eq!(dibao["result"], "standard_missing");
    assert_eq!(dibao["missing"], json!(["s"]));
    let (_, gaps) = get_json(&c.district, "/rules/gaps").await;
    assert!(gaps
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["rule_id"] == "possible_dibao" && g["district_code"] == "320402"));
    let (status, _) = put_json(
        &c.admin,
        "/standards",
        json!({"district_code": "320402", "effective_from": today, "k": -1.0}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
both_backends!(rule_checks_versions_and_standard_gaps, rules_and_standards);

async fn put_json(client: &Client, path: &str, body: Value) -> (StatusCode, Value) {
    let res = client
        .request(Method::PUT, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The demo's SMS sender shows a code to the demo page and nowhere else: another sender's
/// server answers 404, and so does a number no code was sent to.
async fn demo_sms_code(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.discovery.sms_sender = "demo".into()).await
    else {
        return;
    };
    app.load_demo().await;
    let anon = app.client();
    let (status, body) = post_json(
        &anon,
        "/citizen/register",
        json!({"phone": "13912340001", "password": "Citizen-pass-2026"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = get_json(&anon, "/demo/sms-code?phone=139%201234%200001").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sms_code = body["code"].as_str().unwrap().to_owned();
    assert_eq!(sms_code.len(), 6);
    let (status, body) = post_json(
        &anon,
        "/citizen/verify",
        json!({"phone": "13912340001", "code": sms_code}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = get_json(&anon, "/demo/sms-code?phone=13912340002").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A server sending real messages never shows one.
    let Some(c) = city(backend).await else { return };
    let anon = c.app.client();
    let (status, _) = post_json(
        &anon,
        "/citizen/register",
        json!({"phone": "13912340003", "password": "Citizen-pass-2026"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get_json(&anon, "/demo/sms-code?phone=13912340003").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
both_backends!(demo_sms, demo_sms_code);

/// A citizen photographs their need: the photo is theirs until the report is routed, then it
/// is filed under the grid, where the community sees it and the neighbouring street does not.
async fn citizen_photo_in_report(backend: Backend) {
    let Some(c) = city(backend).await else { return };
    let citizen = c.app.login("citizen").await;
    let bytes = jiuzhu_server::demo::photo::jpeg(&jiuzhu_server::demo::photo::Shot {
        lat: c.lat,
        lon: c.lon,
        taken_local: (Utc::now() + Duration::hours(8)).naive_utc(),
        seed: 7,
    })
    .unwrap();
    let photo = uuid::Uuid::new_v4();
    citizen.put_photo(photo, bytes).await.unwrap();
    use jiuzhu_server::domain::geo;
    let gcj = geo::from_wgs84(geo::LatLon::new(c.lat, c.lon).unwrap(), geo::Crs::Gcj02);
    let (status, body) = post_json(
        &citizen,
        "/self-reports",
        json!({
            "description": "屋顶漏雨，老人独居",
            "category_hint": "housing",
            "location": {"lat": gcj.lat(), "lon": gcj.lon()},
            "photo_ids": [photo],
            "contact_phone": "13912345679",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = get_json(&c.coordinator, &format!("/photos/{photo}")).await;
    assert_eq!(status, StatusCode::OK);
    let street2 = c.app.login("street2").await;
    let (status, _) = get_json(&street2, &format!("/photos/{photo}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
both_backends!(citizen_photo, citizen_photo_in_report);
