//! Org units from GeoJSON: one feature per unit, parents before children, all or nothing.
//!
//! A feature names its unit by `code` (or DataV's `adcode`) and `name`; `kind` and `parent_code`
//! are optional because the code implies them (docs/domain.md). Boundaries arrive in WGS-84 or GCJ-02
//! and are stored in WGS-84. The same path serves `POST /org-units`, `POST /org-units/import`,
//! `jiuzhu import boundaries` and the demo city.

use std::collections::HashMap;

use geo::MultiPolygon;
use jiuzhu_proto::error::FieldError;
use jiuzhu_proto::org::{ImportReport, OrgKind};
use jiuzhu_proto::ErrorCode;

use crate::db::repo::org_units::{self, NewOrgUnit, OrgUnitChanges, OrgUnitRow};
use crate::db::{self, AnyConnection};
use crate::domain::geo::{self as geo_domain, BoundaryLimits, Crs};
use crate::domain::org;
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::scope::Scope;

/// One unit to create or update, already checked on its own.
#[derive(Debug, Clone)]
pub struct UnitSpec {
    pub kind: OrgKind,
    pub code: String,
    pub name: String,
    /// The parent's code; `None` only for a city.
    pub parent_code: Option<String>,
    /// WGS-84.
    pub boundary: Option<MultiPolygon<f64>>,
}

/// What to do when a code already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// `POST /org-units`: a taken code is a conflict.
    Refuse,
    /// Imports: bring the unit up to date (same kind required).
    Update,
}

fn field_error(field: String, code: &str, message: String) -> FieldError {
    FieldError {
        field,
        code: code.to_owned(),
        message,
    }
}

const MAX_NAME_CHARS: usize = 100;

/// Checks a name: not blank, not too long, no control characters.
pub fn check_name(name: &str) -> Result<String, String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err("名称不能为空 / the name is empty".into());
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "名称过长 / the name exceeds {MAX_NAME_CHARS} characters"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("名称含控制字符 / the name contains control characters".into());
    }
    Ok(trimmed.to_owned())
}

/// A unit as it arrived: from a feature or from `POST /org-units`.
#[derive(Debug, Clone, Copy)]
pub struct RawUnit<'a> {
    /// Inferred from the code when absent.
    pub kind: Option<OrgKind>,
    pub code: &'a str,
    pub name: &'a str,
    pub geometry: Option<&'a geojson::Geometry>,
}

/// Builds a unit from its parts, collecting every problem under `field_prefix`.
pub fn unit_spec(
    field_prefix: &str,
    raw: RawUnit<'_>,
    crs: Crs,
    limits: &BoundaryLimits,
    errors: &mut Vec<FieldError>,
) -> Option<UnitSpec> {
    let RawUnit {
        kind,
        code,
        name,
        geometry,
    } = raw;
    let before = errors.len();
    let kind = match kind.map(Ok).unwrap_or_else(|| org::kind_of(code)) {
        Ok(kind) => Some(kind),
        Err(e) => {
            errors.push(field_error(
                format!("{field_prefix}code"),
                "invalid_org_code",
                e.to_string(),
            ));
            None
        }
    };
    if let Some(kind) = kind {
        if let Err(e) = org::validate(kind, code) {
            errors.push(field_error(
                format!("{field_prefix}code"),
                "invalid_org_code",
                e.to_string(),
            ));
        }
    }
    let name = match check_name(name) {
        Ok(n) => n,
        Err(m) => {
            errors.push(field_error(
                format!("{field_prefix}name"),
                "invalid_name",
                m,
            ));
            String::new()
        }
    };
    let boundary = match geometry {
        Some(g) => match geo_domain::parse_boundary(g, crs, limits) {
            Ok(mp) => Some(mp),
            Err(e) => {
                errors.push(field_error(
                    format!("{field_prefix}geometry"),
                    e.code(),
                    e.to_string(),
                ));
                None
            }
        },
        None => None,
    };
    if kind == Some(OrgKind::Grid) && geometry.is_none() {
        errors.push(field_error(
            format!("{field_prefix}geometry"),
            "boundary_required",
            "网格必须有边界 / a grid needs a boundary".into(),
        ));
    }
    let kind = kind?;
    if errors.len() > before {
        return None;
    }
    Some(UnitSpec {
        kind,
        parent_code: org::parent_code(kind, code),
        code: code.to_owned(),
        name,
        boundary,
    })
}

/// A validation error whose code says "geometry" when any problem was with a geometry.
fn collection_error(details: Vec<FieldError>) -> ApiError {
    let geometry = details
        .iter()
        .any(|d| d.field.ends_with("geometry") && d.code != "boundary_required");
    let mut e = ApiError::validation(details);
    if geometry {
        e.code = ErrorCode::InvalidGeometry;
    }
    e
}

/// Parses a FeatureCollection (or a single Feature) into unit specs. Every bad feature is
/// reported; nothing is returned unless all are good.
pub fn parse_collection(text: &str, crs: Crs, limits: &BoundaryLimits) -> ApiResult<Vec<UnitSpec>> {
    let geojson: geojson::GeoJson = text.parse().map_err(|e: geojson::Error| {
        ApiError::bad_request(
            ErrorCode::InvalidGeometry,
            "GeoJSON 格式错误",
            format!("not valid GeoJSON: {e}"),
        )
    })?;
    let features = match geojson {
        geojson::GeoJson::FeatureCollection(fc) => fc.features,
        geojson::GeoJson::Feature(f) => vec![f],
        geojson::GeoJson::Geometry(_) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidGeometry,
                "需要 FeatureCollection",
                "expected a FeatureCollection whose features carry code and name properties",
            ))
        }
    };
    let mut errors = Vec::new();
    let mut specs = Vec::with_capacity(features.len());
    let mut seen = HashMap::new();
    for (i, feature) in features.iter().enumerate() {
        let prefix = format!("features[{i}].");
        let prop = |key: &str| feature.properties.as_ref().and_then(|p| p.get(key));
        let code = match prop("code").or_else(|| prop("adcode")) {
            Some(serde_json::Value::String(s)) => s.trim().to_owned(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => {
                errors.push(field_error(
                    format!("{prefix}properties.code"),
                    "missing_code",
                    "缺少编码 / the feature has no code or adcode property".into(),
                ));
                continue;
            }
        };
        let name = prop("name").and_then(|v| v.as_str()).unwrap_or_default();
        let kind = match prop("kind").and_then(|v| v.as_str()) {
            Some(k) => match OrgKind::parse(k) {
                Some(kind) => Some(kind),
                None => {
                    errors.push(field_error(
                        format!("{prefix}properties.kind"),
                        "invalid_kind",
                        format!("unknown kind `{k}`"),
                    ));
                    continue;
                }
            },
            None => None,
        };
        if let Some(first) = seen.insert(code.clone(), i) {
            errors.push(field_error(
                format!("{prefix}properties.code"),
                "duplicate_code",
                format!("编码重复 / code {code} also appears in feature {first}"),
            ));
            continue;
        }
        let raw = RawUnit {
            kind,
            code: &code,
            name,
            geometry: feature.geometry.as_ref(),
        };
        if let Some(spec) = unit_spec(&prefix, raw, crs, limits, &mut errors) {
            specs.push(spec);
        }
    }
    if !errors.is_empty() {
        return Err(collection_error(errors));
    }
    // Parents before children: a shorter code is always higher up.
    specs.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.code.cmp(&b.code)));
    Ok(specs)
}

fn boundary_columns(
    mp: Option<&MultiPolygon<f64>>,
) -> ApiResult<(Option<String>, Option<[f64; 4]>)> {
    let Some(mp) = mp else {
        return Ok((None, None));
    };
    let json = serde_json::to_string(&geo_domain::to_geojson(mp)).map_err(ApiError::internal)?;
    let bbox = geo_domain::bbox(mp).map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
    Ok((Some(json), bbox))
}

/// Creates or updates the units, parents first, inside the caller's transaction. Every unit
/// must land inside `scope`; a parent must exist already or come earlier in `specs`.
pub fn apply(
    conn: &mut AnyConnection,
    scope: &Scope,
    specs: &[UnitSpec],
    on_existing: OnExisting,
) -> ApiResult<(ImportReport, Vec<OrgUnitRow>)> {
    let mut report = ImportReport::default();
    let mut rows = Vec::with_capacity(specs.len());
    let now = db::now();
    for spec in specs {
        let parent = match &spec.parent_code {
            Some(code) => Some(org_units::find_by_code(conn, code)?.ok_or_else(|| {
                ApiError::bad_request(
                    ErrorCode::ParentNotFound,
                    format!("上级单位 {code} 不存在"),
                    format!("the parent unit {code} of {} does not exist", spec.code),
                )
            })?),
            None => None,
        };
        if let Some(p) = &parent {
            if Some(p.kind.as_str()) != spec.kind.parent_kind().map(OrgKind::as_str) {
                return Err(wrong_parent(spec.kind, &p.kind));
            }
        }
        let path = org::child_path(parent.as_ref().map(|p| p.path.as_str()), &spec.code);
        if !scope.contains(&path) {
            // Outside the caller's subtree looks exactly like a missing parent.
            return Err(ApiError::not_found());
        }
        let (boundary, bbox) = boundary_columns(spec.boundary.as_ref())?;
        match org_units::find_by_code(conn, &spec.code)? {
            Some(existing) => {
                if on_existing == OnExisting::Refuse {
                    return Err(duplicate_code(&spec.code));
                }
                if existing.kind != spec.kind.as_str() || existing.path != path {
                    return Err(duplicate_code(&spec.code));
                }
                let boundary_changed = boundary.is_some() && boundary != existing.boundary;
                if existing.name == spec.name && !boundary_changed {
                    report.unchanged += 1;
                    rows.push(existing);
                    continue;
                }
                let changes = OrgUnitChanges {
                    name: spec.name.clone(),
                    boundary: boundary_changed.then(|| boundary.clone()),
                    min_lon: boundary_changed.then(|| bbox.map(|b| b[0])),
                    min_lat: boundary_changed.then(|| bbox.map(|b| b[1])),
                    max_lon: boundary_changed.then(|| bbox.map(|b| b[2])),
                    max_lat: boundary_changed.then(|| bbox.map(|b| b[3])),
                    updated_at: now,
                };
                org_units::update(conn, &existing.id, &changes)?;
                crate::audit::acted(
                    conn,
                    "org_unit.update",
                    "org_unit",
                    &existing.id,
                    &existing.path,
                    serde_json::json!({ "name_changed": existing.name != spec.name, "boundary_changed": boundary_changed }),
                )?;
                report.updated += 1;
                rows.push(
                    org_units::find_by_id(conn, &existing.id)?.ok_or_else(ApiError::not_found)?,
                );
            }
            None => {
                let new = NewOrgUnit {
                    id: uuid::Uuid::now_v7().to_string(),
                    kind: spec.kind.as_str().to_owned(),
                    code: spec.code.clone(),
                    name: spec.name.clone(),
                    parent_id: parent.as_ref().map(|p| p.id.clone()),
                    path,
                    boundary,
                    min_lon: bbox.map(|b| b[0]),
                    min_lat: bbox.map(|b| b[1]),
                    max_lon: bbox.map(|b| b[2]),
                    max_lat: bbox.map(|b| b[3]),
                    created_at: now,
                    updated_at: now,
                };
                match org_units::insert(conn, &new) {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => return Err(duplicate_code(&spec.code)),
                    Err(e) => return Err(e.into()),
                }
                crate::audit::acted(
                    conn,
                    "org_unit.create",
                    "org_unit",
                    &new.id,
                    &new.path,
                    serde_json::json!({ "kind": new.kind, "code": new.code }),
                )?;
                report.created += 1;
                rows.push(org_units::find_by_id(conn, &new.id)?.ok_or_else(ApiError::not_found)?);
            }
        }
    }
    Ok((report, rows))
}

fn duplicate_code(code: &str) -> ApiError {
    ApiError::conflict(
        ErrorCode::DuplicateCode,
        format!("编码 {code} 已存在"),
        format!("the code {code} is already taken"),
    )
}

fn wrong_parent(kind: OrgKind, parent_kind: &str) -> ApiError {
    ApiError::bad_request(
        ErrorCode::WrongParentKind,
        format!("{} 不能隶属于 {parent_kind}", kind.as_str()),
        format!(
            "a {} must hang under a {}, not a {parent_kind}",
            kind.as_str(),
            kind.parent_kind().map(OrgKind::as_str).unwrap_or("nothing")
        ),
    )
}

/// Checks that an explicitly named parent fits the unit: right kind, and its code a prefix.
pub fn check_parent(spec: &UnitSpec, parent: &OrgUnitRow) -> ApiResult<()> {
    if Some(parent.kind.as_str()) != spec.kind.parent_kind().map(OrgKind::as_str) {
        return Err(wrong_parent(spec.kind, &parent.kind));
    }
    if spec.parent_code.as_deref() != Some(parent.code.as_str()) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidOrgCode,
            format!("编码 {} 不以上级编码 {} 开头", spec.code, parent.code),
            format!(
                "the code {} does not extend its parent's code {}",
                spec.code, parent.code
            ),
        ));
    }
    Ok(())
}
