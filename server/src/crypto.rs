//! Encryption at rest for personal fields (ID numbers, phone numbers) and the blind index that
//! lets them be found by exact value without decrypting every row.

use base64::Engine;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use sha2::Sha256;
use std::sync::RwLock;

/// Key id the server uses for `Secrets.data_key` until a rotation introduces another.
pub const DEFAULT_KEY_ID: &str = "k1";

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Domain-separation prefix for the per-purpose index keys: the index key is also the token
/// pepper, and a blind index must never equal a token hash or another kind's index.
const BLIND_INDEX_LABEL: &str = "jiuzhu blind index v1 ";

/// Bytes of HMAC-SHA-256 a blind index keeps: the first 128 bits. Two different numbers share an
/// index with probability about n² / 2¹²⁹ (10⁻²⁰ for every resident of China), and half the
/// bytes halve the largest random-order index, which is what bulk imports spend their time
/// writing. Stored raw (`BLOB` / `bytea`), not as hex.
pub const BLIND_INDEX_LEN: usize = 16;

/// A blind index: a keyed hash of a canonical value, equal exactly when the values are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlindIndex([u8; BLIND_INDEX_LEN]);

impl BlindIndex {
    pub fn as_bytes(&self) -> &[u8; BLIND_INDEX_LEN] {
        &self.0
    }

    /// The bytes as a column value.
    pub fn to_vec(&self) -> Vec<u8> {
        self.0.to_vec()
    }
}

/// Standard alphabet with padding, so an operator can inspect a value with `base64 -d` or the
/// database's own `decode(..., 'base64')`.
const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// An encrypted field as stored: the id of the key that sealed it, and
/// base64(nonce ‖ ciphertext ‖ tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub ciphertext: String,
}

/// Messages carry no plaintext and no key material; only a key id, which is not secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    #[error("no data key with id {0:?} is configured")]
    UnknownKeyId(String),
    #[error("the stored ciphertext is not valid base64 or is too short")]
    Malformed,
    /// Deliberately one error for wrong key, wrong context and tampering: the AEAD cannot tell
    /// them apart, and guessing would mislead whoever reads the log.
    #[error("the ciphertext does not authenticate under this key and context")]
    NotAuthentic,
    #[error("the decrypted field is not UTF-8")]
    NotUtf8,
    #[error("the field is too long to encrypt")]
    TooLong,
}

/// Seals and opens personal fields, and computes their blind index.
///
/// Holds the current data key, any retired data keys still needed to read old rows, and the
/// index key. The index key has no rotation: changing it means recomputing every index.
pub struct FieldCipher {
    current_key_id: String,
    /// The current key first, then retired ones in the order they were added.
    keys: Vec<(String, SecretBox<[u8; 32]>)>,
    index_key: SecretBox<[u8; 32]>,
    /// Per-kind index keys, derived once: an import indexes millions of values of one kind.
    /// Callers name kinds with constants, so this holds a handful of entries.
    purpose_keys: RwLock<Vec<(String, SecretBox<[u8; 32]>)>>,
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldCipher")
            .field("current_key_id", &self.current_key_id)
            .field(
                "key_ids",
                &self.keys.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl FieldCipher {
    /// New rows are sealed with `data_key` under `key_id`; `index_key` keys the blind index
    /// (the server passes `Secrets.token_pepper`, see [`FieldCipher::blind_index`]).
    pub fn new(
        data_key: &SecretBox<[u8; 32]>,
        index_key: &SecretBox<[u8; 32]>,
        key_id: &str,
    ) -> Self {
        Self {
            current_key_id: key_id.to_owned(),
            keys: vec![(key_id.to_owned(), copy_key(data_key))],
            index_key: copy_key(index_key),
            purpose_keys: RwLock::new(Vec::new()),
        }
    }

    /// Adds a retired key so rows sealed before a rotation can still be read. An id that is
    /// already present keeps its first key: the current key can never be displaced by mistake.
    pub fn with_old_key(mut self, key_id: &str, key: &SecretBox<[u8; 32]>) -> Self {
        if !self.keys.iter().any(|(id, _)| id == key_id) {
            self.keys.push((key_id.to_owned(), copy_key(key)));
        }
        self
    }

    /// The id new rows are sealed under; rows with another id are due for re-encryption.
    pub fn current_key_id(&self) -> &str {
        &self.current_key_id
    }

    /// Seals `plaintext` under the current key. `context` names the column (for example
    /// `"member.id_number"`) and is authenticated, so a ciphertext copied into another column
    /// or table fails to open. A fresh random 192-bit nonce per call makes equal plaintexts
    /// encrypt differently; XChaCha's long nonce makes random nonces safe without a counter.
    pub fn encrypt(&self, plaintext: &str, context: &str) -> Result<Sealed, CryptoError> {
        let cipher = self.cipher(&self.current_key_id)?;
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let nonce = XNonce::from(nonce_bytes);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::TooLong)?;
        let mut stored = Vec::with_capacity(NONCE_LEN + sealed.len());
        stored.extend_from_slice(&nonce_bytes);
        stored.extend_from_slice(&sealed);
        Ok(Sealed {
            key_id: self.current_key_id.clone(),
            ciphertext: BASE64.encode(stored),
        })
    }

    /// Opens a stored field with the key named by its row's key id, current or retired.
    pub fn decrypt(
        &self,
        sealed_key_id: &str,
        ciphertext: &str,
        context: &str,
    ) -> Result<String, CryptoError> {
        let cipher = self.cipher(sealed_key_id)?;
        let stored = BASE64
            .decode(ciphertext)
            .map_err(|_| CryptoError::Malformed)?;
        if stored.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce_bytes, sealed) = stored
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(CryptoError::Malformed)?;
        let plaintext = cipher
            .decrypt(
                &XNonce::from(*nonce_bytes),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::NotAuthentic)?;
        String::from_utf8(plaintext).map_err(|_| CryptoError::NotUtf8)
    }

    /// Blind index of `value` for exact-match search: HMAC-SHA-256 truncated to
    /// [`BLIND_INDEX_LEN`] bytes, under a key derived per `kind` (`"id_number"`, `"phone"`) from
    /// the index key. Deriving per kind keeps an ID number's index unrelated to a phone number's
    /// with the same digits and to the token hashes made with the same pepper. Callers pass the
    /// canonical form (for an ID number, `IdNumber::as_str`), since different spellings of one
    /// value index differently.
    pub fn blind_index(&self, kind: &str, value: &str) -> BlindIndex {
        let mut mac = self.with_purpose_key(kind, hmac_sha256);
        mac.update(value.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; BLIND_INDEX_LEN];
        out.copy_from_slice(&full[..BLIND_INDEX_LEN]);
        BlindIndex(out)
    }

    /// Runs `f` on the index key for `kind`, deriving and keeping it on first use.
    fn with_purpose_key<T>(&self, kind: &str, f: impl Fn(&[u8; 32]) -> T) -> T {
        // A poisoned lock only means another thread panicked while pushing; the keys in it are
        // still whole (each is pushed complete), so carry on with them.
        {
            let keys = self
                .purpose_keys
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((_, key)) = keys.iter().find(|(k, _)| k == kind) {
                return f(key.expose_secret());
            }
        }
        let derived = SecretBox::<[u8; 32]>::init_with_mut(|key| {
            let mut mac = hmac_sha256(self.index_key.expose_secret());
            mac.update(BLIND_INDEX_LABEL.as_bytes());
            mac.update(kind.as_bytes());
            key.copy_from_slice(&mac.finalize().into_bytes());
        });
        let result = f(derived.expose_secret());
        let mut keys = self
            .purpose_keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !keys.iter().any(|(k, _)| k == kind) {
            keys.push((kind.to_owned(), derived));
        }
        result
    }

    fn cipher(&self, key_id: &str) -> Result<XChaCha20Poly1305, CryptoError> {
        // The cipher is built per call from the boxed key: it is cheap (a key copy), and keeps
        // the long-lived copy of each key in zeroize-on-drop storage.
        self.keys
            .iter()
            .find(|(id, _)| id == key_id)
            .map(|(_, key)| XChaCha20Poly1305::new(Key::from_slice(key.expose_secret())))
            .ok_or_else(|| CryptoError::UnknownKeyId(key_id.to_owned()))
    }
}

/// Copies a key into a new box without leaving a copy on the stack.
fn copy_key(key: &SecretBox<[u8; 32]>) -> SecretBox<[u8; 32]> {
    let mut copy = SecretBox::new(Box::new([0u8; 32]));
    copy.expose_secret_mut()
        .copy_from_slice(key.expose_secret());
    copy
}

fn hmac_sha256(key: &[u8; 32]) -> Hmac<Sha256> {
    // HMAC zero-pads a short key to the hash's block size, so padding it here gives the same MAC
    // through the infallible constructor; the padded copy is wiped afterwards.
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
    block.zeroize();
    mac
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const CONTEXT: &str = "member.id_number";

    fn key(byte: u8) -> SecretBox<[u8; 32]> {
        SecretBox::new(Box::new([byte; 32]))
    }

    fn cipher() -> FieldCipher {
        FieldCipher::new(&key(1), &key(2), DEFAULT_KEY_ID)
    }

    #[test]
    fn round_trip() {
        let c = cipher();
        let sealed = c.encrypt("11010519491231002X", CONTEXT).unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert!(!sealed.ciphertext.contains("11010519491231002X"));
        let opened = c
            .decrypt(&sealed.key_id, &sealed.ciphertext, CONTEXT)
            .unwrap();
        assert_eq!(opened, "11010519491231002X");
        let empty = c.encrypt("", CONTEXT).unwrap();
        assert_eq!(c.decrypt("k1", &empty.ciphertext, CONTEXT).unwrap(), "");
        let chinese = c.encrypt("张三 13812345678", "member.phone").unwrap();
        assert_eq!(
            c.decrypt("k1", &chinese.ciphertext, "member.phone")
                .unwrap(),
            "张三 13812345678"
        );
    }

    #[test]
    fn equal_plaintexts_encrypt_differently() {
        let c = cipher();
        let a = c.encrypt("13812345678", CONTEXT).unwrap();
        let b = c.encrypt("13812345678", CONTEXT).unwrap();
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn wrong_context_fails() {
        let c = cipher();
        let sealed = c.encrypt("11010519491231002X", CONTEXT).unwrap();
        assert_eq!(
            c.decrypt("k1", &sealed.ciphertext, "member.phone"),
            Err(CryptoError::NotAuthentic)
        );
    }

    #[test]
    fn any_flipped_byte_fails() {
        let c = cipher();
        let sealed = c.encrypt("11010519491231002X", CONTEXT).unwrap();
        let bytes = BASE64.decode(&sealed.ciphertext).unwrap();
        for i in 0..bytes.len() {
            let mut tampered = bytes.clone();
            tampered[i] ^= 0x01;
            let result = c.decrypt("k1", &BASE64.encode(&tampered), CONTEXT);
            assert_eq!(result, Err(CryptoError::NotAuthentic), "byte {i}");
        }
        let truncated = BASE64.encode(&bytes[..bytes.len() - 1]);
        assert_eq!(
            c.decrypt("k1", &truncated, CONTEXT),
            Err(CryptoError::NotAuthentic)
        );
    }

    #[test]
    fn malformed_input_fails_cleanly() {
        let c = cipher();
        assert_eq!(
            c.decrypt("k1", "not base64!", CONTEXT),
            Err(CryptoError::Malformed)
        );
        assert_eq!(
            c.decrypt("k1", &BASE64.encode([0u8; 39]), CONTEXT),
            Err(CryptoError::Malformed)
        );
        assert_eq!(c.decrypt("k1", "", CONTEXT), Err(CryptoError::Malformed));
    }

    #[test]
    fn unknown_key_id_fails() {
        let c = cipher();
        let sealed = c.encrypt("11010519491231002X", CONTEXT).unwrap();
        assert_eq!(
            c.decrypt("k9", &sealed.ciphertext, CONTEXT),
            Err(CryptoError::UnknownKeyId("k9".into()))
        );
    }

    #[test]
    fn errors_and_debug_reveal_nothing_secret() {
        let c = cipher();
        let debug = format!("{c:?}");
        assert!(debug.contains("k1"));
        assert!(!debug.contains("[1, 1") && !debug.contains("0101"));
        let sealed = c.encrypt("11010519491231002X", CONTEXT).unwrap();
        let err = c.decrypt("k1", &sealed.ciphertext, "other").unwrap_err();
        assert!(!err.to_string().contains("1101"));
    }

    #[test]
    fn rotation_keeps_old_rows_readable() {
        let before = FieldCipher::new(&key(1), &key(9), "k1");
        let old_row = before.encrypt("11010519491231002X", CONTEXT).unwrap();

        let after = FieldCipher::new(&key(3), &key(9), "k2").with_old_key("k1", &key(1));
        let new_row = after.encrypt("13812345678", CONTEXT).unwrap();
        assert_eq!(new_row.key_id, "k2");
        assert_eq!(after.current_key_id(), "k2");
        assert_eq!(
            after
                .decrypt(&old_row.key_id, &old_row.ciphertext, CONTEXT)
                .unwrap(),
            "11010519491231002X"
        );
        assert_eq!(
            after
                .decrypt(&new_row.key_id, &new_row.ciphertext, CONTEXT)
                .unwrap(),
            "13812345678"
        );
        // The old cipher does not know k2.
        assert!(before
            .decrypt(&new_row.key_id, &new_row.ciphertext, CONTEXT)
            .is_err());
        // Naming a row with the wrong key id fails rather than returning garbage.
        assert_eq!(
            after.decrypt("k2", &old_row.ciphertext, CONTEXT),
            Err(CryptoError::NotAuthentic)
        );
    }

    #[test]
    fn an_old_key_cannot_displace_the_current_one() {
        let c = FieldCipher::new(&key(1), &key(2), "k1").with_old_key("k1", &key(7));
        let sealed = c.encrypt("x", CONTEXT).unwrap();
        let reference = FieldCipher::new(&key(1), &key(2), "k1");
        assert_eq!(
            reference
                .decrypt("k1", &sealed.ciphertext, CONTEXT)
                .unwrap(),
            "x"
        );
    }

    #[test]
    fn blind_index_is_deterministic_and_separated() {
        let c = cipher();
        let a = c.blind_index("id_number", "11010519491231002X");
        assert_eq!(a, c.blind_index("id_number", "11010519491231002X"));
        assert_eq!(a.as_bytes().len(), BLIND_INDEX_LEN);
        assert_ne!(a, c.blind_index("id_number", "110105194912310021"));
        assert_ne!(a, c.blind_index("phone", "11010519491231002X"));

        let other_key = FieldCipher::new(&key(1), &key(3), "k1");
        assert_ne!(a, other_key.blind_index("id_number", "11010519491231002X"));
        // The data key plays no part: rotating it must not invalidate the index.
        let rotated = FieldCipher::new(&key(5), &key(2), "k2");
        assert_eq!(a, rotated.blind_index("id_number", "11010519491231002X"));
    }

    #[test]
    fn padded_hmac_key_matches_the_plain_constructor() {
        let k = [42u8; 32];
        let mut padded = hmac_sha256(&k);
        padded.update(b"value");
        let mut plain = <Hmac<Sha256> as Mac>::new_from_slice(&k).unwrap();
        plain.update(b"value");
        assert_eq!(
            padded.finalize().into_bytes(),
            plain.finalize().into_bytes()
        );
    }

    /// Migration 000004 turned stored 64-hex indexes into their first 16 bytes; that only keeps
    /// finding numbers if a fresh index is exactly that prefix of the full HMAC.
    #[test]
    fn blind_index_is_the_prefix_of_the_full_hmac() {
        let c = cipher();
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(&[2u8; 32]).unwrap();
        derive.update(b"jiuzhu blind index v1 id_number");
        let purpose = derive.finalize().into_bytes();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&purpose).unwrap();
        mac.update(b"11010519491231002X");
        let full_hex = hex::encode(mac.finalize().into_bytes());
        let ours = c.blind_index("id_number", "11010519491231002X");
        assert_eq!(hex::encode(ours.as_bytes()), full_hex[..32]);
        // The cached key gives the same answer as the first, derived one.
        assert_eq!(ours, c.blind_index("id_number", "11010519491231002X"));
        assert_eq!(
            c.blind_index("phone", "13812345678"),
            cipher().blind_index("phone", "13812345678")
        );
    }
}
