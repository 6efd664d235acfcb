use clap::Parser;

/// mimalloc rather than glibc's allocator: a full sync builds and drops tens of thousands of
/// small strings and vectors, and glibc's `malloc`/`free` were a quarter of its server time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    jiuzhu_server::cli::run(jiuzhu_server::cli::Cli::parse()).await
}
