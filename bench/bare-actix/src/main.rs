//! The sync storm's peer: the machine's ceiling for "an actix-web JSON route". It answers
//! `GET /api/v1/sync` with bodies captured from the real server (`--full-body` when the request has
//! no cursor, `--incremental-body` when it has one), precomputed, so it does no authentication,
//! no database work and no serialisation: what is left is actix-web's HTTP handling of the same
//! requests and the same bytes, on the same number of workers as the server.

use actix_web::http::header::ContentType;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "bare-actix",
    about = "Benchmark peer: precomputed JSON over actix-web"
)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8090")]
    bind: String,
    /// HTTP worker threads (the server's default is one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// The body answered to a sync without a cursor (a real full sync, captured).
    #[arg(long)]
    full_body: std::path::PathBuf,
    /// The body answered to a sync with a cursor (a real incremental sync, captured).
    #[arg(long)]
    incremental_body: std::path::PathBuf,
}

struct Bodies {
    full: web::Bytes,
    incremental: web::Bytes,
}

async fn sync(req: HttpRequest, bodies: web::Data<Bodies>) -> HttpResponse {
    let body = if req.query_string().contains("cursor=") {
        bodies.incremental.clone()
    } else {
        bodies.full.clone()
    };
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body)
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bodies = web::Data::new(Bodies {
        full: std::fs::read(&args.full_body)?.into(),
        incremental: std::fs::read(&args.incremental_body)?.into(),
    });
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(bodies.clone())
            .route("/api/v1/sync", web::get().to(sync))
    })
    .bind(&args.bind)?;
    if let Some(w) = args.workers {
        server = server.workers(w);
    }
    server.run().await?;
    Ok(())
}
