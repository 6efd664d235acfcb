use clap::Parser;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    jiuzhu_server::cli::run(jiuzhu_server::cli::Cli::parse()).await
}
