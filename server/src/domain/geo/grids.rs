//! The grid lookup the server answers "which grid is this point in" with, swapped whole when the
//! boundaries change.

use std::sync::{Arc, RwLock};

use super::GridLookup;

/// What the lookup answers about a grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridKey {
    pub id: String,
    pub name: String,
}

/// The grid lookup and the fingerprint of the boundaries it was built from.
pub struct GridIndex {
    current: RwLock<(Arc<GridLookup<GridKey>>, String)>,
}

impl GridIndex {
    pub fn new(lookup: GridLookup<GridKey>, fingerprint: String) -> Self {
        Self {
            current: RwLock::new((Arc::new(lookup), fingerprint)),
        }
    }

    pub fn get(&self) -> Arc<GridLookup<GridKey>> {
        match self.current.read() {
            Ok(guard) => guard.0.clone(),
            Err(poisoned) => poisoned.into_inner().0.clone(),
        }
    }

    pub fn fingerprint(&self) -> String {
        match self.current.read() {
            Ok(guard) => guard.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    pub fn replace(&self, lookup: GridLookup<GridKey>, fingerprint: String) {
        let value = (Arc::new(lookup), fingerprint);
        match self.current.write() {
            Ok(mut guard) => *guard = value,
            Err(poisoned) => *poisoned.into_inner() = value,
        }
    }
}
