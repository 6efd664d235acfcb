//! The S3 backend against moto's S3-compatible server, started here on a free loopback port.
//!
//! moto comes from PyPI (`pip install 'moto[server]'`; this test installs it when missing). Without
//! it the test is skipped with a message, except under CI (env `CI` set), where it fails.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiuzhu_photos::store::{S3Config, Store, StoreConfig};

use crate::store_contract::exercise;

struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_installed() -> bool {
    Command::new("moto_server")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn install_moto() {
    eprintln!("moto_server not found: installing moto[server] from PyPI");
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "moto[server]"])
        .status();
    eprintln!("pip: {status:?}");
}

impl Moto {
    /// `None` when moto cannot be had outside CI.
    fn start() -> Option<Self> {
        if !moto_installed() {
            install_moto();
        }
        if !moto_installed() {
            let message = "moto_server is not installed and `pip install 'moto[server]'` failed";
            assert!(
                std::env::var_os("CI").is_none(),
                "{message}: the S3 backend test cannot run under CI"
            );
            eprintln!("SKIPPED s3_store_keeps_the_contract: {message}");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// Buckets are made out of band (object_store does not create them): moto accepts an unsigned PUT.
    fn create_bucket(&self, bucket: &str) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let request = format!(
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "creating the bucket: {response}"
        );
    }
}

#[tokio::test]
async fn s3_store_keeps_the_contract() {
    let Some(moto) = Moto::start() else {
        return;
    };
    moto.create_bucket("jiuzhu-photos");
    let config = StoreConfig::S3(S3Config {
        bucket: "jiuzhu-photos".to_owned(),
        region: "us-east-1".to_owned(),
        endpoint: Some(format!("http://127.0.0.1:{}", moto.port)),
        access_key_id: Some("testing".to_owned()),
        secret_access_key: Some("testing".to_owned().into()),
        allow_http: true,
        prefix: Some("test/photos".to_owned()),
    });
    let store = Store::open(&config).unwrap();
    exercise(&store).await;
}
