//! The one mechanism that limits every org-bound read and write to the caller's subtree.
//!
//! Every org-bound row carries the materialised path of the unit it belongs to (`/320400/320402/…/`).
//! A caller's scope is their unit's path; a row is in scope when its path starts with it. In SQL that
//! is the half-open range `[path, path with its final '/' bumped to '0')`, which any B-tree index
//! serves on both backends (PostgreSQL columns use the "C" collation so the order is bytewise).
//! Repository functions for org-bound data take a `&Scope`, so an endpoint cannot forget it.

/// The subtree a caller may see. Only [`crate::auth::Caller::scope`] and trusted server-side code
/// (the command line, background jobs) make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    path: String,
}

impl Scope {
    /// The subtree under `path`, which must end with '/'.
    pub(crate) fn subtree(path: &str) -> Self {
        let mut path = path.to_owned();
        if !path.ends_with('/') {
            path.push('/');
        }
        Self { path }
    }

    /// Everything: for the command line and background jobs, never for a request. Public for the
    /// fuzz targets (`fuzz/targets`), which import files as the command line does.
    pub fn everything() -> Self {
        Self { path: "/".into() }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether a row with this org path is inside the scope.
    pub fn contains(&self, org_path: &str) -> bool {
        org_path.starts_with(&self.path)
    }

    /// Inclusive lower bound of the path range.
    pub fn lower(&self) -> String {
        self.path.clone()
    }

    /// Exclusive upper bound: the path with its trailing '/' replaced by the next byte, '0'.
    pub fn upper(&self) -> String {
        let mut upper = self.path[..self.path.len() - 1].to_owned();
        upper.push('0');
        upper
    }
}

/// Filters a diesel query to the rows whose path column lies inside a [`Scope`].
#[macro_export]
macro_rules! in_scope {
    ($query:expr, $column:expr, $scope:expr) => {
        $query
            .filter($column.ge($scope.lower()))
            .filter($column.lt($scope.upper()))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_matches_prefix() {
        let s = Scope::subtree("/320400/320402/");
        for (path, inside) in [
            ("/320400/320402/", true),
            ("/320400/320402/320402001/", true),
            ("/320400/320404/", false),
            ("/320400/3204020/", false),
            ("/320400/", false),
        ] {
            assert_eq!(s.contains(path), inside, "{path}");
            let in_range = path >= s.lower().as_str() && path < s.upper().as_str();
            assert_eq!(in_range, inside, "range for {path}");
        }
        // The method under test.
        #[allow(clippy::disallowed_methods)]
        let all = Scope::everything();
        assert!(all.contains("/1/"));
        assert!("/999999/" < all.upper().as_str());
    }
}
