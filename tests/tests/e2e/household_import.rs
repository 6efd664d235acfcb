//! Household CSV import through the API: encodings, idempotency, bad rows by line, files refused up
//! front, conflicts, and job scoping.

use std::collections::HashMap;
use std::time::Duration;

use jiuzhu_mobile_api::client::OrgUnitQuery;
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::household::{
    Household, HouseholdSummary, IdConflict, ImportJob, JobStatus, RowError,
};
use jiuzhu_proto::org::{OrgKind, OrgUnit};
use jiuzhu_proto::page::Page;
use jiuzhu_proto::user::{CreateUser, Role};
use jiuzhu_proto::ErrorBody;
use jiuzhu_tests::{both_backends, spawn_app, Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

const HEADER: &str = "household_external_id,address,lat,lon,crs,grid_code,status,status_since,tags,notes,name,relation,id_number,birth_date,gender,health,disability_type,disability_level,daily_living_unable,work_status,student_status,income_wages,income_farming,income_business,income_rent,income_pension,income_support,income_other,phone";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../fixtures/households/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A valid 18-character ID number from its first 17 digits.
fn idn(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// One CSV row: sensible defaults, any column overridden by name.
#[derive(Clone)]
struct Row(HashMap<&'static str, String>);

fn row(external_id: &str, grid: &str, name: &str, relation: &str, id: &str) -> Row {
    let mut cells = HashMap::new();
    for (k, v) in [
        ("household_external_id", external_id),
        ("address", "红梅新村1幢1单元101室"),
        ("grid_code", grid),
        ("name", name),
        ("relation", relation),
        ("id_number", id),
        ("health", "healthy"),
        ("work_status", "employed"),
    ] {
        cells.insert(k, v.to_owned());
    }
    Row(cells)
}

impl Row {
    fn set(mut self, column: &'static str, value: &str) -> Self {
        assert!(HEADER.split(',').any(|c| c == column), "{column}");
        self.0.insert(column, value.to_owned());
        self
    }

    fn line(&self) -> String {
        HEADER
            .split(',')
            .map(|c| {
                let v = self.0.get(c).map(String::as_str).unwrap_or("");
                if v.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", v.replace('"', "\"\""))
                } else {
                    v.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn csv(rows: &[Row]) -> String {
    let mut out = format!("{HEADER}\n");
    for r in rows {
        out.push_str(&r.line());
        out.push('\n');
    }
    out
}

async fn upload(client: &Client, body: impl Into<reqwest::Body>, query: &str) -> reqwest::Response {
    client
        .request(Method::POST, &format!("/households/import{query}"))
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn job(client: &Client, id: uuid::Uuid) -> reqwest::Response {
    client
        .request(Method::GET, &format!("/households/imports/{id}"))
        .send()
        .await
        .unwrap()
}

/// Uploads a file and waits for its job to end.
async fn import(client: &Client, body: impl Into<reqwest::Body>, query: &str) -> ImportJob {
    let res = upload(client, body, query).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    let queued: ImportJob = serde_json::from_str(&text).unwrap();
    assert_eq!(queued.status, JobStatus::Queued);
    assert_eq!(queued.rows_read, 0);
    for _ in 0..1200 {
        let res = job(client, queued.id).await;
        assert_eq!(res.status(), StatusCode::OK);
        let j: ImportJob = res.json().await.unwrap();
        if matches!(j.status, JobStatus::Done | JobStatus::Failed) {
            assert_eq!(j.id, queued.id);
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import job did not finish");
}

/// Uploads a file that must be refused at once; returns the detail codes.
async fn refused(client: &Client, body: impl Into<reqwest::Body>, query: &str) -> Vec<String> {
    let res = upload(client, body, query).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: ErrorBody = res.json().await.unwrap();
    assert_eq!(body.error.as_str(), "validation_failed");
    body.details.into_iter().map(|d| d.code).collect()
}

fn codes(errors: &[RowError]) -> Vec<(u64, &str)> {
    errors.iter().map(|e| (e.row, e.code.as_str())).collect()
}

async fn grids(client: &Client) -> Vec<OrgUnit> {
    client
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Grid),
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
}

/// Households in the caller's scope by external id.
async fn households(client: &Client) -> HashMap<String, HouseholdSummary> {
    let page: Page<HouseholdSummary> = client
        .request(Method::GET, "/households")
        .query(&[("limit", "500")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page.items
        .into_iter()
        .filter_map(|h| h.external_id.clone().map(|e| (e, h)))
        .collect()
}

async fn household(client: &Client, id: uuid::Uuid) -> Household {
    client
        .request(Method::GET, &format!("/households/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn setup(backend: Backend) -> Option<(TestApp, Client, String)> {
    let app = spawn_app(backend).await?;
    app.load_demo().await;
    let coordinator = app.login("coordinator").await;
    let grid = grids(&coordinator).await[0].code.clone();
    Some((app, coordinator, grid))
}

async fn good_files_in_both_encodings(backend: Backend) {
    let Some((_app, coordinator, _)) = setup(backend).await else {
        return;
    };
    let utf8 = fixture("sample-utf8.csv");
    let gbk = fixture("sample-gbk.csv");

    let first = import(&coordinator, utf8.clone(), "").await;
    assert_eq!(first.status, JobStatus::Done, "{:?}", first.errors);
    assert_eq!(
        (
            first.rows_read,
            first.households_created,
            first.households_unchanged,
            first.rows_rejected
        ),
        (9, 4, 0, 0)
    );
    assert!(first.errors.is_empty());

    // The same file again changes nothing.
    let again = import(&coordinator, utf8.clone(), "").await;
    assert_eq!(
        (
            again.rows_read,
            again.households_created,
            again.households_unchanged,
            again.rows_rejected
        ),
        (9, 0, 4, 0)
    );

    // A BOM and CRLF line ends, as Excel's "CSV UTF-8" writes them: the same households, so all
    // unchanged (a BOM left on the first column name would have refused the file).
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(
        String::from_utf8(utf8.clone())
            .unwrap()
            .replace('\n', "\r\n")
            .as_bytes(),
    );
    let bom_job = import(&coordinator, bom, "").await;
    assert_eq!(
        (
            bom_job.households_created,
            bom_job.households_unchanged,
            bom_job.rows_rejected
        ),
        (0, 4, 0),
        "{:?}",
        bom_job.errors
    );

    // The GBK file, on a second server: the same households, field for field.
    let Some((_app2, coordinator2, _)) = setup(backend).await else {
        return;
    };
    let gbk_job = import(&coordinator2, gbk.clone(), "").await;
    assert_eq!(
        (
            gbk_job.rows_read,
            gbk_job.households_created,
            gbk_job.rows_rejected
        ),
        (9, 4, 0),
        "{:?}",
        gbk_job.errors
    );
    let forced = import(&coordinator2, gbk, "?encoding=gbk").await;
    assert_eq!(
        (forced.households_unchanged, forced.rows_rejected),
        (4, 0),
        "{:?}",
        forced.errors
    );
    let all = households(&coordinator).await;
    let all2 = households(&coordinator2).await;
    assert_eq!(all.len(), 4);
    for (ext, summary) in &all {
        let a = household(&coordinator, summary.id).await;
        let b = household(&coordinator2, all2[ext].id).await;
        assert_eq!(
            (
                &a.address,
                &a.notes,
                &a.tags,
                a.status,
                &a.grid_code,
                a.location
            ),
            (
                &b.address,
                &b.notes,
                &b.tags,
                b.status,
                &b.grid_code,
                b.location
            )
        );
        let strip = |h: &Household| {
            h.members
                .iter()
                .map(|m| {
                    let mut m = m.clone();
                    m.id = uuid::Uuid::nil();
                    m
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&a), strip(&b));
    }

    // What the file said, as the registry shows it.
    let h2 = household(&coordinator, all["CZ-0002"].id).await;
    assert_eq!(h2.members.len(), 3);
    assert_eq!(h2.status.as_str(), "edge");
    assert_eq!(h2.notes, "父亲务工收入不稳定");
    assert_eq!(h2.members[0].annual_income.business_fen, 3_200_050);
    assert_eq!(h2.members[1].name, "张丽");
    assert_eq!(h2.members[1].disability_level, Some(2));
    assert_eq!(h2.members[1].annual_income.other_fen, 120_000);
    assert_eq!(h2.members[2].relation.as_str(), "child");
    assert_eq!(h2.members[2].student_status.as_str(), "junior_secondary");
    assert!(!h2.grid_overridden);
    let h1 = household(&coordinator, all["CZ-0001"].id).await;
    assert_eq!(h1.grid_code, "320402001001001");
    assert_eq!(h1.tags, vec!["独居".to_owned(), "高龄".to_owned()]);
    assert!(!h1.members[0].daily_living.bathing && h1.members[0].daily_living.eating);
    assert_eq!(h1.members[0].annual_income.pension_fen, 1_800_000);
    assert_eq!(h1.members[0].phone_masked.as_deref(), Some("139****5678"));
    assert_eq!(h1.status_history[0].from.to_string(), "2024-03-01");
    let h3 = household(&coordinator, all["CZ-0003"].id).await;
    assert!(h3.grid_overridden);
    assert_eq!(h3.grid_code, "320402001001003");
    assert_eq!(h3.members[0].daily_living.failed(), 4);
}
both_backends!(good_files, good_files_in_both_encodings);

async fn bad_rows_by_line(backend: Backend) {
    let Some((_app, coordinator, grid)) = setup(backend).await else {
        return;
    };
    let g = grid.as_str();
    let good = |ext: &str, seq: u32| {
        row(
            ext,
            g,
            "李四",
            "户主",
            &idn(&format!("32040219800101{seq:03}")),
        )
    };
    let bad_check = {
        let ok = idn("32040219800101301");
        let last = if ok.ends_with('0') { '1' } else { '0' };
        format!("{}{last}", &ok[..17])
    };
    let zero_width = {
        let ok = idn("32040219800101302");
        format!("{}\u{200b}{}", &ok[..9], &ok[9..])
    };
    let long_name = "张".repeat(300);
    let rows = vec![
        /* 2 */ good("G-1", 100),
        /* 3 */ row("G-1", g, "王五", "配偶", &idn("32040219820202200")),
        /* 4 */ row("B-17", g, "甲", "head", "32040219800101123"),
        /* 5 */
        row(
            "B-19",
            g,
            "乙",
            "head",
            &format!("{}1", idn("32040219800101124")),
        ),
        /* 6 */ row("B-check", g, "丙", "head", &bad_check),
        /* 7 */ row("B-0231", g, "丁", "head", &idn("32040219990231125")),
        /* 8 */ row("B-future", g, "戊", "head", &idn("32040220990101126")),
        /* 9 */ row("B-region", g, "己", "head", &idn("00000019800101127")),
        /* 10 */ row("B-zw", g, "庚", "head", &zero_width),
        /* 11 */ good("B-neg", 128).set("income_wages", "-100.00"),
        /* 12 */ good("B-comma", 129).set("income_wages", "1,000"),
        /* 13 */ good("B-nan", 130).set("income_pension", "NaN"),
        /* 14 */ row("B-name", g, &long_name, "head", &idn("32040219800101131")),
        /* 15 */ good("MIX", 132),
        /* 16 */
        row(
            "MIX",
            g,
            "辛",
            "子女",
            &format!("{}X", &idn("32040220100101133")[..17]),
        )
        .set("health", "健康"),
        /* 17 */
        good("G-2", 134)
            .set("name", "𠀀明")
            .set("address", "红梅新村\"东区\",3幢")
            .set("notes", "第一行\n第二行 \"引号\""),
        // Lines 17-18 (the notes hold a line break); line 19 leaves the household columns blank.
        /* 19 */
        row("G-2", "", "小明😀", "child", &idn("32040220150101135"))
            .set("address", "")
            .set("work_status", "not_working_age"),
    ];
    // The check character of row 16 must really be wrong.
    assert_ne!(
        idn("32040220100101133"),
        format!("{}X", &idn("32040220100101133")[..17])
    );
    let j = import(&coordinator, csv(&rows), "").await;
    assert_eq!(j.status, JobStatus::Done, "{:?}", j.errors);
    assert_eq!(j.rows_read, 17);
    assert_eq!(j.households_created, 2, "{:?}", j.errors);
    assert_eq!(j.rows_rejected, 13);
    assert_eq!(
        codes(&j.errors),
        vec![
            (4, "wrong_length"),
            (5, "wrong_length"),
            (6, "bad_check_character"),
            (7, "impossible_birth_date"),
            (8, "future_birth_date"),
            (9, "invalid_region"),
            (10, "invalid_character"),
            (11, "out_of_range"),
            (12, "invalid_amount"),
            (13, "invalid_amount"),
            (14, "too_long"),
            (16, "bad_check_character"),
        ]
    );
    let column = |e: &RowError| e.message.split(':').next().unwrap_or_default().to_owned();
    assert_eq!(column(&j.errors[0]), "id_number");
    assert_eq!(column(&j.errors[7]), "income_wages");
    assert_eq!(column(&j.errors[9]), "income_pension");
    assert_eq!(column(&j.errors[10]), "name");
    // No personal data in the report: not the numbers, not the names.
    let report = serde_json::to_string(&j.errors).unwrap();
    for secret in [
        "3204021980",
        "32040219990231",
        "0000001980",
        &long_name[..30],
        "甲",
        "丙",
    ] {
        assert!(!report.contains(secret), "{secret} leaked into {report}");
    }

    let all = households(&coordinator).await;
    let mut stored: Vec<&str> = all.keys().map(String::as_str).collect();
    stored.sort();
    assert_eq!(stored, vec!["G-1", "G-2"]);
    let g2 = household(&coordinator, all["G-2"].id).await;
    assert_eq!(g2.members[0].name, "𠀀明");
    assert_eq!(g2.members[1].name, "小明😀");
    assert_eq!(g2.address, "红梅新村\"东区\",3幢");
    assert_eq!(g2.notes, "第一行\n第二行 \"引号\"");
    assert_eq!(g2.members[1].disability_level, None);
    assert_eq!(g2.members[0].phone_masked, None);
    let g1 = household(&coordinator, all["G-1"].id).await;
    assert_eq!(g1.members.len(), 2);
}
both_backends!(bad_rows, bad_rows_by_line);

async fn whole_files_refused_up_front(backend: Backend) {
    let Some((_app, coordinator, grid)) = setup(backend).await else {
        return;
    };
    let body = csv(&[row("H-1", &grid, "李四", "户主", &idn("32040219800101100"))]);
    let without = |column: &str| -> String {
        let index = HEADER.split(',').position(|c| c == column).unwrap();
        body.lines()
            .map(|l| {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells.remove(index);
                cells.join(",")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        refused(&coordinator, without("id_number"), "").await,
        ["missing_column"]
    );
    let res = upload(&coordinator, without("id_number"), "").await;
    let detail = res.json::<ErrorBody>().await.unwrap().details[0]
        .message
        .clone();
    assert!(detail.contains("id_number"), "{detail}");
    assert_eq!(
        refused(
            &coordinator,
            body.replacen(",phone\n", ",phone,colour\n", 1),
            ""
        )
        .await,
        ["unknown_column"]
    );
    assert_eq!(
        refused(&coordinator, body.replacen(",phone\n", ",name\n", 1), "").await,
        ["duplicate_column"]
    );
    // Neither a location nor a grid column.
    let no_place = without("grid_code");
    let no_place = {
        let i = HEADER.split(',').position(|c| c == "lat").unwrap();
        no_place
            .lines()
            .map(|l| {
                let mut cells: Vec<&str> = l.split(',').collect();
                cells.drain(i..i + 2);
                cells.join(",")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        refused(&coordinator, no_place, "").await,
        ["missing_column"]
    );
    // A file without its header row: refused, and the refusal repeats none of the data.
    let headless = body.lines().nth(1).unwrap().to_owned();
    let res = upload(&coordinator, headless, "").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains("李四") && !text.contains("320402198001"),
        "{text}"
    );
    assert_eq!(refused(&coordinator, "", "").await, ["empty_file"]);

    // A megabyte of random bytes, however it is labelled.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let random: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    assert_eq!(
        refused(&coordinator, random.clone(), "").await,
        ["unrecognised_encoding"]
    );
    for query in ["?encoding=gbk", "?encoding=utf8"] {
        let codes = refused(&coordinator, random.clone(), query).await;
        assert!(!codes.is_empty(), "{query}");
    }
    let utf16 = [&b"\xFF\xFE"[..], "h\0e\0".as_bytes()].concat();
    assert_eq!(
        refused(&coordinator, utf16, "").await,
        ["utf16_not_supported"]
    );
    let res = upload(&coordinator, body.clone(), "?encoding=latin1").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Nothing was written by any of them.
    assert!(households(&coordinator).await.is_empty());
}
both_backends!(refused_files, whole_files_refused_up_front);

async fn broken_quoting_and_ragged_rows(backend: Backend) {
    let Some((_app, coordinator, grid)) = setup(backend).await else {
        return;
    };
    let g = grid.as_str();
    let mut text = csv(&[
        row("Q-1", g, "李四", "户主", &idn("32040219800101100")),
        row("Q-3", g, "王五", "户主", &idn("32040219800101101")),
    ]);
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // Line 3: a row cut short; line 4: a good household; line 5: an address whose quote is never
    // closed, so it runs to the end of the file and swallows line 6.
    text = format!(
        "{}\n{}\nQ-2,红梅新村,,,\n{}\nQ-4,\"红梅新村 2幢,{g}\n{}\n",
        lines[0],
        lines[1],
        lines[2],
        row("Q-5", g, "赵六", "户主", &idn("32040219800101102")).line()
    );
    let j = import(&coordinator, text, "").await;
    assert_eq!(j.status, JobStatus::Done);
    assert_eq!(
        codes(&j.errors),
        vec![(3, "wrong_field_count"), (5, "unbalanced_quote")]
    );
    let mut stored: Vec<String> = households(&coordinator).await.into_keys().collect();
    stored.sort();
    assert_eq!(stored, vec!["Q-1".to_owned(), "Q-3".to_owned()]);

    // A household whose rows are not together: the later rows are refused, the first stand.
    let rows = [
        row("NC-1", g, "甲", "户主", &idn("32040219700101110")),
        row("NC-2", g, "乙", "户主", &idn("32040219700101111")),
        row("NC-1", g, "丙", "配偶", &idn("32040219700101112")),
    ];
    let j = import(&coordinator, csv(&rows), "").await;
    assert_eq!(codes(&j.errors), vec![(4, "household_not_contiguous")]);
    assert_eq!((j.households_created, j.rows_rejected), (2, 1));
    // A later row that contradicts the household's first row spoils the household.
    let rows = [
        row("HD-1", g, "甲", "户主", &idn("32040219700101113")),
        row("HD-1", g, "乙", "配偶", &idn("32040219700101114")).set("address", "别处"),
    ];
    let j = import(&coordinator, csv(&rows), "").await;
    assert_eq!(codes(&j.errors), vec![(3, "household_fields_differ")]);
    assert_eq!(j.households_created, 0);
}
both_backends!(broken_quoting, broken_quoting_and_ragged_rows);

async fn clashes_become_conflicts(backend: Backend) {
    let Some((_app, coordinator, grid)) = setup(backend).await else {
        return;
    };
    let g = grid.as_str();
    let taken = idn("32040219750505150");
    let grid_id = grids(&coordinator).await[0].id;
    let res = coordinator
        .request(Method::POST, "/households")
        .json(&json!({
            "address": "红梅新村3幢",
            "grid_id": grid_id,
            "members": [{"name": "周八", "relation": "head", "id_number": taken, "health": "healthy", "work_status": "employed"}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );

    let shared = idn("32040219760606160");
    let rows = [
        /* 2 */ row("CL-1", g, "吴九", "户主", &idn("32040219770707170")),
        /* 3 */ row("CL-1", g, "周八", "配偶", &taken),
        /* 4 */ row("DUP-A", g, "郑十", "户主", &shared),
        /* 5 */ row("DUP-B", g, "郑十", "户主", &shared),
    ];
    let file = csv(&rows);
    let j = import(&coordinator, file.clone(), "").await;
    assert_eq!(
        codes(&j.errors),
        vec![(3, "id_number_conflict"), (5, "id_number_conflict")]
    );
    assert_eq!((j.households_created, j.rows_rejected), (1, 3));
    assert!(!serde_json::to_string(&j.errors)
        .unwrap()
        .contains(&taken[6..14]));

    let conflicts = |client: Client| async move {
        client
            .request(Method::GET, "/households/conflicts")
            .send()
            .await
            .unwrap()
            .json::<Vec<IdConflict>>()
            .await
            .unwrap()
    };
    let found = conflicts(coordinator.clone()).await;
    let all = households(&coordinator).await;
    let attempted: Vec<&str> = found.iter().map(|c| c.attempted.as_str()).collect();
    assert!(
        attempted.contains(&"household.import CL-1"),
        "{attempted:?}"
    );
    assert!(
        attempted.contains(&"household.import DUP-B"),
        "{attempted:?}"
    );
    let dup = found
        .iter()
        .find(|c| c.attempted == "household.import DUP-B")
        .unwrap();
    assert_eq!(dup.existing_household_id, all["DUP-A"].id);
    assert_eq!(
        dup.id_number_masked,
        format!("{}********{}", &shared[..6], &shared[14..])
    );

    // Importing the file again refuses the same households and records nothing new.
    let again = import(&coordinator, file, "").await;
    assert_eq!(
        codes(&again.errors),
        vec![(3, "id_number_conflict"), (5, "id_number_conflict")]
    );
    assert_eq!(
        (again.households_created, again.households_unchanged),
        (0, 1)
    );
    assert_eq!(conflicts(coordinator.clone()).await.len(), found.len());
}
both_backends!(clashes, clashes_become_conflicts);

/// The findings of one type (or, for "", of every type) on a household, as the coordinator sees
/// them.
async fn findings(client: &Client, household: uuid::Uuid, kind: &str) -> Vec<serde_json::Value> {
    let mut query = vec![("household_id", household.to_string())];
    if !kind.is_empty() {
        query.push(("type", kind.into()));
    }
    let body: serde_json::Value = client
        .request(Method::GET, "/findings")
        .query(&query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn imported_households_meet_the_rules(backend: Backend) {
    let Some((app, coordinator, grid)) = setup(backend).await else {
        return;
    };
    let admin = app.login("admin").await;
    let res = admin
        .request(Method::PUT, "/rules/two_or_more")
        .json(
            &json!({"id": "two_or_more", "title": {"zh": "两人及以上", "en": "Two or more"},
                      "categories": ["temporary"], "when": "${member_count} >= 2"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let g = grid.as_str();
    let rows = [
        row("RU-1", g, "冯一", "户主", &idn("32040219800808180")),
        row("RU-1", g, "陈二", "配偶", &idn("32040219810909190")),
        row("RU-2", g, "褚三", "户主", &idn("32040219821010200")),
    ];
    let file = csv(&rows);
    let j = import(&coordinator, file.clone(), "").await;
    assert_eq!(j.households_created, 2, "{:?}", j.errors);
    let all = households(&coordinator).await;
    let fired = findings(&coordinator, all["RU-1"].id, "two_or_more").await;
    assert_eq!(fired.len(), 1, "the rules ran on the imported household");
    assert_eq!(fired[0]["source"], "household");
    assert!(findings(&coordinator, all["RU-2"].id, "two_or_more")
        .await
        .is_empty());
    // The same file again writes nothing, so the rules do not run again.
    let again = import(&coordinator, file, "").await;
    assert_eq!(again.households_unchanged, 2);
    assert_eq!(
        findings(&coordinator, all["RU-1"].id, "two_or_more").await[0]["updated_at"],
        fired[0]["updated_at"]
    );
}
both_backends!(rules_run, imported_households_meet_the_rules);

/// A file of varied households: ages from the ID numbers (1930s to 2010s), every status, health,
/// disability, work, schooling and income, one to four members. Deterministic (a small LCG).
fn varied_households(grid: &str, n: u32) -> Vec<Row> {
    let mut state: u64 = 20261207;
    let mut next = move |k: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % k
    };
    let statuses = [
        "none",
        "dibao",
        "edge",
        "tekun",
        "rigid_expense",
        "none",
        "none",
    ];
    let health = ["healthy", "chronic", "grave_illness", "healthy"];
    let work = [
        "employed",
        "self_employed",
        "farming",
        "unemployed",
        "retired",
        "unable_to_work",
    ];
    let school = ["", "primary", "junior_secondary", "tertiary"];
    let mut rows = Vec::new();
    let mut seq = 0;
    for h in 0..n {
        let ext = format!("EQ-{h:04}");
        for m in 0..1 + next(4) {
            seq += 1;
            let year = 1930 + next(85);
            let id = idn(&format!("320402{year}0{}1{}{seq:03}", 1 + next(9), next(9)));
            let relation = if m == 0 { "户主" } else { "子女" };
            let mut r =
                row(&ext, grid, "测试", relation, &id).set("health", health[next(4) as usize]);
            if year > 2008 {
                r = r
                    .set("work_status", "not_working_age")
                    .set("student_status", school[next(4) as usize]);
            } else if year < 1960 {
                r = r.set("work_status", work[4 + next(2) as usize]);
            } else {
                r = r.set("work_status", work[next(6) as usize]);
            }
            if m == 0 {
                r = r.set("status", statuses[next(7) as usize]);
            }
            if next(4) == 0 {
                r = r
                    .set("disability_type", "physical")
                    .set("disability_level", &(1 + next(4)).to_string());
            }
            if next(5) == 0 {
                r = r.set("daily_living_unable", "洗澡;上下床;进食;穿衣");
            }
            match next(4) {
                0 => {}
                1 => r = r.set("income_wages", &(next(60_000)).to_string()),
                2 => r = r.set("income_pension", &(next(30_000)).to_string()),
                _ => r = r.set("income_support", &(next(12_000)).to_string()),
            }
            rows.push(r);
        }
    }
    rows
}

/// The import evaluates new households from their rows beside its writer; the rules on the stored
/// household (`POST /households/{id}/evaluate`) must reach the same findings with the same
/// evidence, household by household.
async fn import_judges_like_the_registry(backend: Backend) {
    let Some((_app, coordinator, grid)) = setup(backend).await else {
        return;
    };
    let j = import(&coordinator, csv(&varied_households(&grid, 60)), "").await;
    assert_eq!(
        (j.households_created, j.rows_rejected),
        (60, 0),
        "{:?}",
        j.errors
    );
    let all = households(&coordinator).await;
    let mut fired_kinds = std::collections::BTreeSet::new();
    let mut quiet = 0;
    let mut opened = 0;
    for h in all.keys().filter(|k| k.starts_with("EQ-")).map(|k| &all[k]) {
        let mut by_import: Vec<serde_json::Value> = findings(&coordinator, h.id, "").await;
        opened += by_import.len();
        let res = coordinator
            .request(Method::POST, &format!("/households/{}/evaluate", h.id))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let outcomes: Vec<serde_json::Value> = res.json().await.unwrap();
        let fired: Vec<&str> = outcomes
            .iter()
            .filter(|o| o["result"] == "fired")
            .filter_map(|o| o["rule_id"].as_str())
            .collect();
        let mut kinds: Vec<&str> = by_import
            .iter()
            .filter_map(|f| f["type"].as_str())
            .collect();
        kinds.sort_unstable();
        let mut expected = fired.clone();
        expected.sort_unstable();
        assert_eq!(kinds, expected, "household {}", h.id);
        if fired.is_empty() {
            quiet += 1;
        }
        fired_kinds.extend(fired.iter().map(|k| k.to_string()));
        // The evaluation on request refreshed each finding with its own facts: the same ones.
        let mut again = findings(&coordinator, h.id, "").await;
        let key = |f: &serde_json::Value| f["id"].as_str().unwrap_or("").to_owned();
        by_import.sort_by_key(key);
        again.sort_by_key(key);
        for (a, b) in by_import.iter().zip(&again) {
            assert_eq!(a["id"], b["id"]);
            assert_eq!(a["inputs"], b["inputs"], "{}", a["type"]);
            assert_eq!(a["computed"], b["computed"], "{}", a["type"]);
            assert_eq!(a["source"], "household");
        }
    }
    assert!(opened > 0);
    assert!(
        fired_kinds.len() >= 4,
        "too few rules fired to compare: {fired_kinds:?}"
    );
    assert!(quiet > 0, "every household fired something");
}
both_backends!(judged_alike, import_judges_like_the_registry);

async fn concurrent_imports_never_duplicate(backend: Backend) {
    let Some((_app, coordinator, grid)) = setup(backend).await else {
        return;
    };
    // 300 households of two; the same file twice at once, and a third file holding the same
    // people under other household ids.
    let rows: Vec<Row> = (0..300)
        .flat_map(|i| {
            let ext = format!("C-{i:03}");
            [
                row(
                    &ext,
                    &grid,
                    "甲",
                    "户主",
                    &idn(&format!("32040219{:02}0101{:03}", 50 + i / 10, i)),
                ),
                row(
                    &ext,
                    &grid,
                    "乙",
                    "配偶",
                    &idn(&format!("32040219{:02}0202{:03}", 50 + i / 10, i)),
                ),
            ]
        })
        .collect();
    let file = csv(&rows);
    let other = file.replace("\nC-", "\nD-");
    let (a, b, c) = tokio::join!(
        import(&coordinator, file.clone(), ""),
        import(&coordinator, file, ""),
        import(&coordinator, other, ""),
    );
    for j in [&a, &b, &c] {
        assert_eq!(j.status, JobStatus::Done, "{:?}", j.errors);
    }
    let created = a.households_created + b.households_created + c.households_created;
    assert_eq!(created, 300, "{a:?} {b:?} {c:?}");
    for j in [&a, &b, &c] {
        let refused = 300 - j.households_created - j.households_unchanged;
        assert_eq!(j.errors.len() as i64, 2 * refused, "{:?}", j.errors);
        assert!(j.errors.iter().all(|e| e.code == "id_number_conflict"));
    }
    assert_eq!(households(&coordinator).await.len(), 300);
    // Every number is in exactly one household.
    for i in [0, 150, 299] {
        let number = idn(&format!("32040219{:02}0202{:03}", 50 + i / 10, i));
        let page: Page<HouseholdSummary> = coordinator
            .request(Method::GET, "/households")
            .query(&[("id_number", number.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
    }
}
both_backends!(concurrent, concurrent_imports_never_duplicate);

async fn jobs_and_grids_are_scoped(backend: Backend) {
    let Some((app, coordinator, grid)) = setup(backend).await else {
        return;
    };
    let admin = app.login("admin").await;
    let communities = admin
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Community),
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    let mine = coordinator.me().await.unwrap().org_unit_id;
    let other = communities.iter().find(|c| c.id != mine).unwrap();
    admin
        .create_user(&CreateUser {
            username: "coord.b".into(),
            password: "a-good-password".into(),
            display_name: "乙社区".into(),
            role: Role::Coordinator,
            org_unit_id: other.id,
        })
        .await
        .unwrap();
    let mut coordinator_b = app.client();
    coordinator_b
        .login("coord.b", "a-good-password", None)
        .await
        .unwrap();
    let other_grid = grids(&coordinator_b).await[0].code.clone();

    let rows = [
        /* 2 */ row("S-1", &grid, "甲", "户主", &idn("32040219800101200")),
        /* 3 */ row("S-2", &other_grid, "乙", "户主", &idn("32040219800101201")),
        /* 4 */
        row("S-3", "", "丙", "户主", &idn("32040219800101202"))
            .set("lat", "31.0")
            .set("lon", "121.0"),
        /* 5 */
        row("S-4", "", "丁", "户主", &idn("32040219800101203"))
            .set("lat", "31.8111")
            .set("lon", "119.9476"),
    ];
    let j = import(&coordinator, csv(&rows), "").await;
    assert_eq!(
        codes(&j.errors),
        vec![(3, "unknown_grid"), (4, "outside_all_grids")]
    );
    assert_eq!(j.households_created, 2);
    let mine_now = households(&coordinator).await;
    assert!(!mine_now["S-4"].grid_code.is_empty());
    assert!(!mine_now["S-1"].grid_code.is_empty());

    // The job as its owner sees it, and as others do.
    assert_eq!(
        job(&coordinator, j.id)
            .await
            .json::<ImportJob>()
            .await
            .unwrap(),
        j
    );
    let street = app.login("street").await;
    assert_eq!(job(&street, j.id).await.status(), StatusCode::OK);
    assert_eq!(
        job(&coordinator_b, j.id).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        job(&coordinator, uuid::Uuid::now_v7()).await.status(),
        StatusCode::NOT_FOUND
    );
    let malformed = coordinator
        .request(Method::GET, "/households/imports/not-an-id")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::NOT_FOUND);
    let worker = app.login("worker1").await;
    assert_eq!(job(&worker, j.id).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        upload(&worker, csv(&rows), "").await.status(),
        StatusCode::FORBIDDEN
    );
    let anonymous = app.client();
    assert_eq!(
        upload(&anonymous, csv(&rows), "").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The other coordinator: only their own grids, and an external id held in another area is
    // not theirs to skip.
    let rows_b = [
        /* 2 */ row("S-2", &other_grid, "乙", "户主", &idn("32040219800101201")),
        /* 3 */ row("S-4", &other_grid, "戊", "户主", &idn("32040219800101204")),
        /* 4 */
        row("S-5", "", "己", "户主", &idn("32040219800101205"))
            .set("lat", "31.8111")
            .set("lon", "119.9476"),
    ];
    let b_job = import(&coordinator_b, csv(&rows_b), "").await;
    assert_eq!(b_job.households_created, 1, "{:?}", b_job.errors);
    assert_eq!(
        codes(&b_job.errors),
        vec![(3, "external_id_taken"), (4, "outside_scope")]
    );
    assert_eq!(
        job(&coordinator, b_job.id).await.status(),
        StatusCode::NOT_FOUND
    );
}
both_backends!(scoping, jobs_and_grids_are_scoped);
