//! The photo checks of a visit: where and when the photos say they were taken, and whether the
//! same picture already serves another household.

use chrono::{DateTime, Duration, Utc};
use jiuzhu_proto::visit::{FlagCode, VisitFlag};
use serde_json::json;

use crate::config::PhotoSettings;
use crate::db::repo::photos::{self as repo, PhotoRow};
use crate::db::AnyConnection;
use crate::domain::geo::{distance_m, LatLon};
use crate::error::ApiResult;

/// What the photos are compared with.
pub struct Against<'a> {
    pub at: LatLon,
    pub accuracy_m: f64,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub task_created_at: DateTime<Utc>,
    pub household_id: &'a str,
}

fn flag(code: FlagCode, message: String, evidence: serde_json::Value) -> VisitFlag {
    VisitFlag {
        code,
        message,
        evidence,
    }
}

/// Flags for the visit's photos.
pub fn check(
    conn: &mut AnyConnection,
    photos: &[PhotoRow],
    v: &Against<'_>,
    s: &PhotoSettings,
) -> ApiResult<Vec<VisitFlag>> {
    let mut flags = Vec::new();
    let slack = Duration::seconds(s.exif_time_slack_secs);
    for p in photos {
        if let (Some(lat), Some(lon)) = (p.exif_lat, p.exif_lon) {
            if let Ok(pos) = LatLon::new(lat, lon) {
                let d = distance_m(pos, v.at);
                let allowed = s.max_exif_distance_m + v.accuracy_m;
                if d > allowed {
                    flags.push(flag(
                        FlagCode::PhotoFar,
                        format!("照片拍摄位置距走访位置 {d:.0} 米 / photo taken {d:.0} m from the visit position"),
                        json!({"photo_id": p.id, "distance_m": d.round(), "allowed_m": allowed}),
                    ));
                }
            }
        }
        if let Some(taken) = p.exif_taken_at.map(|t| t.and_utc()) {
            if taken < v.started_at - slack || taken > v.finished_at + slack {
                flags.push(flag(
                    FlagCode::PhotoTimeMismatch,
                    "照片拍摄时间不在走访时段内 / photo taken outside the visit's time".into(),
                    json!({"photo_id": p.id, "taken_at": taken, "started_at": v.started_at, "finished_at": v.finished_at}),
                ));
            }
            if taken < v.task_created_at {
                flags.push(flag(
                    FlagCode::PhotoBeforeTask,
                    "照片拍摄于任务创建之前 / photo taken before the task existed".into(),
                    json!({"photo_id": p.id, "taken_at": taken, "task_created_at": v.task_created_at}),
                ));
            }
        }
        let same = repo::same_bytes_elsewhere(conn, &p.sha256, v.household_id)?;
        if !same.is_empty() {
            flags.push(flag(
                FlagCode::DuplicatePhoto,
                format!(
                    "同一照片已用于其他 {} 户的走访 / the same photo is attached to another household's visit",
                    same.len()
                ),
                json!({"photo_id": p.id, "other_photo_ids": same.iter().map(|(id, _)| id).collect::<Vec<_>>()}),
            ));
            continue;
        }
        let hash = jiuzhu_photos::PerceptualHash::from_i64(p.phash);
        let near: Vec<(String, u32)> = repo::near_hash_candidates(
            conn,
            [p.phash_b0, p.phash_b1, p.phash_b2, p.phash_b3],
            v.household_id,
        )?
        .into_iter()
        .map(|(id, _, other)| {
            let d = hash.distance(jiuzhu_photos::PerceptualHash::from_i64(other));
            (id, d)
        })
        .filter(|(_, d)| *d <= s.similar_max_distance)
        .collect();
        if !near.is_empty() {
            flags.push(flag(
                FlagCode::SimilarPhoto,
                "与其他户走访照片几乎相同 / nearly the same picture as another household's visit photo".into(),
                json!({"photo_id": p.id, "similar": near.iter().map(|(id, d)| json!({"photo_id": id, "distance": d})).collect::<Vec<_>>()}),
            ));
        }
    }
    Ok(flags)
}
