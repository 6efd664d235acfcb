//! Migrations apply, revert and re-apply to the same schema on both backends.

use jiuzhu_server::db;
use jiuzhu_tests::{both_backends, Backend, TestDb};

async fn up_down_up(backend: Backend) {
    tokio::task::spawn_blocking(move || {
        let Some((_db, url, _dir)) = TestDb::create(backend) else {
            return;
        };
        let (_, pool) = db::connect(&url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        assert!(db::migrate(&mut conn).unwrap() > 0);
        assert!(db::migrations_current(&mut conn).unwrap());
        let first = db::describe_schema(&mut conn).unwrap();
        assert!(
            first.iter().any(|l| l.starts_with("org_units.path")),
            "{first:?}"
        );
        db::revert_all(&mut conn).unwrap();
        assert!(!db::migrations_current(&mut conn).unwrap());
        let empty = db::describe_schema(&mut conn).unwrap();
        assert!(
            !empty.iter().any(|l| l.starts_with("users.")),
            "tables left after revert: {empty:?}"
        );
        db::migrate(&mut conn).unwrap();
        assert_eq!(db::describe_schema(&mut conn).unwrap(), first);
    })
    .await
    .unwrap();
}
both_backends!(migration_round_trip, up_down_up);

async fn sqlite_pragmas_make_commits_durable(backend: Backend) {
    if backend != Backend::Sqlite {
        return;
    }
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        let Some((_db, url, _dir)) = TestDb::create(backend) else {
            return;
        };
        let (_, pool) = db::connect(&url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        let q = |conn: &mut db::AnyConnection, sql: &str| -> String {
            diesel::sql_query(sql).get_result::<Row>(conn).unwrap().v
        };
        assert_eq!(
            q(
                &mut conn,
                "SELECT CAST(journal_mode AS TEXT) AS v FROM pragma_journal_mode"
            ),
            "wal"
        );
        // 2 = FULL: every commit is fsynced before it returns.
        assert_eq!(
            q(
                &mut conn,
                "SELECT CAST(synchronous AS TEXT) AS v FROM pragma_synchronous"
            ),
            "2"
        );
        assert_eq!(
            q(
                &mut conn,
                "SELECT CAST(foreign_keys AS TEXT) AS v FROM pragma_foreign_keys"
            ),
            "1"
        );
        assert_eq!(
            q(
                &mut conn,
                "SELECT CAST(timeout AS TEXT) AS v FROM pragma_busy_timeout"
            ),
            "10000"
        );
    })
    .await
    .unwrap();
}
both_backends!(sqlite_pragmas, sqlite_pragmas_make_commits_durable);

#[test]
fn unknown_scheme_is_refused() {
    for url in ["mysql://root@localhost/x", "redis://x", "ftp:thing"] {
        let err = db::parse_url(url).unwrap_err().to_string();
        assert!(
            err.contains("unsupported database URL scheme"),
            "{url}: {err}"
        );
    }
    assert_eq!(db::parse_url("/tmp/x.db").unwrap().0, db::Backend::Sqlite);
    assert_eq!(db::parse_url("data/x.db").unwrap().0, db::Backend::Sqlite);
    assert_eq!(db::parse_url("sqlite:///tmp/x.db").unwrap().1, "/tmp/x.db");
    assert_eq!(
        db::parse_url("postgresql://u@h/d").unwrap().0,
        db::Backend::Postgres
    );
}

/// Migration 000004 stores blind indexes as 16 bytes instead of 64 hex characters. A database
/// that already holds households must keep finding their ID numbers afterwards: through the
/// exact search, through the one-household-per-number check, and in its recorded conflicts.
async fn blind_indexes_survive_000004(backend: Backend) {
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        use jiuzhu_server::db::repo::households as repo;
        use jiuzhu_server::registry::ID_INDEX;

        let Some((_db, url, _dir)) = TestDb::create(backend) else {
            return;
        };
        let (_, pool) = db::connect(&url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        assert_eq!(db::migrate_through(&mut conn, "20261128000003").unwrap(), 3);

        let cipher = jiuzhu_server::config::Secrets::ephemeral().field_cipher("k1");
        let blind = cipher.blind_index(ID_INDEX, "11010519491231002X");
        let other = cipher.blind_index(ID_INDEX, "110105194912310021");
        // As 000002 stored them: the whole HMAC in hex, whose first half the index now is.
        let old_hex = |b: &jiuzhu_server::crypto::BlindIndex| {
            let hex: String = b.as_bytes().iter().map(|x| format!("{x:02x}")).collect();
            format!("{hex}{}", "5a".repeat(16))
        };
        let path = "/320400/";
        let at = "'2026-11-28 08:00:00'";
        for sql in [
            format!(
                "INSERT INTO org_units (id, kind, code, name, path, created_at, updated_at) \
                 VALUES ('g1', 'grid', '320400', 'g', '{path}', {at}, {at})"
            ),
            format!(
                "INSERT INTO households (id, external_id, address, grid_id, org_path, status, \
                 notes, head_name, member_count, version, created_at, updated_at) \
                 VALUES ('h1', 'B1', 'a', 'g1', '{path}', 'none', '', '王', 2, 1, {at}, {at})"
            ),
            format!(
                "INSERT INTO members (id, household_id, position, name, relation, id_cipher, \
                 id_key_id, id_blind, id_masked, birth_date, gender, health, daily_living, \
                 work_status, student_status, income, annual_income_fen, created_at, updated_at) \
                 VALUES ('m1', 'h1', 0, '王', 'head', 'x', 'k1', '{}', '1101**', '1949-12-31', \
                 'female', 'healthy', '{{}}', 'employed', 'not_student', '{{}}', 0, {at}, {at}), \
                 ('m2', 'h1', 1, '李', 'spouse', 'x', 'k1', '{}', '1101**', '1949-12-31', \
                 'male', 'healthy', '{{}}', 'employed', 'not_student', '{{}}', 0, {at}, {at})",
                old_hex(&blind),
                old_hex(&other)
            ),
            format!(
                "INSERT INTO id_conflicts (id, id_blind, id_masked, existing_household_id, \
                 org_path, attempted, created_at) \
                 VALUES ('c1', '{}', '1101**', 'h1', '{path}', 'household.import B2', {at})",
                old_hex(&blind)
            ),
        ] {
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        }

        db::migrate(&mut conn).unwrap();
        assert!(db::migrations_current(&mut conn).unwrap());

        // The clash check.
        let holders = repo::holders_of(&mut conn, &[blind.to_vec()], None).unwrap();
        assert_eq!(holders, vec![(blind.to_vec(), "h1".into(), path.into())]);
        // The exact search.
        let scope = jiuzhu_server::auth::Caller {
            user_id: jiuzhu_proto::UserId::new(),
            role: jiuzhu_proto::user::Role::Admin,
            org_unit_id: jiuzhu_proto::OrgUnitId::new(),
            org_path: "/".into(),
            token_family: String::new(),
            device_id: None,
            second_factor_pending: false,
        }
        .scope();
        for number in [&blind, &other] {
            let filter = repo::HouseholdFilter {
                id_blind: Some(number.to_vec()),
                limit: 10,
                ..Default::default()
            };
            let rows = repo::list_in_scope(&mut conn, &scope, &filter).unwrap();
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].0.id, "h1");
            assert_eq!(rows[0].0.head_name.as_deref(), Some("王"));
        }
        let unknown = cipher.blind_index(ID_INDEX, "110105194912310030");
        let filter = repo::HouseholdFilter {
            id_blind: Some(unknown.to_vec()),
            limit: 10,
            ..Default::default()
        };
        assert!(repo::list_in_scope(&mut conn, &scope, &filter)
            .unwrap()
            .is_empty());
        // The recorded conflict.
        let conflicts = repo::conflicts_in_scope(&mut conn, &scope, 10).unwrap();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].id_blind, blind.to_vec());
        // The members kept everything else, in order.
        let members = repo::members_of(&mut conn, "h1").unwrap();
        assert_eq!(
            members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            ["王", "李"]
        );
        let schema = db::describe_schema(&mut conn).unwrap();
        assert!(!schema.iter().any(|l| l == "index households_head_name"));
        assert!(schema.iter().any(|l| l == "index members_id_blind"));
    })
    .await
    .unwrap();
}
both_backends!(blind_index_migration, blind_indexes_survive_000004);

/// Migration 000011 stores members' daily-living items and income sources compactly instead of
/// as JSON objects. A database that already holds members must read back the same members
/// afterwards, and their stored texts must be the compact ones.
async fn member_columns_survive_000011(backend: Backend) {
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        use jiuzhu_proto::household::{DailyLiving, Income};
        use jiuzhu_server::registry::{read, stored};

        let Some((_db, url, _dir)) = TestDb::create(backend) else {
            return;
        };
        let (_, pool) = db::connect(&url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        assert_eq!(
            db::migrate_through(&mut conn, "20261129000010").unwrap(),
            10
        );

        let grid = uuid::Uuid::now_v7().to_string();
        let household = uuid::Uuid::now_v7().to_string();
        let path = "/320400/";
        let at = "'2026-11-28 08:00:00'";
        let blind = if backend == Backend::Sqlite {
            "X'00112233445566778899aabbccddeeff'"
        } else {
            "'\\x00112233445566778899aabbccddeeff'"
        };
        // Every daily-living combination once, incomes of every sign and size, and what 000010's
        // code wrote: the JSON objects serde makes of the proto types.
        let members: Vec<(DailyLiving, Income)> = (0u8..64)
            .map(|bits| {
                let d = DailyLiving {
                    eating: bits & 1 != 0,
                    dressing: bits & 2 != 0,
                    getting_in_and_out_of_bed: bits & 4 != 0,
                    toileting: bits & 8 != 0,
                    walking_indoors: bits & 16 != 0,
                    bathing: bits & 32 != 0,
                };
                let k = i64::from(bits);
                let i = Income {
                    wages_fen: k * 1_234_567,
                    farming_fen: -k,
                    business_fen: if bits == 63 { i64::MAX } else { 0 },
                    rent_fen: if bits == 62 { i64::MIN } else { k },
                    pension_fen: 3_600_000,
                    support_fen: 0,
                    other_fen: 7 - k,
                };
                (d, i)
            })
            .collect();
        let mut sql = vec![
            format!(
                "INSERT INTO org_units (id, kind, code, name, path, created_at, updated_at) \
                 VALUES ('{grid}', 'grid', '320400', 'g', '{path}', {at}, {at})"
            ),
            format!(
                "INSERT INTO households (id, external_id, address, grid_id, org_path, status, \
                 notes, head_name, member_count, version, created_at, updated_at) \
                 VALUES ('{household}', 'B1', 'a', '{grid}', '{path}', 'none', '', '王', {}, 1, \
                 {at}, {at})",
                members.len()
            ),
        ];
        for (n, (d, i)) in members.iter().enumerate() {
            sql.push(format!(
                "INSERT INTO members (id, household_id, position, name, relation, id_cipher, \
                 id_key_id, id_blind, id_masked, birth_date, gender, health, daily_living, \
                 work_status, student_status, income, annual_income_fen, created_at, updated_at) \
                 VALUES ('{}', '{household}', {n}, '王', 'head', 'x', 'k1', {blind}, '1101**', \
                 '1949-12-31', 'female', 'healthy', '{}', 'employed', 'not_student', '{}', 0, \
                 {at}, {at})",
                uuid::Uuid::now_v7(),
                serde_json::to_string(d).unwrap(),
                serde_json::to_string(i).unwrap(),
            ));
        }
        for sql in sql {
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        }
        let scope = jiuzhu_server::auth::Caller {
            user_id: jiuzhu_proto::UserId::new(),
            role: jiuzhu_proto::user::Role::Admin,
            org_unit_id: jiuzhu_proto::OrgUnitId::new(),
            org_path: "/".into(),
            token_family: String::new(),
            device_id: None,
            second_factor_pending: false,
        }
        .scope();
        let before = read::household(&mut conn, &scope, &household)
            .unwrap()
            .unwrap();
        let read_back: Vec<(DailyLiving, Income)> = before
            .members
            .iter()
            .map(|m| (m.daily_living, m.annual_income))
            .collect();
        assert_eq!(read_back, members);

        db::migrate(&mut conn).unwrap();
        assert!(db::migrations_current(&mut conn).unwrap());

        let after = read::household(&mut conn, &scope, &household)
            .unwrap()
            .unwrap();
        assert_eq!(after, before);
        let rows = jiuzhu_server::db::repo::households::members_of(&mut conn, &household).unwrap();
        assert_eq!(rows.len(), members.len());
        for (row, (d, i)) in rows.iter().zip(&members) {
            assert_eq!(row.daily_living, stored::daily_living_text(d));
            assert_eq!(row.income, stored::income_text(i));
            assert!(row.daily_living.len() == 6 && row.income.starts_with('['));
        }
    })
    .await
    .unwrap();
}
both_backends!(member_column_migration, member_columns_survive_000011);
