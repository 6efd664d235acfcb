//! Password hashing with argon2id (OWASP parameters) on a bounded pool: at most
//! `concurrency` hashes run at once, so a flood of log-ins waits its turn (and then gets 503 with
//! Retry-After) instead of taking every core from the requests that are not log-ins.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};
use jiuzhu_proto::ErrorCode;

/// OWASP's recommended argon2id settings: 19 MiB, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    queue_timeout: Duration,
    /// Verified against when the username is unknown, so both answers take the same time.
    dummy_hash: Arc<String>,
}

/// The outcome of checking a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// Set when the stored hash used other parameters: the new hash to store.
    pub rehashed: Option<String>,
}

fn argon2() -> ApiResult<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes synchronously; for the command line and start-up.
pub fn hash_now(password: &str) -> ApiResult<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("hashing failed: {e}")))
}

fn verify_now(password: &str, stored: &str) -> ApiResult<Verified> {
    let parsed = PasswordHash::new(stored)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored hash unreadable: {e}")))?;
    let hasher = argon2()?;
    let matches = hasher.verify_password(password.as_bytes(), &parsed).is_ok();
    let current = Params::try_from(&parsed).ok().is_some_and(|p| {
        p.m_cost() == MEMORY_KIB && p.t_cost() == ITERATIONS && p.p_cost() == PARALLELISM
    }) && parsed.algorithm == argon2::ARGON2ID_IDENT;
    let rehashed = if matches && !current {
        Some(hash_now(password)?)
    } else {
        None
    };
    Ok(Verified { matches, rehashed })
}

/// Checks a new password's length before any hashing; says nothing about its content.
pub fn check_policy(password: &str) -> ApiResult<()> {
    let len = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidPassword,
            format!("密码长度须为 {MIN_LEN} 到 {MAX_LEN} 个字符"),
            format!("a password must have {MIN_LEN} to {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

impl PasswordHasher {
    pub fn new(concurrency: usize, queue_timeout: Duration) -> ApiResult<Self> {
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            queue_timeout,
            dummy_hash: Arc::new(hash_now("jiuzhu dummy password for timing")?),
        })
    }

    async fn on_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let permit = tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::busy(self.queue_timeout.as_secs().max(1)))?
            .map_err(ApiError::internal)?;
        let span = tracing::Span::current();
        let out = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(ApiError::internal)?;
        out
    }

    pub async fn hash(&self, password: SecretString) -> ApiResult<String> {
        self.on_pool(move || hash_now(password.expose_secret()))
            .await
    }

    /// Verifies against `stored`, or against a dummy hash when there is no such user.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> ApiResult<Verified> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let verified = self
            .on_pool(move || verify_now(password.expose_secret(), &stored))
            .await?;
        Ok(Verified {
            matches: known && verified.matches,
            rehashed: if known { verified.rehashed } else { None },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn hash_uses_owasp_parameters_and_verifies() {
        let h = hash_now("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        let v = verify_now("correct horse", &h).unwrap();
        assert!(v.matches);
        assert!(v.rehashed.is_none());
        assert!(!verify_now("wrong horse", &h).unwrap().matches);
    }

    #[test]
    fn old_parameters_are_rehashed_on_success() {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse", &salt)
        .unwrap()
        .to_string();
        let v = verify_now("correct horse", &weak).unwrap();
        assert!(v.matches);
        let new = v.rehashed.unwrap();
        assert!(new.contains("m=19456,t=2,p=1"));
        assert!(verify_now("wrong", &weak).unwrap().rehashed.is_none());
    }

    #[test]
    fn policy_bounds_length() {
        assert!(check_policy("").is_err());
        assert!(check_policy(&"x".repeat(1 << 20)).is_err());
        assert!(check_policy("long enough").is_ok());
    }
}
