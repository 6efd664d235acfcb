//! Key rotation to its end: rows sealed under k1, the data key rotated to k2 with k1 retired,
//! `keys reseal` stopped after two pages (as a kill between pages leaves it) and run again to
//! the end; then every ID number, phone number and visit's answers open under k2 alone, with
//! the same plaintext as before (an officer's second-factor secret too), so k1 can go. A run again changes nothing; a key that is not
//! configured stops the job before it writes.

use std::collections::BTreeMap;

use jiuzhu_server::auth::second_factor;
use jiuzhu_server::config::Secrets;
use jiuzhu_server::crypto::FieldCipher;
use jiuzhu_server::db::repo::{sealed, users};
use jiuzhu_server::db::{self, AnyConnection};
use jiuzhu_server::ops::reseal::{self, Options};
use jiuzhu_tests::{both_backends, spawn_app, Backend};
use secrecy::ExposeSecret;

const ID: &str = jiuzhu_server::registry::ID_CONTEXT;
const PHONE: &str = jiuzhu_server::registry::PHONE_CONTEXT;
const ANSWERS: &str = jiuzhu_server::answers::ANSWERS_CONTEXT;

/// Every sealed value, opened: member id → (ID number, phone), visit id → answers; and the key
/// ids they name.
#[derive(Debug, PartialEq, Eq)]
struct Opened {
    members: BTreeMap<String, (String, Option<String>)>,
    visits: BTreeMap<String, String>,
}

fn open_all(conn: &mut AnyConnection, cipher: &FieldCipher) -> (Opened, Vec<String>) {
    let mut keys = std::collections::BTreeSet::new();
    let mut members = BTreeMap::new();
    let mut after = String::new();
    // No row is under a key named "-": this pages through them all.
    while let Some(last) = {
        let page = sealed::members_to_reseal(conn, "-", &after).unwrap();
        for m in &page {
            keys.insert(m.id_key_id.clone());
            let id = cipher.decrypt(&m.id_key_id, &m.id_cipher, ID).unwrap();
            let phone = m
                .phone_cipher
                .as_ref()
                .map(|p| cipher.decrypt(&m.id_key_id, p, PHONE).unwrap());
            members.insert(m.id.clone(), (id, phone));
        }
        page.last().map(|m| m.id.clone())
    } {
        after = last;
    }
    let mut visits = BTreeMap::new();
    let mut after = String::new();
    while let Some(last) = {
        let page = sealed::visits_to_reseal(conn, "-", &after).unwrap();
        for v in &page {
            keys.insert(v.answers_key_id.clone());
            visits.insert(
                v.id.clone(),
                cipher
                    .decrypt(&v.answers_key_id, &v.answers_sealed, ANSWERS)
                    .unwrap(),
            );
        }
        page.last().map(|v| v.id.clone())
    } {
        after = last;
    }
    (Opened { members, visits }, keys.into_iter().collect())
}

async fn rotate_and_reseal(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let st = app.state.clone();
    let settings = app.settings_with_keys();
    // Inside the server's audit context: the demo and its tasks are audited.
    let cipher = st.clone();
    st.db(move |conn| {
        let args = jiuzhu_server::bench::visits::BenchSeedVisitsArgs {
            visits: 700,
            households: 500,
        };
        jiuzhu_server::bench::visits::seed(conn, &cipher.cipher, &args)
            .map_err(jiuzhu_server::error::ApiError::internal)?;
        Ok(())
    })
    .await
    .unwrap();
    let audit = app.state.audit.context();
    tokio::task::spawn_blocking(move || {
        audit.enter(|| {
            let mut conn = st.database.pool.get().unwrap();
            // An officer's second factor, sealed under k1 too (stored as `k1:…`).
            let admin = users::find_by_username(&mut conn, "admin")
                .unwrap()
                .unwrap();
            let enrolment = second_factor::enrol(&st.cipher, "admin").unwrap();
            assert!(
                users::start_second_factor(&mut conn, &admin.id, &enrolment.stored, db::now())
                    .unwrap()
            );
            let (before, keys) = open_all(&mut conn, &st.cipher);
            assert_eq!(keys, ["k1"]);
            let members = before.members.len() as u64;
            let visits = before.visits.len() as u64;
            assert!(
                members > 2 * u64::from(sealed::PAGE) && visits == 700,
                "{members} members, {visits} visits"
            );
            assert!(
                before.members.values().any(|(_, phone)| phone.is_some()),
                "no member has a phone"
            );

            // The rotation: k2 current, k1 retired.
            let k1 = settings.data_key.clone().unwrap();
            let k2 = hex::encode(rand::random::<[u8; 32]>());
            let mut rotated = settings.clone();
            rotated.data_key = Some(k2.clone().into());
            rotated.data_key_id = "k2".into();
            rotated.retired_data_keys = Some(format!("k1:{}", k1.expose_secret()).into());
            let cipher = Secrets::resolve(&rotated).unwrap().field_cipher("k2");
            let ids = ["k2".to_owned(), "k1".to_owned()];

            // Two pages, then stopped: part done, the rest still under k1.
            let mut lines = 0;
            let first = reseal::run(
                &mut conn,
                &cipher,
                &ids,
                Options {
                    batches: Some(2),
                    check_only: false,
                },
                &mut |_| lines += 1,
            )
            .unwrap();
            assert!(first.stopped_early && !first.done());
            assert_eq!(lines, 2, "a progress line per page");
            let done_first: u64 = first.resealed.values().sum();
            assert_eq!(done_first, 2 * u64::from(sealed::PAGE));
            let left: i64 = first.remaining.iter().map(|(_, _, n)| n).sum();
            assert_eq!(left as u64, members + visits + 1 - done_first);
            assert!(first.remaining.iter().all(|(_, k, _)| k == "k1"));

            // Run again: it goes on from where it stopped and finishes.
            let second =
                reseal::run(&mut conn, &cipher, &ids, Options::default(), &mut |_| {}).unwrap();
            assert!(second.done() && !second.stopped_early, "{second:?}");
            assert_eq!(
                second.resealed.values().sum::<u64>(),
                members + visits + 1 - done_first,
                "each value re-sealed once over the two runs"
            );

            // k2 alone opens everything, to the same plaintext.
            let only_k2 = FieldCipher::new(
                &Secrets::resolve(&rotated).unwrap().data_key,
                &Secrets::resolve(&rotated).unwrap().token_pepper,
                "k2",
            );
            let (after, keys) = open_all(&mut conn, &only_k2);
            assert_eq!(keys, ["k2"]);
            assert_eq!(after, before);
            let stored = users::second_factor_secret(&mut conn, &admin.id)
                .unwrap()
                .unwrap();
            assert!(stored.starts_with("k2:"), "{stored}");
            let shown = totp_rs::Secret::Encoded(enrolment.secret.clone())
                .to_bytes()
                .unwrap();
            let app = totp_rs::TOTP::new_unchecked(
                totp_rs::Algorithm::SHA1,
                6,
                0,
                30,
                shown,
                None,
                String::new(),
            );
            let code = app.generate(db::now().and_utc().timestamp() as u64);
            assert!(
                second_factor::matching_step(&only_k2, &stored, &code, db::now())
                    .unwrap()
                    .is_some(),
                "the re-sealed secret gives the same codes"
            );

            // Nothing left to do; the check alone agrees.
            let third =
                reseal::run(&mut conn, &cipher, &ids, Options::default(), &mut |_| {}).unwrap();
            assert!(third.done() && third.resealed.values().sum::<u64>() == 0);
            let check = reseal::run(
                &mut conn,
                &only_k2,
                &ids[..1],
                Options {
                    batches: None,
                    check_only: true,
                },
                &mut |_| {},
            )
            .unwrap();
            assert!(check.done());

            // Rotating again to k3 without configuring k2 as retired: refused before any write,
            // naming the missing key.
            let mut wrong = rotated.clone();
            wrong.data_key = Some(hex::encode(rand::random::<[u8; 32]>()).into());
            wrong.data_key_id = "k3".into();
            wrong.retired_data_keys = None;
            let k3 = Secrets::resolve(&wrong).unwrap().field_cipher("k3");
            let e = reseal::run(
                &mut conn,
                &k3,
                &["k3".to_owned()],
                Options::default(),
                &mut |_| {},
            )
            .unwrap_err();
            assert!(
                e.to_string().contains("\"k2\", which is not configured"),
                "{e}"
            );
            let (unchanged, keys) = open_all(&mut conn, &only_k2);
            assert_eq!(keys, ["k2"]);
            assert_eq!(unchanged, before);

            // Each run that wrote left an audit record of what it did (the check and the refused
            // run did not), and the chain still verifies.
            let runs = jiuzhu_server::audit::for_entity(&mut conn, "data_key", "k2").unwrap();
            let resealed: Vec<u64> = runs
                .iter()
                .filter(|r| r.action == "keys.reseal")
                .map(|r| {
                    let d: serde_json::Value = serde_json::from_str(&r.detail).unwrap();
                    d["resealed"]
                        .as_object()
                        .unwrap()
                        .values()
                        .map(|n| n.as_u64().unwrap())
                        .sum()
                })
                .collect();
            assert_eq!(
                resealed,
                [done_first, members + visits + 1 - done_first, 0],
                "{runs:?}"
            );
            assert!(!runs.iter().any(|r| r.detail.contains(k1.expose_secret())));
            let verified = st.audit.verify(&mut conn).unwrap();
            assert!(verified.intact(), "{verified:?}");
        })
    })
    .await
    .unwrap();
}

both_backends!(reseal_after_rotation, rotate_and_reseal);
