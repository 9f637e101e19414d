//! A second factor for password sign-in: an authenticator app's codes (TOTP, the rules in
//! `credence_domain::totp`) and one-time recovery codes.
//!
//! After a correct password a login with an authenticator gets a *challenge*, not a session:
//! a row of its own, found by the SHA-256 of a secret kept in a cookie sent only to `/login`,
//! valid for [`CHALLENGE_MINUTES`]. Nothing but answering it accepts that cookie. A wrong
//! code counts against the login as a wrong password does (`credence_domain::sign_in`), and a
//! code is spent by its first use: the login's last accepted step is stored and only later
//! steps pass, with one conditional update, so two uses at once cannot both pass. When the
//! agency requires a second factor for admins, an admin without one is given a challenge to
//! enrol instead, and gets a session only once an authenticator is set up.
//!
//! Secrets are stored in base32 and never shown again after enrolment; audit events name
//! what happened (enrolled, disabled, a recovery code used, how many are left), never a
//! secret or a code. Recovery codes are stored as their SHA-256, as API tokens are.

use chrono::{DateTime, Utc};
use credence_domain::ids::UserId;
use credence_domain::totp::{self, CodeProblem};
use credence_domain::Role;
use credence_store::auth::identity::{self, User};
use credence_store::auth::{two_factor as store, users};
use credence_store::Tx;
use rand::RngCore;

use super::passwords::verify_password;
use super::{new_secret, open_session, token_hash, NewSession};
use crate::ops::audit::record;
use crate::{Actor, Admin, App, AppError, Result};

/// How long the step between password and session lasts.
pub const CHALLENGE_MINUTES: i64 = 5;

/// What a correct password leads to.
#[derive(Debug, Clone)]
pub enum SignIn {
    /// Signed in.
    Session(NewSession),
    /// An authenticator code (or a recovery code) is due first.
    Code(PendingSignIn),
    /// The agency requires this admin to set up an authenticator first.
    Enrol(PendingSignIn),
}

/// A sign-in challenge's secret, for its cookie (stored only as a hash).
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    pub secret: String,
}

/// What a challenge waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Code,
    Enrol,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Code => "code",
            Purpose::Enrol => "enrol",
        }
    }
}

/// A live challenge as its page shows it.
#[derive(Debug, Clone)]
pub struct ChallengeView {
    pub email: String,
    pub purpose: Purpose,
    /// Its forms must carry this.
    pub csrf_token: String,
}

/// The answer to a code challenge.
#[derive(Debug, Clone)]
pub enum SecondFactor {
    /// Six digits from the authenticator app.
    Code(String),
    /// One of the login's recovery codes.
    RecoveryCode(String),
}

/// A fresh authenticator secret to enrol, as the page shows it.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// Base32, for typing into an app (and for the form to send back with the first code).
    pub secret: String,
    /// The `otpauth://` URI the QR code carries.
    pub uri: String,
}

/// The signed-in login's second factor, for the account page.
#[derive(Debug, Clone)]
pub struct TwoFactorStatus {
    /// When it was set up; `None`: not on.
    pub enabled_at: Option<DateTime<Utc>>,
    pub recovery_codes_left: i64,
    /// The agency requires it of this login (an admin, when the agency says so).
    pub required: bool,
}

/// The second step due after a correct password for `user`, if any.
pub(crate) async fn due(tx: &mut Tx, user: &User) -> Result<Option<Purpose>> {
    if store::totp_secret(tx, user.agency_id, user.id)
        .await?
        .is_some()
    {
        return Ok(Some(Purpose::Code));
    }
    if required_of(tx, user).await? {
        return Ok(Some(Purpose::Enrol));
    }
    Ok(None)
}

async fn required_of(tx: &mut Tx, user: &User) -> Result<bool> {
    Ok(Role::parse(&user.role) == Some(Role::Admin)
        && store::admins_need_two_factor(tx, user.agency_id).await?)
}

/// Stores a challenge for `user` (dropping their earlier ones); its cookie secret.
pub(crate) async fn challenge(tx: &mut Tx, user: &User, purpose: Purpose) -> Result<PendingSignIn> {
    let secret = new_secret("");
    let expires_at = credence_store::now() + chrono::Duration::minutes(CHALLENGE_MINUTES);
    store::insert_challenge(
        tx,
        &token_hash(&secret),
        user.agency_id,
        user.id,
        purpose.as_str(),
        &new_secret(""),
        expires_at,
    )
    .await?;
    Ok(PendingSignIn { secret })
}

fn now_unix() -> i64 {
    credence_store::now().timestamp()
}

/// Ten new recovery codes: as shown once, and their hashes as stored.
fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let mut rng = rand::thread_rng();
    (0..totp::RECOVERY_CODES)
        .map(|_| {
            let mut random = [0u8; totp::RECOVERY_CHARS];
            rng.fill_bytes(&mut random);
            let code = totp::recovery_code(&random);
            let stored = totp::parse_recovery_code(&code).expect("a code made here reads back");
            (code, token_hash(&stored))
        })
        .unzip()
}

/// The secret an enrolment form sends back, checked: base32 of [`totp::SECRET_BYTES`] bytes.
fn enrolment_secret(secret: &str) -> Result<Vec<u8>> {
    totp::base32_decode(secret)
        .filter(|key| key.len() == totp::SECRET_BYTES)
        .ok_or_else(|| {
            AppError::invalid(
                "secret",
                "is not the key this page showed; reload the page and scan the new code",
            )
        })
}

fn code_error(problem: CodeProblem) -> AppError {
    AppError::invalid("code", problem.to_string())
}

/// Checks the first code of a new authenticator; the step it was for.
fn first_code(key: &[u8], code: &str) -> Result<i64> {
    totp::check(key, code, now_unix(), None).map_err(code_error)
}

/// Checks a code of the login's enrolled authenticator and spends it.
async fn spend_code(tx: &mut Tx, user: &User, code: &str) -> Result<()> {
    let stored = store::totp_secret(tx, user.agency_id, user.id)
        .await?
        .ok_or_else(|| AppError::Conflict("two-factor sign-in is not on".into()))?;
    let key = totp::base32_decode(&stored.secret)
        .ok_or_else(|| AppError::internal("a stored authenticator secret is not base32"))?;
    let step = totp::check(&key, code, now_unix(), Some(stored.last_step)).map_err(code_error)?;
    if !store::spend_step(tx, user.agency_id, user.id, step).await? {
        // Another request spent it between the read and now.
        return Err(code_error(CodeProblem::Reused));
    }
    Ok(())
}

/// Stores a new authenticator and recovery codes for `user`; the codes, to show once.
async fn enrol(tx: &mut Tx, user: &User, key: &[u8], step: i64, by: &Actor) -> Result<Vec<String>> {
    store::set_totp_secret(tx, user.agency_id, user.id, &totp::base32_encode(key), step).await?;
    let (codes, hashes) = new_recovery_codes();
    store::replace_recovery_codes(tx, user.agency_id, user.id, &hashes).await?;
    let after = serde_json::json!({ "recovery_codes": codes.len() });
    record(tx, by, "enable_two_factor", user.id, None, Some(&after)).await?;
    Ok(codes)
}

fn actor_of(user: &User) -> Actor {
    Actor::system(user.agency_id, format!("user:{}", user.email))
}

impl App {
    /// A fresh secret to enrol, with the URI for its QR code: the app shows "Credence
    /// (agency)" and the login's e-mail.
    pub fn new_enrolment(&self, agency_name: &str, email: &str) -> Enrolment {
        let mut key = [0u8; totp::SECRET_BYTES];
        rand::thread_rng().fill_bytes(&mut key);
        Enrolment {
            secret: totp::base32_encode(&key),
            uri: totp::otpauth_uri(&format!("Credence ({agency_name})"), email, &key),
        }
    }

    /// The live challenge with this cookie secret; `Unauthenticated` when there is none
    /// (unknown, answered, expired, or its login deactivated).
    pub async fn sign_in_challenge(&self, secret: &str) -> Result<ChallengeView> {
        let mut db = self.store.read().await?;
        let c = store::challenge(&mut db, &token_hash(secret))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let purpose = match c.purpose.as_str() {
            "code" => Purpose::Code,
            "enrol" => Purpose::Enrol,
            _ => return Err(AppError::Unauthenticated),
        };
        Ok(ChallengeView {
            email: c.email,
            purpose,
            csrf_token: c.csrf_token,
        })
    }

    /// The agency name a challenge's login belongs to (for the enrolment QR code).
    pub async fn challenge_agency_name(&self, secret: &str) -> Result<String> {
        let mut db = self.store.read().await?;
        let c = store::challenge(&mut db, &token_hash(secret))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        Ok(identity::agency_by_id(&mut db, c.agency_id)
            .await?
            .map(|a| a.name)
            .unwrap_or_default())
    }

    /// The login a live challenge of `purpose` is for.
    async fn challenged_user(&self, secret: &str, purpose: Purpose) -> Result<User> {
        let mut db = self.store.read().await?;
        let c = store::challenge(&mut db, &token_hash(secret))
            .await?
            .filter(|c| c.purpose == purpose.as_str())
            .ok_or(AppError::Unauthenticated)?;
        identity::user_by_id(&mut db, c.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    /// Answers a code challenge from `address`: a right, unspent code (or an unused recovery
    /// code) ends the challenge and opens a session. Wrong answers are throttled with the
    /// login's passwords.
    pub async fn answer_sign_in_challenge(
        &self,
        secret: &str,
        answer: &SecondFactor,
        address: &str,
    ) -> Result<NewSession> {
        // Malformed input is refused before it counts as an attempt.
        match answer {
            SecondFactor::Code(code) if totp::parse_code(code).is_none() => {
                return Err(code_error(CodeProblem::Malformed))
            }
            SecondFactor::RecoveryCode(code) if totp::parse_recovery_code(code).is_none() => {
                return Err(AppError::invalid(
                    "recovery_code",
                    "must be one of your recovery codes: 12 letters and digits",
                ))
            }
            _ => {}
        }
        let user = self.challenged_user(secret, Purpose::Code).await?;
        let email = user.email.trim().to_lowercase();
        let attempt = self.open_attempt(&email, address).await?;
        let mut tx = self.store.begin().await?;
        let by = actor_of(&user);
        let checked = match answer {
            SecondFactor::Code(code) => spend_code(&mut tx, &user, code).await.map(|()| "totp"),
            SecondFactor::RecoveryCode(code) => {
                let stored = totp::parse_recovery_code(code).unwrap_or_default();
                if store::spend_recovery_code(
                    &mut tx,
                    user.agency_id,
                    user.id,
                    &token_hash(&stored),
                )
                .await?
                {
                    let left = store::recovery_codes_left(&mut tx, user.agency_id, user.id).await?;
                    let after =
                        serde_json::json!({ "address": address, "recovery_codes_left": left });
                    record(
                        &mut tx,
                        &by,
                        "use_recovery_code",
                        user.id,
                        None,
                        Some(&after),
                    )
                    .await?;
                    Ok("recovery_code")
                } else {
                    Err(AppError::invalid(
                        "recovery_code",
                        "is not one of your unused recovery codes",
                    ))
                }
            }
        };
        identity::resolve_login_attempt(&mut tx, attempt, checked.is_ok()).await?;
        let answer = match checked {
            Ok(factor) => {
                if !store::delete_challenge(&mut tx, &token_hash(secret)).await? {
                    return Err(AppError::Unauthenticated);
                }
                let after = serde_json::json!({ "address": address, "second_factor": factor });
                record(&mut tx, &by, "sign_in", user.id, None, Some(&after)).await?;
                Ok(open_session(&mut tx, &user).await?)
            }
            Err(e) => {
                let after = serde_json::json!({ "address": address, "second_factor": true });
                record(&mut tx, &by, "sign_in_failed", user.id, None, Some(&after)).await?;
                Err(e)
            }
        };
        tx.commit().await?;
        answer
    }

    /// Completes an enrolment challenge: the authenticator with `key_base32` is set up once
    /// `code` proves the app has it, and a session opens. Returns the session and the
    /// recovery codes, to show once.
    pub async fn enrol_at_sign_in(
        &self,
        secret: &str,
        key_base32: &str,
        code: &str,
        address: &str,
    ) -> Result<(NewSession, Vec<String>)> {
        let user = self.challenged_user(secret, Purpose::Enrol).await?;
        let key = enrolment_secret(key_base32)?;
        let step = first_code(&key, code)?;
        let mut tx = self.store.begin().await?;
        if !store::delete_challenge(&mut tx, &token_hash(secret)).await? {
            return Err(AppError::Unauthenticated);
        }
        let by = actor_of(&user);
        let codes = enrol(&mut tx, &user, &key, step, &by).await?;
        let after = serde_json::json!({ "address": address, "second_factor": "totp" });
        record(&mut tx, &by, "sign_in", user.id, None, Some(&after)).await?;
        let session = open_session(&mut tx, &user).await?;
        tx.commit().await?;
        Ok((session, codes))
    }

    /// The login signed in with the session `secret`.
    async fn session_user(&self, secret: &str) -> Result<User> {
        let mut db = self.store.read().await?;
        let idle_since = credence_store::now() - self.session_idle;
        let grant = identity::session(&mut db, &token_hash(secret), idle_since)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        identity::user_by_id(&mut db, grant.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    /// The second factor of the login signed in with the session `secret`.
    pub async fn two_factor_status(&self, secret: &str) -> Result<TwoFactorStatus> {
        let user = self.session_user(secret).await?;
        let mut tx = self.store.begin().await?;
        let stored = store::totp_secret(&mut tx, user.agency_id, user.id).await?;
        let left = store::recovery_codes_left(&mut tx, user.agency_id, user.id).await?;
        let required = required_of(&mut tx, &user).await?;
        tx.commit().await?;
        Ok(TwoFactorStatus {
            enabled_at: stored.map(|s| s.created_at),
            recovery_codes_left: left,
            required,
        })
    }

    /// Turns on two-factor sign-in for the login signed in with the session `secret`, once
    /// `code` proves the app has the key; the login's other sessions end. Returns the
    /// recovery codes, to show once.
    pub async fn enable_two_factor(
        &self,
        secret: &str,
        key_base32: &str,
        code: &str,
    ) -> Result<Vec<String>> {
        let user = self.session_user(secret).await?;
        let mut tx = self.store.begin().await?;
        if store::totp_secret(&mut tx, user.agency_id, user.id)
            .await?
            .is_some()
        {
            return Err(AppError::Conflict(
                "two-factor sign-in is already on".into(),
            ));
        }
        let key = enrolment_secret(key_base32)?;
        let step = first_code(&key, code)?;
        let codes = enrol(&mut tx, &user, &key, step, &actor_of(&user)).await?;
        users::end_other_sessions(&mut tx, user.id, Some(&token_hash(secret))).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Turns two-factor sign-in off: the password and a current code are both required, and
    /// an admin cannot while the agency requires it.
    pub async fn disable_two_factor(&self, secret: &str, password: &str, code: &str) -> Result<()> {
        let user = self.session_user(secret).await?;
        let stored = Some(user.password_hash.as_str()).filter(|h| !h.is_empty());
        let password_ok = verify_password(password, stored).await?;
        let mut tx = self.store.begin().await?;
        if required_of(&mut tx, &user).await? {
            return Err(AppError::Conflict(
                "your agency requires two-factor sign-in for admins, so it cannot be turned off"
                    .into(),
            ));
        }
        let mut invalid = credence_domain::Invalid::new();
        if !password_ok {
            invalid.add("password", "is not your current password");
        }
        match spend_code(&mut tx, &user, code).await {
            Ok(()) => {}
            Err(AppError::Invalid(more)) => invalid.errors.extend(more.errors),
            Err(e) => return Err(e),
        }
        invalid.into_result()?;
        store::remove_totp(&mut tx, user.agency_id, user.id).await?;
        record::<()>(
            &mut tx,
            &actor_of(&user),
            "disable_two_factor",
            user.id,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the recovery codes of the login signed in with the session `secret` (a
    /// current code is required); the new ones, to show once.
    pub async fn regenerate_recovery_codes(&self, secret: &str, code: &str) -> Result<Vec<String>> {
        let user = self.session_user(secret).await?;
        let mut tx = self.store.begin().await?;
        spend_code(&mut tx, &user, code).await?;
        let (codes, hashes) = new_recovery_codes();
        store::replace_recovery_codes(&mut tx, user.agency_id, user.id, &hashes).await?;
        let after = serde_json::json!({ "recovery_codes": codes.len() });
        record(
            &mut tx,
            &actor_of(&user),
            "regenerate_recovery_codes",
            user.id,
            None,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }
}

impl App {
    /// The agency's logins with two-factor sign-in on (the users page marks them).
    pub async fn two_factor_logins(
        &self,
        actor: &Admin,
    ) -> Result<std::collections::HashSet<UserId>> {
        let mut db = self.store.read().await?;
        Ok(store::logins_with_totp(&mut db, actor.agency_id)
            .await?
            .into_iter()
            .collect())
    }

    /// Turns off a login's two-factor sign-in (admin), for someone who lost both their phone
    /// and their recovery codes: their authenticator and recovery codes are removed and a
    /// sign-in waiting for a code ends. Another agency's login is `NotFound`. Returns the
    /// login's e-mail.
    pub async fn reset_two_factor(&self, actor: &Admin, id: UserId) -> Result<String> {
        let mut tx = self.store.begin().await?;
        let user = self.load_user(&mut tx, actor, id).await?;
        if store::totp_secret(&mut tx, actor.agency_id, id)
            .await?
            .is_none()
        {
            return Err(AppError::Conflict(format!(
                "{} does not use two-factor sign-in",
                user.email
            )));
        }
        store::remove_totp(&mut tx, actor.agency_id, id).await?;
        store::delete_challenges_of(&mut tx, actor.agency_id, id).await?;
        record::<()>(&mut tx, actor, "reset_two_factor", id, None, None).await?;
        tx.commit().await?;
        Ok(user.email)
    }
}
