//! The filesystem backend: the contract, durability layout and no stray temporary files.

use jiuzhu_photos::store::{PhotoStore, Store, StoreConfig};

use crate::store_contract::exercise;

#[tokio::test]
async fn filesystem_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let config: StoreConfig = serde_json::from_value(
        serde_json::json!({"backend": "filesystem", "root": dir.path().join("photos")}),
    )
    .unwrap();
    let store = Store::open(&config).unwrap();
    exercise(&store).await;
    // Only the content-addressed files remain: no temporary file was left behind.
    let mut files = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(
                    path.strip_prefix(dir.path().join("photos"))
                        .unwrap()
                        .display()
                        .to_string(),
                );
            }
        }
    }
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().all(|f| !f.contains(".tmp-")), "{files:?}");
    let key = jiuzhu_photos::store::ObjectKey::parse(&files[0]).unwrap();
    assert!(store.exists(&key).await.unwrap());
}
