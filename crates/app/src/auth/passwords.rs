//! Password hashing with argon2id, off the async runtime and bounded.
//!
//! One argon2 check costs ~20 MB and tens of milliseconds of one core. On the runtime's
//! threads it would stall every other request while it runs; so it runs on the blocking pool,
//! and at most one check per core runs at a time, so a flood of sign-in attempts queues here
//! instead of taking every core and all the memory.

use std::sync::OnceLock;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use tokio::sync::Semaphore;

use crate::{AppError, Result};

/// A hash of a password nobody has, checked when the login is unknown so that an unknown
/// e-mail costs as long as a wrong password (logins cannot be enumerated by timing).
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$X2jF2NfQ1Ihdh3nFNL4mH3aTbI7+eh6j6e9z3GfLq0k";

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
    })
}

/// Runs `work` on the blocking pool once a permit is free.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let _permit = permits()
        .acquire()
        .await
        .map_err(|_| AppError::internal("the password checker is closed"))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::internal(format!("password hashing failed: {e}")))
}

/// Hashes a password with argon2id and a random salt.
pub async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    bounded(move || hash_now(&password)).await?
}

/// True when `password` matches `hash`; with no hash (an unknown login) it spends the same
/// time and answers false.
pub async fn verify_password(password: &str, hash: Option<&str>) -> Result<bool> {
    let password = password.to_owned();
    let (hash, known) = match hash {
        Some(h) => (h.to_owned(), true),
        None => (DECOY_HASH.to_owned(), false),
    };
    let matches = bounded(move || verify_now(&password, &hash)).await?;
    Ok(matches && known)
}

fn hash_now(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("hashing a password: {e}")))
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", Some(&hash))
            .await
            .unwrap());
        assert!(!verify_password("wrong horse battery", Some(&hash))
            .await
            .unwrap());
        assert!(!verify_password("anything", None).await.unwrap());
    }
}
