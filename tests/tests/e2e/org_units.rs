//! The hierarchy, boundary imports and the point → grid lookup.

use jiuzhu_mobile_api::client::OrgUnitQuery;
use jiuzhu_proto::geo::Crs;
use jiuzhu_proto::org::{CreateOrgUnit, OrgKind};
use jiuzhu_proto::ErrorCode;
use jiuzhu_tests::{both_backends, spawn_app, spawn_app_with, Backend};
use serde_json::json;

fn square(lon: f64, lat: f64, size: f64) -> serde_json::Value {
    json!({"type": "Polygon", "coordinates": [[
        [lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]
    ]]})
}

async fn demo_city_is_complete_and_idempotent(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let first = app.load_demo().await;
    assert!(first.units_created > 170);
    let second = app.load_demo().await;
    assert_eq!(
        second.units_created, 0,
        "loading the demo twice created units"
    );
    let admin = app.login("admin").await;
    let count = |kind| {
        let admin = admin.clone();
        async move {
            admin
                .org_units(&OrgUnitQuery {
                    kind: Some(kind),
                    limit: Some(500),
                    ..Default::default()
                })
                .await
                .unwrap()
                .items
        }
    };
    assert!(count(OrgKind::Street).await.len() >= 4);
    assert!(count(OrgKind::Community).await.len() >= 20);
    let grids = count(OrgKind::Grid).await;
    assert!(grids.len() >= 150, "{} grids", grids.len());
    assert!(grids.iter().all(|g| g.code.len() == 15 && g.bbox.is_some()));
    assert!(
        grids.iter().all(|g| g.boundary.is_none()),
        "no boundaries unless asked"
    );
    // A map asks for a page of grids with their boundaries in one answer, gzipped for a browser.
    let res = admin
        .request(reqwest::Method::GET, "/org-units")
        .query(&[("kind", "grid"), ("limit", "500"), ("boundary", "true")])
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    assert_eq!(
        res.headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    let gz = res.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
    let page: serde_json::Value = serde_json::from_str(&text).unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), grids.len());
    assert!(items.iter().all(|g| g["boundary"]["type"]
        .as_str()
        .is_some_and(|t| t.ends_with("Polygon"))));
    let districts = count(OrgKind::District).await;
    assert!(districts
        .iter()
        .any(|d| d.code == "320402" && d.name == "天宁区"));
    // Every role has a log-in.
    for user in [
        "admin",
        "district",
        "street",
        "coordinator",
        "worker1",
        "worker2",
        "worker3",
        "worker4",
        "street2",
        "coordinator2",
        "citizen",
    ] {
        app.login(user).await;
    }
    // Each demo grid's own centre point (in WGS-84) resolves to a grid whose bbox holds it.
    let admin2 = admin.clone();
    for g in grids.iter().step_by(25) {
        let full = admin2.org_unit(g.id).await.unwrap();
        let b = full.bbox.unwrap();
        let (lat, lon) = ((b[1] + b[3]) / 2.0, (b[0] + b[2]) / 2.0);
        let found = admin2.locate(lat, lon, Crs::Wgs84).await.unwrap();
        if let Some(grid) = found.grid {
            assert_eq!(grid.code.len(), 15);
        }
    }
}
both_backends!(demo_city, demo_city_is_complete_and_idempotent);

async fn create_units_and_locate(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let community = admin
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Community),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .remove(0);
    let street_id = community.parent_id.unwrap();
    // Two new grids sharing an edge, far outside the demo grids (so only they can match).
    let (lon, lat) = (121.0, 30.0);
    let mk = |suffix: &str, lon0: f64| CreateOrgUnit {
        kind: OrgKind::Grid,
        code: format!("{}{suffix}", community.code),
        name: format!("测试网格{suffix}"),
        parent_id: Some(community.id),
        boundary: Some(square(lon0, lat, 0.01)),
        crs: Some(Crs::Wgs84),
    };
    let a = admin.create_org_unit(&mk("901", lon)).await.unwrap();
    let b = admin.create_org_unit(&mk("900", lon + 0.01)).await.unwrap();
    assert_eq!(a.path, format!("{}{}/", community.path, a.code));
    // The lookup is refreshed at once: inside each, and on the shared edge the smaller code wins.
    let at = |lat: f64, lon: f64| admin.locate(lat, lon, Crs::Wgs84);
    assert_eq!(
        at(lat + 0.005, lon + 0.005)
            .await
            .unwrap()
            .grid
            .unwrap()
            .code,
        a.code
    );
    assert_eq!(
        at(lat + 0.005, lon + 0.015)
            .await
            .unwrap()
            .grid
            .unwrap()
            .code,
        b.code
    );
    for _ in 0..3 {
        assert_eq!(
            at(lat + 0.005, lon + 0.01)
                .await
                .unwrap()
                .grid
                .unwrap()
                .code,
            b.code
        );
    }
    assert!(at(lat - 0.5, lon).await.unwrap().grid.is_none());

    // Duplicate code: 409. A grid under a street: wrong parent kind. A grid without a boundary.
    let err = admin.create_org_unit(&mk("901", lon)).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::DuplicateCode));
    let err = admin
        .create_org_unit(&CreateOrgUnit {
            parent_id: Some(street_id),
            ..mk("902", lon)
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::WrongParentKind));
    let err = admin
        .create_org_unit(&CreateOrgUnit {
            boundary: None,
            ..mk("903", lon)
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ValidationFailed));
    // A self-intersecting ring (a bow tie), an unclosed ring, and a point.
    for (boundary, why) in [
        (
            json!({"type": "Polygon", "coordinates": [[[121.0, 30.5], [121.1, 30.6], [121.1, 30.5], [121.0, 30.6], [121.0, 30.5]]]}),
            "self_intersection",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[121.0, 30.5], [121.1, 30.5], [121.1, 30.6], [121.0, 30.6]]]}),
            "unclosed_ring",
        ),
        (
            json!({"type": "Point", "coordinates": [121.0, 30.5]}),
            "wrong_geometry_type",
        ),
    ] {
        let err = admin
            .create_org_unit(&CreateOrgUnit {
                boundary: Some(boundary),
                ..mk("904", lon)
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidGeometry), "{why}");
        let jiuzhu_mobile_api::ClientError::Api { body, .. } = err else {
            panic!()
        };
        assert!(
            body.details.iter().any(|d| d.code == why),
            "{why}: {:?}",
            body.details
        );
    }
    // A bad code and a code that does not extend its parent's.
    let err = admin
        .create_org_unit(&CreateOrgUnit {
            code: "320402001001000".into(),
            ..mk("905", lon)
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ValidationFailed));
    let err = admin
        .create_org_unit(&CreateOrgUnit {
            code: "320404001001001".into(),
            ..mk("906", lon)
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidOrgCode));
    // Nothing half-written: none of the refused codes exist.
    let grids = admin
        .org_units(&OrgUnitQuery {
            parent_id: Some(community.id),
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert!(!grids
        .iter()
        .any(|g| ["902", "903", "904"].iter().any(|s| g.code.ends_with(s))));

    // Only admins and district officers edit the hierarchy.
    let coordinator = app.login("coordinator").await;
    let err = coordinator
        .create_org_unit(&mk("907", lon))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
}
both_backends!(create_and_locate, create_units_and_locate);

async fn locate_converts_and_validates(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let worker = app.login("worker1").await;
    // The same place in three systems lands in the same grid, reported in WGS-84.
    let wgs = worker.locate(31.7800, 119.9700, Crs::Wgs84).await.unwrap();
    let gcj_lat = 31.7800 - 0.0019;
    let gcj_lon = 119.9700 + 0.0045;
    let shifted = worker.locate(gcj_lat, gcj_lon, Crs::Gcj02).await.unwrap();
    assert!(
        (shifted.lat - gcj_lat).abs() > 1e-4,
        "GCJ-02 input was not converted"
    );
    assert!(wgs.grid.is_some());
    // The whole chain above the grid, each level a prefix of the next.
    let grid = wgs.grid.clone().unwrap();
    let chain = [&wgs.community, &wgs.street, &wgs.district];
    for unit in chain {
        let unit = unit
            .as_ref()
            .expect("every level of the demo city has a boundary");
        assert!(
            grid.code.starts_with(&unit.code),
            "{} above {}",
            unit.code,
            grid.code
        );
    }
    assert_eq!(wgs.district.as_ref().unwrap().code, "320402");
    assert_eq!(wgs.city.as_ref().unwrap().code, "320400");
    assert!(wgs.inside_city);
    // In another district, which has no grids drawn: the district and the city, no grid.
    let wujin = worker.locate(31.62, 119.95, Crs::Wgs84).await.unwrap();
    assert!(wujin.grid.is_none() && wujin.street.is_none());
    assert_eq!(
        wujin.district.as_ref().map(|d| d.code.as_str()),
        Some("320412")
    );
    assert_eq!(wujin.city.as_ref().map(|d| d.code.as_str()), Some("320400"));
    assert!(wujin.inside_city);
    // Beijing is outside the city, and the answer says so.
    let far = worker.locate(40.0, 116.0, Crs::Wgs84).await.unwrap();
    assert!(far.grid.is_none() && far.district.is_none() && far.city.is_none());
    assert!(!far.inside_city);
    let bd = worker
        .locate(31.7800 + 0.004, 119.9700 + 0.011, Crs::Bd09)
        .await
        .unwrap();
    assert!((bd.lon - (119.9700 + 0.011)).abs() > 1e-3);
    // Bad coordinates: 422 with a stable code; NaN and infinities too.
    for (lat, lon) in [
        ("91", "120"),
        ("31", "181"),
        ("NaN", "120"),
        ("31", "inf"),
        ("abc", "120"),
    ] {
        let res = worker
            .request(reqwest::Method::GET, "/geo/locate")
            .query(&[("lat", lat), ("lon", lon)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            "{lat},{lon}"
        );
        let body = res.text().await.unwrap();
        assert!(
            body.contains("invalid_coordinate") || body.contains("validation_failed"),
            "{body}"
        );
    }
    let res = worker
        .request(reqwest::Method::GET, "/geo/locate")
        .query(&[("lat", "31"), ("lon", "120"), ("crs", "epsg4326")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
}
both_backends!(locate, locate_converts_and_validates);

async fn import_real_boundaries(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.max_boundary_vertices = 5_000).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    // The real 常州 file again (GCJ-02): every district already there, nothing changes.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/boundaries/320400_full.json"
    ))
    .unwrap();
    let report = admin
        .import_org_units(Crs::Gcj02, text.clone())
        .await
        .unwrap();
    assert_eq!((report.created, report.updated), (0, 0));
    assert_eq!(report.unchanged, 6);
    // Another city's districts need their city first.
    let wuxi = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/boundaries/320200_full.json"
    ));
    if let Ok(wuxi) = wuxi {
        let err = admin.import_org_units(Crs::Gcj02, wuxi).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::ParentNotFound));
    }
    // A district officer cannot add a street to the neighbouring district: outside is missing.
    let district = app.login("district").await;
    let neighbour = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "320404001", "name": "邻区街道"}, "geometry": null}
    ]});
    let err = district
        .import_org_units(Crs::Wgs84, neighbour.to_string())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
    let own = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "320402099", "name": "新街道"}, "geometry": null}
    ]});
    assert_eq!(
        district
            .import_org_units(Crs::Wgs84, own.to_string())
            .await
            .unwrap()
            .created,
        1
    );
    // Too many vertices for the configured cap: refused with the feature named.
    let ring: Vec<[f64; 2]> = (0..=6000)
        .map(|i| {
            let a = (i % 6000) as f64 / 6000.0 * std::f64::consts::TAU;
            [120.0 + 0.01 * a.cos(), 31.8 + 0.01 * a.sin()]
        })
        .collect();
    let big = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "320402001001990", "name": "大网格"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}
    ]});
    let err = admin
        .import_org_units(Crs::Wgs84, big.to_string())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidGeometry));
    let jiuzhu_mobile_api::ClientError::Api { body, .. } = err else {
        panic!()
    };
    assert_eq!(body.details[0].field, "features[0].geometry");
    assert_eq!(body.details[0].code, "too_many_vertices");
    // A file with one good and one bad feature writes nothing.
    let mixed = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "320402001001991", "name": "好网格"}, "geometry": square(121.5, 30.5, 0.01)},
        {"type": "Feature", "properties": {"code": "320402001001992", "name": "坏网格"}, "geometry": {"type": "LineString", "coordinates": [[121.0, 30.0], [121.1, 30.1]]}}
    ]});
    assert!(admin
        .import_org_units(Crs::Wgs84, mixed.to_string())
        .await
        .is_err());
    assert!(admin
        .locate(30.505, 121.505, Crs::Wgs84)
        .await
        .unwrap()
        .grid
        .is_none());
    // A parent missing from both the database and the file.
    let orphan = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "320402099001001", "name": "孤儿"}, "geometry": square(121.5, 30.5, 0.01)}
    ]});
    let err = admin
        .import_org_units(Crs::Wgs84, orphan.to_string())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ParentNotFound));
    // Not GeoJSON at all, and a body over the import limit.
    let err = admin
        .import_org_units(Crs::Wgs84, "{not json")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidGeometry));
    // The good file imports and the new grid is found at once.
    let good = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "320402001001991", "name": "好网格", "kind": "grid"}, "geometry": square(121.5, 30.5, 0.01)}
    ]});
    let report = admin
        .import_org_units(Crs::Wgs84, good.to_string())
        .await
        .unwrap();
    assert_eq!(report.created, 1);
    let found = admin.locate(30.505, 121.505, Crs::Wgs84).await.unwrap();
    assert_eq!(found.grid.unwrap().code, "320402001001991");
}
both_backends!(import_boundaries, import_real_boundaries);

async fn oversized_import_is_refused(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.boundary_import_limit_bytes = 100_000).await
    else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let body = format!(
        "{{\"type\":\"FeatureCollection\",\"features\":[],\"pad\":\"{}\"}}",
        "x".repeat(200_000)
    );
    let err = admin.import_org_units(Crs::Wgs84, body).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::PayloadTooLarge));
}
both_backends!(oversized_import, oversized_import_is_refused);
