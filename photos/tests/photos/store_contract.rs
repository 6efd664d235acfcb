//! What every PhotoStore backend must do, run against each one.

use bytes::Bytes;
use jiuzhu_photos::store::{save, ObjectKey, ObjectKind, PhotoStore};
use jiuzhu_photos::{process_file, Limits};

use crate::support::photo;

pub async fn exercise(store: &impl PhotoStore) {
    let bytes = Bytes::from_static(b"not really a jpeg, the store does not care");
    let key = ObjectKey::for_content(ObjectKind::Original, &bytes, "jpg");
    assert!(!store.exists(&key).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), None);
    store.put(&key, bytes.clone()).await.unwrap();
    // Idempotent: the same bytes again are a no-op.
    store.put(&key, bytes.clone()).await.unwrap();
    assert!(store.exists(&key).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), Some(bytes));
    store.delete(&key).await.unwrap();
    assert!(!store.exists(&key).await.unwrap());
    // Deleting what is not there is fine.
    store.delete(&key).await.unwrap();

    // A processed photo: three objects, the same upload twice gives the same keys.
    let processed = process_file(&photo("gps/DSCN0010.jpg"), &Limits::default()).unwrap();
    let first = save(store, &processed).await.unwrap();
    let second = save(store, &processed).await.unwrap();
    assert_eq!(first, second);
    assert!(first.original.as_str().starts_with("original/"));
    assert!(first.thumbnail.as_str().ends_with(".jpg"));
    assert_eq!(
        store.get(&first.original).await.unwrap().unwrap(),
        processed.original
    );
    assert_eq!(
        store.get(&first.thumbnail).await.unwrap().unwrap(),
        processed.thumbnail.jpeg
    );
    assert_eq!(
        store.get(&first.display).await.unwrap().unwrap(),
        processed.display.jpeg
    );
}
