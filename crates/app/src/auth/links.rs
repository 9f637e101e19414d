//! One-time links by e-mail — an invitation's "choose your password" and a password reset —
//! and changing one's own password.
//!
//! A link's secret is 256 random bits, stored only as its SHA-256 (as API tokens are), valid
//! for [`LINK_HOURS`], and spent by its first use: the store spends it with one conditional
//! update, so of two uses at once only one sets a password. An unknown, expired, used or
//! superseded link, and one whose login was deactivated, all answer the same
//! [`AppError::NotFound`], so a link never tells which e-mail has a login.

use credence_domain::ids::{AgencyId, UserId};
use credence_store::auth::{identity, links as store, users};
use credence_store::Tx;

use super::passwords::{hash_password, verify_password};
use super::{new_secret, token_hash};
use crate::ops::audit::record;
use crate::{Actor, App, AppError, Result};

/// How long a link works.
pub const LINK_HOURS: i64 = 72;

/// What a one-time link is for; each has its own page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Invitation,
    PasswordReset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invitation => "invitation",
            LinkPurpose::PasswordReset => "password_reset",
        }
    }

    /// The first segment of the link's page (`/invitations/{token}`).
    pub fn path(self) -> &'static str {
        match self {
            LinkPurpose::Invitation => "invitations",
            LinkPurpose::PasswordReset => "password-reset",
        }
    }
}

/// A new password as a form gives it: typed twice.
#[derive(Debug, Clone, Default)]
pub struct NewPassword {
    pub password: String,
    pub confirm: String,
}

impl NewPassword {
    /// The password rules (`credence_domain::passwords`) and the two copies agree; each
    /// problem names its field.
    fn check(&self) -> Result<()> {
        let mut invalid = credence_domain::Invalid::new();
        if let Err(problem) = credence_domain::passwords::check(&self.password) {
            invalid.add("password", problem.to_string());
        }
        invalid.check(
            self.password == self.confirm,
            "confirm",
            "does not match the password",
        );
        Ok(invalid.into_result()?)
    }
}

/// Stores a new link of `purpose` for the login (its earlier unused links stop working);
/// returns the link's row number and its secret, which only the e-mail carries.
pub(crate) async fn create(
    tx: &mut Tx,
    agency_id: AgencyId,
    user_id: UserId,
    purpose: LinkPurpose,
) -> Result<(i64, String)> {
    let token = new_secret("");
    let expires_at = credence_store::now() + chrono::Duration::hours(LINK_HOURS);
    let id = store::insert_link(
        tx,
        agency_id,
        user_id,
        purpose.as_str(),
        &token_hash(&token),
        expires_at,
    )
    .await?;
    Ok((id, token))
}

impl App {
    /// The e-mail of the login a live link is for (shown on its page); `NotFound` otherwise.
    pub async fn link_email(&self, purpose: LinkPurpose, token: &str) -> Result<String> {
        let mut db = self.store.read().await?;
        store::live_link(&mut db, &token_hash(token), purpose.as_str())
            .await?
            .map(|l| l.email)
            .ok_or(AppError::NotFound)
    }

    /// Sets the login's password through a live link and spends the link. Every session of
    /// the login ends (whoever knew the old password is signed out), and its other links
    /// stop working.
    pub async fn set_password_by_link(
        &self,
        purpose: LinkPurpose,
        token: &str,
        password: &NewPassword,
    ) -> Result<()> {
        // Check the link first: a dead link says so whatever the password.
        self.link_email(purpose, token).await?;
        password.check()?;
        let hash = hash_password(&password.password).await?;
        let mut tx = self.store.begin().await?;
        let grant = store::spend_link(&mut tx, &token_hash(token), purpose.as_str())
            .await?
            .ok_or(AppError::NotFound)?;
        identity::set_password(&mut tx, grant.user_id, &hash).await?;
        users::end_other_sessions(&mut tx, grant.user_id, None).await?;
        store::spend_links_of(&mut tx, grant.agency_id, grant.user_id).await?;
        let by = Actor::system(grant.agency_id, format!("user:{}", grant.email));
        let after = serde_json::json!({ "by": purpose.as_str() });
        record(
            &mut tx,
            &by,
            "set_password",
            grant.user_id,
            None,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the password of the login signed in with the session `secret`; the current
    /// password is required. The login's other sessions end; this one stays.
    pub async fn change_own_password(
        &self,
        secret: &str,
        current: &str,
        password: &NewPassword,
        address: &str,
    ) -> Result<()> {
        let session_hash = token_hash(secret);
        let user = {
            let mut db = self.store.read().await?;
            let idle_since = credence_store::now() - self.session_idle;
            let grant = identity::session(&mut db, &session_hash, idle_since)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            identity::user_by_id(&mut db, grant.user_id)
                .await?
                .ok_or(AppError::Unauthenticated)?
        };
        // Guessing the current password here is guessing a sign-in: the same throttle
        // counts it, so a stolen session cannot try passwords faster than the sign-in page.
        let attempt = self
            .open_attempt(&user.email.to_lowercase(), address)
            .await?;
        let stored = Some(user.password_hash.as_str()).filter(|h| !h.is_empty());
        let mut invalid = credence_domain::Invalid::new();
        let current_ok = verify_password(current, stored).await?;
        if !current_ok {
            invalid.add("current_password", "is not your current password");
        } else {
            let mut tx = self.store.begin().await?;
            identity::resolve_login_attempt(&mut tx, attempt, true).await?;
            tx.commit().await?;
        }
        if let Err(AppError::Invalid(more)) = password.check() {
            invalid.errors.extend(more.errors);
        }
        invalid.into_result()?;
        let hash = hash_password(&password.password).await?;
        let mut tx = self.store.begin().await?;
        identity::set_password(&mut tx, user.id, &hash).await?;
        users::end_other_sessions(&mut tx, user.id, Some(&session_hash)).await?;
        store::spend_links_of(&mut tx, user.agency_id, user.id).await?;
        let by = Actor::system(user.agency_id, format!("user:{}", user.email));
        record::<()>(&mut tx, &by, "change_password", user.id, None, None).await?;
        tx.commit().await?;
        Ok(())
    }
}
