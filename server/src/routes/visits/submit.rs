//! `POST /visits`: a visit report from a phone, stored once whatever the number of tries.

use actix_web::{post, web, HttpResponse};
use jiuzhu_proto::user::Role;
use jiuzhu_proto::visit::{SubmitVisit, Visit};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::visits::{self, CheckedAnswers, Context, Submission};

/// Submit a visit report. The id is the phone's UUID: sending the same report again answers 200
/// with what was stored; the same id with a different body answers 409. Answers are checked
/// against the form version the task pinned; the server's own checks add flags for review.
#[utoipa::path(
    tag = "visits",
    security(("bearer" = [])),
    request_body = SubmitVisit,
    responses(
        (status = 201, description = "Stored", body = Visit),
        (status = 200, description = "Stored before (a replay): nothing new written", body = Visit),
        (status = 404, description = "No such task of yours", body = ErrorBody),
        (status = 409, description = "The id was used for another body, or the task was reassigned, cancelled or already submitted", body = ErrorBody),
        (status = 422, description = "Invalid answers or fields, every one listed", body = ErrorBody),
    )
)]
#[post("/visits")]
pub async fn submit_visit(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<SubmitVisit>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::GridWorker])?;
    let mut input = body.into_inner();
    let state = state.into_inner();
    let at = visits::check_shape(&input, chrono::Utc::now(), &state.settings.visit_checks)?;
    let hash = visits::body_hash(&input)?;
    // The answers are checked and sealed here, off the single thread that commits SQLite
    // visits; the transaction only reads and writes rows.
    let form = match state.forms.cached(&input.form_key, input.form_version) {
        Some(form) => Some(form),
        None => {
            let (st, key, version) = (state.clone(), input.form_key.clone(), input.form_version);
            state
                .db(move |conn| st.forms.get(conn, &key, version))
                .await?
        }
    };
    let mut answers = CheckedAnswers::check(&input, form.as_deref(), &state.cipher)?;
    let cleaned = answers.take_cleaned();
    // Sealed now: freed here rather than on the committing thread.
    drop(std::mem::take(&mut input.answers));
    let scope = caller.scope();
    let worker = caller.user_id.to_string();
    let st = state.clone();
    let (row, replay) = state
        .tx_grouped(move |conn| {
            let grids = st.grids.get();
            let cx = Context {
                worker: &worker,
                scope: &scope,
                grids: &grids,
                checks: &st.settings.visit_checks,
                photo_checks: &st.settings.photos,
                now: db::now(),
            };
            Ok(
                match visits::submit(conn, &cx, &input, at, &hash, answers)? {
                    Submission::Created(row) => (row, false),
                    Submission::Replay(row) => (row, true),
                },
            )
        })
        .await?;
    // A new visit's answers are the ones just checked; a replay's are what was stored then.
    let visit = match cleaned {
        Some(answers) if !replay => visits::to_api_with(row, answers)?,
        _ => visits::to_api(row, &state.cipher)?,
    };
    Ok(if replay {
        HttpResponse::Ok().json(visit)
    } else {
        HttpResponse::Created().json(visit)
    })
}
