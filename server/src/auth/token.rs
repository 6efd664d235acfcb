//! Opaque bearer tokens: 32 random bytes, shown to the client once, stored only as a keyed hash.

use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

pub const ACCESS_PREFIX: &str = "jza_";
pub const REFRESH_PREFIX: &str = "jzr_";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Access => ACCESS_PREFIX,
            TokenKind::Refresh => REFRESH_PREFIX,
        }
    }
}

/// A new random token of the given kind.
pub fn generate(kind: TokenKind) -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "{}{}",
        kind.prefix(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The stored form of a token: HMAC-SHA-256 under the pepper, hex. A stolen database alone does
/// not let anyone present a token.
pub fn hash(pepper: &SecretBox<[u8; 32]>, token: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(pepper.expose_secret()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length, so this arm cannot be reached with a 32-byte pepper.
        Err(_) => return String::new(),
    };
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether a presented string looks like a token of this kind (cheap rejection before any query).
pub fn looks_like(kind: TokenKind, token: &str) -> bool {
    token.len() == kind.prefix().len() + 43
        && token.starts_with(kind.prefix())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_recognised() {
        let a = generate(TokenKind::Access);
        let b = generate(TokenKind::Access);
        assert_ne!(a, b);
        assert!(looks_like(TokenKind::Access, &a));
        assert!(!looks_like(TokenKind::Refresh, &a));
        let pepper = SecretBox::new(Box::new([7u8; 32]));
        assert_eq!(hash(&pepper, &a).len(), 64);
        assert_ne!(hash(&pepper, &a), hash(&pepper, &b));
    }

    /// (Here rather than in `crypto`, which sits below `auth`.)
    #[test]
    fn blind_index_differs_from_a_token_hash_under_the_same_pepper() {
        use crate::crypto::{FieldCipher, BLIND_INDEX_LEN};
        let key = |byte: u8| SecretBox::new(Box::new([byte; 32]));
        let pepper = key(2);
        let c = FieldCipher::new(&key(1), &pepper, "k1");
        let value = "11010519491231002X";
        let token_hash = hash(&pepper, value);
        assert_ne!(
            hex::encode(c.blind_index("id_number", value).as_bytes()),
            token_hash[..2 * BLIND_INDEX_LEN]
        );
    }
}
