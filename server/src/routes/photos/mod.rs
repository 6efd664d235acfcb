//! `/photos` and `/uploads`: whole-body and resumable photo uploads, and scoped downloads.

pub mod get;
pub mod put;
pub mod uploads;

use jiuzhu_proto::user::Role;

use crate::auth::Caller;
use crate::db::repo::photos::PhotoRow;

/// The owner sees their photos; staff above the grid worker see photos in their scope (a photo
/// takes its household's path when a visit attaches it). Anyone else gets 404.
pub fn may_see(caller: &Caller, photo: &PhotoRow) -> bool {
    photo.owner_id == caller.user_id.to_string()
        || (caller.role != Role::GridWorker
            && caller.role != Role::Citizen
            && caller.scope().contains(&photo.org_path))
}
