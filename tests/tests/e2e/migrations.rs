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
