//! Agencies, logins and API tokens: creating them and resolving a request to an [`Actor`].

use credence_domain::ids::{AgencyId, MemberId, UserId};
pub mod capability;
pub mod links;
pub mod oidc;
pub mod passwords;
pub mod tokens;
pub mod two_factor;
pub mod users;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use credence_domain::validation::{check_text, clean_name, is_plausible_email, Invalid};
use credence_domain::{sign_in, Role};
use credence_store::auth::identity::{self, Agency, NewToken, NewUser};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::clock::is_time_zone;
use crate::{Actor, App, AppError, Result};
use passwords::{hash_password, verify_password};

/// A new random secret: 256 bits, URL-safe, with a prefix that makes leaked tokens easy to
/// recognise in logs and scanners.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Tokens are stored as their SHA-256: high-entropy secrets need no slow hash.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(40).collect()
}

fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 40
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn password_rules(password: &str) -> Result<()> {
    credence_domain::passwords::check(password)
        .map_err(|problem| AppError::invalid("password", problem.to_string()))
}

impl App {
    /// Creates an agency (operator command, no actor). Returns it with its slug.
    pub async fn create_agency(
        &self,
        name: &str,
        slug: Option<&str>,
        time_zone: &str,
    ) -> Result<Agency> {
        let slug = slug.map(str::to_string).unwrap_or_else(|| slugify(name));
        let mut invalid = Invalid::new();
        check_text(&mut invalid, "name", name, 200);
        invalid.check(
            valid_slug(&slug),
            "slug",
            "must be 1–40 lowercase letters, digits or '-'",
        );
        invalid.check(
            is_time_zone(time_zone),
            "time_zone",
            "must be an IANA time zone such as America/Chicago",
        );
        invalid.into_result()?;
        let mut tx = self.store.begin().await?;
        let id = identity::insert_agency(&mut tx, &slug, &clean_name(name), time_zone).await?;
        let agency = identity::agency_by_id(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(agency)
    }

    pub async fn agency_by_slug(&self, slug: &str) -> Result<Agency> {
        let mut tx = self.store.read().await?;
        identity::agency_by_slug(&mut tx, slug)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn agency(&self, id: AgencyId) -> Result<Agency> {
        let mut tx = self.store.read().await?;
        identity::agency_by_id(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Creates a login (operator command). A member-role login must name its member.
    pub async fn create_user(
        &self,
        agency_id: AgencyId,
        email: &str,
        role: Role,
        password: &str,
        member_id: Option<MemberId>,
    ) -> Result<UserId> {
        // Stored as typed, compared folded (`identity::insert_user`).
        let email = email.trim();
        if !is_plausible_email(email) {
            return Err(AppError::invalid("email", "must be an e-mail address"));
        }
        password_rules(password)?;
        let hash = hash_password(password).await?;
        let mut tx = self.store.begin().await?;
        self.check_member_link(&mut tx, agency_id, role, member_id)
            .await?;
        let id = identity::insert_user(
            &mut tx,
            &NewUser {
                agency_id,
                email,
                password_hash: &hash,
                role: role.as_str(),
                member_id,
            },
        )
        .await?;
        let by = Actor::system(agency_id, "system:cli");
        let after =
            serde_json::json!({"email": email, "role": role.as_str(), "member_id": member_id});
        crate::ops::audit::record(&mut tx, &by, "create", id, None, Some(&after)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Sets a new password for the login with `email`.
    pub async fn reset_password(&self, email: &str, password: &str) -> Result<()> {
        password_rules(password)?;
        let hash = hash_password(password).await?;
        let mut tx = self.store.begin().await?;
        let user = identity::user_by_email(&mut tx, &email.trim().to_lowercase())
            .await?
            .ok_or(AppError::NotFound)?;
        identity::set_password(&mut tx, user.id, &hash).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn check_member_link(
        &self,
        tx: &mut credence_store::Tx,
        agency_id: AgencyId,
        role: Role,
        member_id: Option<MemberId>,
    ) -> Result<()> {
        match member_id {
            Some(m)
                if credence_store::people::members::member(tx, agency_id, m)
                    .await?
                    .is_none() =>
            {
                Err(AppError::invalid(
                    "member",
                    "is not a member of this agency",
                ))
            }
            None if role == Role::Member => Err(AppError::invalid(
                "member",
                "a member token or login must name its member",
            )),
            _ => Ok(()),
        }
    }

    /// Creates an API token that does not expire and returns the secret (see
    /// [`App::create_token_expiring`]).
    pub async fn create_token(
        &self,
        agency_id: AgencyId,
        role: Role,
        member_id: Option<MemberId>,
        label: Option<&str>,
    ) -> Result<String> {
        self.create_token_expiring(agency_id, role, member_id, label, None)
            .await
    }

    /// Creates an API token named `label`, valid until `expires_at` when given, and returns
    /// the secret, which is shown once and stored hashed.
    pub async fn create_token_expiring(
        &self,
        agency_id: AgencyId,
        role: Role,
        member_id: Option<MemberId>,
        label: Option<&str>,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<String> {
        if expires_at.is_some_and(|at| at <= chrono::Utc::now()) {
            return Err(AppError::invalid("expires_at", "must be in the future"));
        }
        let token = new_secret("cred_");
        let hash = token_hash(&token);
        let mut tx = self.store.begin().await?;
        self.check_member_link(&mut tx, agency_id, role, member_id)
            .await?;
        let token_id = identity::insert_token(
            &mut tx,
            &NewToken {
                agency_id,
                token_hash: &hash,
                role: role.as_str(),
                member_id,
                label,
                expires_at,
            },
        )
        .await?;
        let by = Actor::system(agency_id, "system:cli");
        let after =
            serde_json::json!({"name": label, "role": role.as_str(), "expires_at": expires_at});
        crate::ops::audit::record(&mut tx, &by, "create", token_id, None, Some(&after)).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Resolves a bearer token; unknown, revoked and expired tokens, and those of a
    /// deactivated member, are 401.
    pub async fn authenticate_token(&self, token: &str) -> Result<Actor> {
        let mut tx = self.store.read().await?;
        let grant = identity::token_by_hash(&mut tx, &token_hash(token))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        drop(tx);
        tokens::note_use(self, grant.id, grant.last_used_at);
        let role = Role::parse(&grant.role).ok_or(AppError::Unauthenticated)?;
        Ok(Actor {
            agency_id: grant.agency_id,
            role,
            member_id: grant.member_id,
            label: format!("token:{}", grant.id),
        })
    }

    /// Checks an e-mail and password; the same answer for an unknown e-mail and a wrong
    /// password, so logins cannot be enumerated.
    pub async fn authenticate_password(&self, email: &str, password: &str) -> Result<Actor> {
        let mut tx = self.store.read().await?;
        let user = identity::user_by_email(&mut tx, &email.trim().to_lowercase()).await?;
        drop(tx);
        // An invited login has no password yet: nothing matches it.
        let user = user.filter(|u| u.active && !u.password_hash.is_empty());
        // An unknown login spends the same time as a wrong password.
        let hash = user.as_ref().map(|u| u.password_hash.as_str());
        if !verify_password(password, hash).await? {
            return Err(AppError::Unauthenticated);
        }
        let user = user.ok_or(AppError::Unauthenticated)?;
        let role = Role::parse(&user.role).ok_or(AppError::Unauthenticated)?;
        Ok(Actor {
            agency_id: user.agency_id,
            role,
            member_id: user.member_id,
            label: format!("user:{}", user.email),
        })
    }
}

/// How long a web session lasts at most, however busy.
pub const SESSION_HOURS: i64 = 12;

/// How long a web session may go unused before it is signed out (configurable).
pub const SESSION_IDLE_DEFAULT: chrono::Duration = chrono::Duration::minutes(30);

/// A session's last use is written at most this often, so most requests only read it.
const SESSION_TOUCH_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// "40 seconds", "3 minutes": how long to wait, in words for the sign-in page.
fn wait_words(seconds: i64) -> String {
    if seconds < 90 {
        format!("{seconds} seconds")
    } else {
        format!("{} minutes", (seconds + 59) / 60)
    }
}

/// A new web session: the secret for the cookie (stored only as a hash) and the CSRF token
/// every form must carry.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub secret: String,
    pub csrf_token: String,
}

/// Opens a web session for `user` (whose sign-in is complete) and notes the sign-in.
pub(crate) async fn open_session(
    tx: &mut credence_store::Tx,
    user: &identity::User,
) -> Result<NewSession> {
    identity::note_sign_in(tx, user.id).await?;
    let secret = new_secret("");
    let csrf_token = new_secret("");
    let expires = chrono::Utc::now() + chrono::Duration::hours(SESSION_HOURS);
    identity::insert_session(tx, &token_hash(&secret), user, &csrf_token, expires).await?;
    Ok(NewSession { secret, csrf_token })
}

/// A resolved web session.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub actor: Actor,
    pub email: String,
    pub csrf_token: String,
}

impl App {
    /// Checks e-mail and password from the client at `address` and opens a session; fails
    /// with `Forbidden` when the login needs a second step ([`App::sign_in`] is the whole
    /// flow). Operator tools and tests sign in this way.
    pub async fn login(&self, email: &str, password: &str, address: &str) -> Result<NewSession> {
        match self.sign_in(email, password, address).await? {
            two_factor::SignIn::Session(session) => Ok(session),
            _ => Err(AppError::Forbidden(
                "this login signs in with a second factor; use the sign-in page".into(),
            )),
        }
    }

    /// Checks e-mail and password from the client at `address`. With no second factor due
    /// the answer is a session; otherwise a sign-in challenge (`two_factor`), which is not a
    /// session and grants nothing until it is answered.
    ///
    /// The throttle (`credence_domain::sign_in`) is consulted and the attempt recorded in one
    /// write transaction, under a lock per e-mail and address, before the password is checked:
    /// parallel attempts each see the ones before them, so no burst gets more tries than the
    /// rules allow.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        address: &str,
    ) -> Result<two_factor::SignIn> {
        let email = email.trim().to_lowercase();
        let attempt = self.open_attempt(&email, address).await?;
        let outcome = self.authenticate_password(&email, password).await;
        let mut tx = self.store.begin().await?;
        identity::resolve_login_attempt(&mut tx, attempt, outcome.is_ok()).await?;
        let user = identity::user_by_email(&mut tx, &email).await?;
        let due = match (&outcome, &user) {
            (Ok(_), Some(user)) => two_factor::due(&mut tx, user).await?,
            _ => None,
        };
        // Sign-ins to a known login, good or bad, are audit events of its agency.
        if let Some(user) = &user {
            let by = Actor::system(user.agency_id, format!("user:{email}"));
            let (action, after) = match (outcome.is_ok(), due) {
                (false, _) => ("sign_in_failed", serde_json::json!({ "address": address })),
                (true, None) => ("sign_in", serde_json::json!({ "address": address })),
                (true, Some(purpose)) => (
                    "sign_in_pending",
                    serde_json::json!({ "address": address, "awaiting": purpose.as_str() }),
                ),
            };
            crate::ops::audit::record(&mut tx, &by, action, user.id, None, Some(&after)).await?;
        }
        let answer = match (outcome, user) {
            (Ok(_), Some(user)) => match due {
                None => Ok(two_factor::SignIn::Session(
                    open_session(&mut tx, &user).await?,
                )),
                Some(purpose) => {
                    let pending = two_factor::challenge(&mut tx, &user, purpose).await?;
                    Ok(match purpose {
                        two_factor::Purpose::Code => two_factor::SignIn::Code(pending),
                        two_factor::Purpose::Enrol => two_factor::SignIn::Enrol(pending),
                    })
                }
            },
            (Ok(_), None) => Err(AppError::Unauthenticated),
            (Err(e), _) => Err(e),
        };
        tx.commit().await?;
        answer
    }

    /// Consults the throttle for `email` from `address` and records an attempt, failed until
    /// it is resolved; its id. Passwords and second-factor codes are counted together.
    pub(crate) async fn open_attempt(&self, email: &str, address: &str) -> Result<i64> {
        let mut tx = self.store.begin().await?;
        identity::lock_sign_in(&mut tx, email, address).await?;
        let now = chrono::Utc::now();
        let since = now - chrono::Duration::minutes(sign_in::WINDOW_MINUTES);
        let recent = identity::recent_attempts(&mut tx, email, address, since).await?;
        let attempts = sign_in::Attempts {
            pair: recent.pair,
            pair_last: recent.pair_last,
            address: recent.address,
            account: recent.account,
        };
        if let sign_in::Gate::Wait(seconds) = sign_in::gate(&attempts, now) {
            tracing::warn!(address, seconds, "sign-in throttled");
            return Err(AppError::RateLimited(format!(
                "too many failed attempts; try again in {}",
                wait_words(seconds)
            )));
        }
        let id = identity::start_login_attempt(&mut tx, email, address).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn web_session(&self, secret: &str) -> Result<WebSession> {
        let id_hash = token_hash(secret);
        let now = credence_store::now();
        let grant = {
            let mut db = self.store.read().await?;
            identity::session(&mut db, &id_hash, now - self.session_idle)
                .await?
                .ok_or(AppError::Unauthenticated)?
        };
        if now - grant.last_seen_at >= SESSION_TOUCH_EVERY {
            let mut tx = self.store.begin().await?;
            identity::touch_session(&mut tx, &id_hash, now).await?;
            tx.commit().await?;
        }
        let role = Role::parse(&grant.role).ok_or(AppError::Unauthenticated)?;
        Ok(WebSession {
            actor: Actor {
                agency_id: grant.agency_id,
                role,
                member_id: grant.member_id,
                label: format!("user:{}", grant.email),
            },
            email: grant.email,
            csrf_token: grant.csrf_token,
        })
    }

    pub async fn logout(&self, secret: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        identity::delete_session(&mut tx, &token_hash(secret)).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_secret("cred_");
        assert_ne!(a, new_secret("cred_"));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slugify("Metro Fire & EMS — District 9"),
            "metro-fire-ems-district-9"
        );
        assert!(valid_slug("metro-fire") && !valid_slug("Metro Fire"));
    }
}
