//! Object keys: `{kind}/{first two hex digits}/{sha256}.{ext}`, the same on every backend.

use serde::{Deserialize, Serialize};

use crate::{PhotoError, Sha256Digest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Original,
    Display,
    Thumbnail,
}

impl ObjectKind {
    fn prefix(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Display => "display",
            Self::Thumbnail => "thumbnail",
        }
    }
}

/// A validated key: lowercase ASCII letters, digits, `/`, `.`, `-`, `_`; no empty, `.` or `..`
/// segments; so it is a safe relative path on disk and a plain S3 key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectKey(String);

impl ObjectKey {
    /// The content-addressed key of `bytes`.
    pub fn for_content(kind: ObjectKind, bytes: &[u8], extension: &str) -> Self {
        let hash = Sha256Digest::of(bytes).to_hex();
        Self(format!(
            "{}/{}/{hash}.{extension}",
            kind.prefix(),
            &hash[..2]
        ))
    }

    pub fn parse(key: &str) -> Result<Self, PhotoError> {
        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "/.-_".contains(c);
        let valid = !key.is_empty()
            && key.len() <= 512
            && key.chars().all(valid_char)
            && key
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..");
        if valid {
            Ok(Self(key.to_owned()))
        } else {
            Err(PhotoError::Storage("invalid object key".to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ObjectKey {
    type Error = PhotoError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ObjectKey> for String {
    fn from(key: ObjectKey) -> Self {
        key.0
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn content_keys_are_stable_and_parse_back() {
        let key = ObjectKey::for_content(ObjectKind::Thumbnail, b"abc", "jpg");
        assert_eq!(
            key.as_str(),
            "thumbnail/ba/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.jpg"
        );
        assert_eq!(ObjectKey::parse(key.as_str()).unwrap(), key);
    }

    #[test]
    fn refuses_keys_that_could_escape_the_root() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "a//b",
            "./a",
            "A/b",
            "a\\b",
            "a/b/",
        ] {
            assert!(ObjectKey::parse(bad).is_err(), "{bad}");
        }
    }
}
