use clap::Parser;

/// mimalloc rather than glibc's allocator: a full sync builds and drops tens of thousands of
/// small strings and vectors, and glibc's `malloc`/`free` were a quarter of its server time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A refusal is printed as its message and its causes, never as a stack trace, whatever
/// `RUST_BACKTRACE` says: the person at the terminal needs to know what to fix.
#[actix_web::main]
async fn main() -> std::process::ExitCode {
    match jiuzhu_server::cli::run(jiuzhu_server::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
