//! OpenID Connect sign-in, per agency, beside passwords (#21): an admin names the agency's
//! identity provider (issuer, client id and secret); people then sign in there and come back
//! with an authorization code (with PKCE S256, `state` and `nonce`), which is exchanged for an
//! ID token whose signature (`jwt`) and claims (`credence_domain::oidc`) are checked. The
//! verified e-mail picks the agency's login; none is made unless the agency allows it.
//!
//! A sign-in under way is a row (found by its `state`, used once, ten minutes at most) bound
//! to the browser that started it by a cookie: a `state` carried to another browser, or a
//! callback replayed, finds nothing. The PKCE verifier and nonce never leave the server.
//!
//! The provider authenticates, so a sign-in through it does not ask for Credence's own
//! second factor (the provider's MFA policy applies).

pub mod jwt;
pub mod provider;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use credence_domain::ids::AgencyId;
use credence_domain::oidc::{self as rules, Identity};
use credence_domain::validation::{check_text, clean_name, Invalid};
use credence_domain::Role;
use credence_store::auth::identity::{self, NewUser};
use credence_store::auth::oidc::{self as store, NewProvider, NewSignIn, ProviderRow};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{new_secret, open_session, token_hash, NewSession};
use crate::{Actor, Admin, App, AppError, Result};

/// How long a person has to come back from the provider.
pub const SIGN_IN_MINUTES: i64 = 10;

/// An agency's identity provider as admins see it: the secret is never shown back.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct SignInProviderView {
    /// Shown on the sign-in button: "Sign in with {name}".
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// Whether a client secret is stored (it is never shown).
    pub client_secret_set: bool,
    /// A verified e-mail with no login, that a member of the agency has, gets a member login.
    pub create_accounts: bool,
    /// The address to register at the provider as this client's redirect URI.
    pub redirect_uri: String,
    /// Where people start signing in through the provider.
    pub sign_in_url: String,
    pub version: i64,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// What an admin saves.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInProviderInput {
    /// The version you read, when changing a provider; a stale one is a 409.
    #[serde(default)]
    pub version: Option<i64>,
    /// The provider's name for the button, such as "Okta" or "County SSO".
    pub name: String,
    /// The issuer URL; its discovery document must be at
    /// `{issuer}/.well-known/openid-configuration` and name exactly this issuer. https, or
    /// http on this machine (127.0.0.1, localhost) for testing.
    pub issuer: String,
    pub client_id: String,
    /// Required the first time; empty or absent afterwards keeps the stored one.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub create_accounts: bool,
}

/// The button on the sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInButton {
    pub agency_slug: String,
    pub name: String,
}

/// Where to send the browser, and the value of the cookie that binds the sign-in to it.
#[derive(Debug, Clone)]
pub struct Started {
    pub authorization_url: String,
    pub browser_secret: String,
}

/// What the provider sent back to the callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207: the issuer of the answer, when the provider says.
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A finished sign-in: the session, and the page to go to.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: NewSession,
    pub next: Option<String>,
}

fn refused(why: impl Into<String>) -> AppError {
    AppError::Forbidden(why.into())
}

/// The provider could not be asked (`why` names what and how, for the page that says so).
fn unreachable_provider(why: String) -> AppError {
    AppError::Unavailable(why)
}

/// `https://…`, or `http://` to this machine (a provider run beside the server in tests and
/// development); OpenID Connect requires https issuers otherwise.
fn issuer_problem(issuer: &str) -> Option<&'static str> {
    let Ok(url) = reqwest::Url::parse(issuer) else {
        return Some("must be a web address such as https://login.example.org");
    };
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => None,
        "http" if local => None,
        "http" => Some("must use https"),
        _ => Some("must be a web address such as https://login.example.org"),
    }
    .or_else(|| {
        (url.query().is_some() || url.fragment().is_some())
            .then_some("must not have a query or fragment")
    })
}

fn aad(agency_id: AgencyId) -> String {
    format!("credence-oidc-client-secret:{}", agency_id.get())
}

fn hash(text: &str) -> String {
    token_hash(text)
}

/// The PKCE challenge of `verifier` (RFC 7636, S256).
fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl App {
    /// The address to register at the provider as this client's redirect URI.
    pub fn oidc_redirect_uri(&self) -> String {
        format!("{}/login/oidc/callback", self.public_url)
    }

    fn provider_view(&self, row: &ProviderRow, slug: &str) -> SignInProviderView {
        SignInProviderView {
            name: row.name.clone(),
            issuer: row.issuer.clone(),
            client_id: row.client_id.clone(),
            client_secret_set: !row.sealed_client_secret.is_empty(),
            create_accounts: row.create_accounts,
            redirect_uri: self.oidc_redirect_uri(),
            sign_in_url: format!("{}/login/oidc/{slug}", self.public_url),
            version: row.version,
            updated_at: row.updated_at,
        }
    }

    /// The agency's identity provider, if it has one (admin).
    pub async fn oidc_provider(&self, admin: &Admin) -> Result<Option<SignInProviderView>> {
        let mut db = self.store.read().await?;
        let agency = identity::agency_by_id(&mut db, admin.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let row = store::provider(&mut db, admin.agency_id).await?;
        Ok(row.map(|r| self.provider_view(&r, &agency.slug)))
    }

    /// Sets the agency's identity provider (admin). Every field is checked, and the
    /// provider's discovery document and keys fetched, before anything is written: a typo in
    /// the issuer is a 422 now rather than a failed sign-in later.
    #[tracing::instrument(skip_all, fields(agency = %admin.agency_id, actor = %admin.label))]
    pub async fn save_oidc_provider(
        &self,
        admin: &Admin,
        input: SignInProviderInput,
    ) -> Result<SignInProviderView> {
        let issuer = input.issuer.trim().to_string();
        let client_id = input.client_id.trim().to_string();
        let secret = input
            .client_secret
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let before = self.oidc_provider(admin).await?;
        let mut invalid = Invalid::new();
        check_text(&mut invalid, "name", &input.name, 100);
        if let Some(problem) = issuer_problem(&issuer) {
            invalid.add("issuer", problem);
        }
        check_text(&mut invalid, "client_id", &client_id, 500);
        if secret.is_none() && before.is_none() {
            invalid.add("client_secret", "must not be empty");
        }
        invalid.check(
            secret.is_none_or(|s| s.len() <= 2000),
            "client_secret",
            "must be at most 2000 characters",
        );
        invalid.into_result()?;
        if let (Some(b), Some(v)) = (&before, input.version) {
            if b.version != v {
                return Err(AppError::stale());
            }
        }
        provider::fetch(&issuer)
            .await
            .map_err(|why| AppError::invalid("issuer", why))?;
        let kek = self.key_encryption().map_err(|_| {
            AppError::Unavailable(
                "the client secret cannot be stored: this server has no key-encryption key (set CREDENCE_KEY_ENCRYPTION_KEY)"
                    .into(),
            )
        })?;
        let mut tx = self.store.begin().await?;
        let sealed = match secret {
            Some(s) => kek.seal(&aad(admin.agency_id), s.as_bytes())?,
            None => store::provider(&mut tx, admin.agency_id)
                .await?
                .map(|r| r.sealed_client_secret)
                .ok_or_else(|| AppError::invalid("client_secret", "must not be empty"))?,
        };
        let name = clean_name(&input.name);
        store::save_provider(
            &mut tx,
            admin.agency_id,
            &NewProvider {
                name: &name,
                issuer: &issuer,
                client_id: &client_id,
                sealed_client_secret: &sealed,
                create_accounts: input.create_accounts,
            },
        )
        .await?;
        let agency = identity::agency_by_id(&mut tx, admin.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let row = store::provider(&mut tx, admin.agency_id)
            .await?
            .ok_or_else(|| AppError::internal("the provider just saved is missing"))?;
        let after = self.provider_view(&row, &agency.slug);
        // The secret is not in the log; only that it changed.
        let audit = |v: &SignInProviderView, secret_changed: bool| {
            serde_json::json!({
                "name": v.name, "issuer": v.issuer, "client_id": v.client_id,
                "create_accounts": v.create_accounts, "client_secret_changed": secret_changed,
            })
        };
        crate::ops::audit::record(
            &mut tx,
            admin,
            "configure_sign_in",
            admin.agency_id,
            before.as_ref().map(|b| audit(b, false)).as_ref(),
            Some(&audit(&after, secret.is_some())),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Removes the agency's identity provider (admin): passwords only from now on. 404 when
    /// there is none.
    pub async fn remove_oidc_provider(&self, admin: &Admin) -> Result<()> {
        let before = self.oidc_provider(admin).await?.ok_or(AppError::NotFound)?;
        let mut tx = self.store.begin().await?;
        if !store::delete_provider(&mut tx, admin.agency_id).await? {
            return Err(AppError::NotFound);
        }
        crate::ops::audit::record(
            &mut tx,
            admin,
            "remove_sign_in",
            admin.agency_id,
            Some(&serde_json::json!({"name": before.name, "issuer": before.issuer})),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The "Sign in with …" button for the agency `slug`, or, without one, for the server's
    /// only agency; none when that agency has no provider.
    pub async fn oidc_button(&self, slug: Option<&str>) -> Result<Option<SignInButton>> {
        let mut db = self.store.read().await?;
        let agency = match slug {
            Some(s) => identity::agency_by_slug(&mut db, s).await?,
            None => {
                let mut all = identity::all_agencies(&mut db).await?;
                if all.len() == 1 {
                    all.pop()
                } else {
                    None
                }
            }
        };
        let Some(agency) = agency else {
            return Ok(None);
        };
        Ok(store::provider(&mut db, agency.id)
            .await?
            .map(|p| SignInButton {
                agency_slug: agency.slug,
                name: p.name,
            }))
    }

    /// Starts a sign-in through the provider of agency `slug`: answers the provider's
    /// authorization address and the secret for the browser's cookie. `next` is where to go
    /// afterwards (a local path, checked by the caller).
    pub async fn start_oidc(&self, slug: &str, next: Option<&str>) -> Result<Started> {
        let (agency_id, row) = {
            let mut db = self.store.read().await?;
            let agency = identity::agency_by_slug(&mut db, slug)
                .await?
                .ok_or(AppError::NotFound)?;
            let row = store::provider(&mut db, agency.id).await?.ok_or_else(|| {
                refused("this agency does not sign in through an identity provider; use your e-mail and password")
            })?;
            (agency.id, row)
        };
        let (discovery, _) = provider::discover(&row.issuer)
            .await
            .map_err(unreachable_provider)?;
        let state = new_secret("");
        let nonce = new_secret("");
        let verifier = new_secret("");
        let browser_secret = new_secret("");
        let mut tx = self.store.begin().await?;
        store::insert_sign_in(
            &mut tx,
            &NewSignIn {
                agency_id,
                state_hash: &hash(&state),
                browser_hash: &hash(&browser_secret),
                nonce: &nonce,
                code_verifier: &verifier,
                next_path: next,
                expires_at: chrono::Utc::now() + chrono::Duration::minutes(SIGN_IN_MINUTES),
            },
        )
        .await?;
        tx.commit().await?;
        let mut url = reqwest::Url::parse(&discovery.authorization_endpoint).map_err(|_| {
            unreachable_provider("its authorization endpoint is not a web address".into())
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &row.client_id)
            .append_pair("redirect_uri", &self.oidc_redirect_uri())
            .append_pair("scope", "openid email profile")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(Started {
            authorization_url: url.into(),
            browser_secret,
        })
    }

    /// Finishes a sign-in the provider sent back to the callback, from the browser whose
    /// cookie holds `browser_secret`, at `address`. Refusals are 403s saying why; a provider
    /// that cannot be reached is a 503. A refused sign-in to a known agency is an audit event.
    pub async fn finish_oidc(
        &self,
        callback: &Callback,
        browser_secret: Option<&str>,
        address: &str,
    ) -> Result<SignedIn> {
        let state = callback.state.as_deref().unwrap_or_default();
        let mut tx = self.store.begin().await?;
        // Taken (deleted) whatever happens next: each sign-in is answered once.
        let pending = store::take_sign_in(&mut tx, &hash(state)).await?;
        tx.commit().await?;
        let Some(pending) = pending else {
            return Err(refused(
                "this sign-in is unknown, expired or was already used (its state does not match); start again",
            ));
        };
        let agency_id = pending.agency_id;
        let outcome = self
            .verify_callback(callback, browser_secret, &pending)
            .await;
        let result = match outcome {
            Ok(identity) => self.open_oidc_session(agency_id, &identity, address).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(session) => Ok(SignedIn {
                session,
                next: pending.next_path,
            }),
            Err(e) => {
                self.note_refusal(agency_id, &e, address).await?;
                Err(e)
            }
        }
    }

    /// Checks the callback against its sign-in, exchanges the code and verifies the ID token.
    async fn verify_callback(
        &self,
        callback: &Callback,
        browser_secret: Option<&str>,
        pending: &store::SignInRow,
    ) -> Result<Identity> {
        if pending.expires_at < chrono::Utc::now() {
            return Err(refused(format!(
                "this sign-in was not finished within {SIGN_IN_MINUTES} minutes; start again"
            )));
        }
        if browser_secret.map(hash).as_deref() != Some(pending.browser_hash.as_str()) {
            return Err(refused(
                "this sign-in was started in another browser (or its cookie was lost); start again here",
            ));
        }
        if let Some(error) = &callback.error {
            let detail = callback
                .error_description
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            return Err(refused(format!(
                "the provider did not sign you in ({error}{detail})"
            )));
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| refused("the provider sent no sign-in code"))?;
        let row = {
            let mut db = self.store.read().await?;
            store::provider(&mut db, pending.agency_id)
                .await?
                .ok_or_else(|| {
                    refused("this agency no longer signs in through an identity provider")
                })?
        };
        if callback.iss.as_deref().is_some_and(|iss| iss != row.issuer) {
            return Err(refused(
                "the answer came from another provider than the one this sign-in went to",
            ));
        }
        let secret = self
            .key_encryption()?
            .open(&aad(pending.agency_id), &row.sealed_client_secret)
            .and_then(|s| String::from_utf8(s).ok())
            .ok_or_else(|| {
                AppError::Unavailable(
                    "the provider's client secret does not open with this server's key-encryption key; an admin must enter it again"
                        .into(),
                )
            })?;
        let (discovery, keys) = provider::discover(&row.issuer)
            .await
            .map_err(unreachable_provider)?;
        let id_token = provider::exchange(
            &discovery,
            &provider::Exchange {
                client_id: &row.client_id,
                client_secret: &secret,
                code,
                redirect_uri: &self.oidc_redirect_uri(),
                code_verifier: &pending.code_verifier,
            },
        )
        .await
        .map_err(|failure| match failure {
            provider::ExchangeFailure::Refused(why) => refused(why),
            provider::ExchangeFailure::Unreachable(why) => unreachable_provider(why),
        })?;
        let claims = match jwt::verify(&id_token, &keys) {
            Err(jwt::SignatureProblem::UnknownKey) => {
                // The provider may have rotated its keys since we fetched them.
                let keys = provider::refresh_keys(&row.issuer, &discovery)
                    .await
                    .map_err(unreachable_provider)?;
                jwt::verify(&id_token, &keys)
            }
            other => other,
        }
        .map_err(|problem| refused(problem.to_string()))?;
        rules::check_claims(
            &claims,
            &rules::Expected {
                issuer: &row.issuer,
                client_id: &row.client_id,
                nonce: &pending.nonce,
                now: chrono::Utc::now().timestamp(),
            },
        )
        .map_err(|refusal| refused(refusal.to_string()))
    }

    /// The agency's login for the verified e-mail — made, as a member login, when the
    /// agency allows it and one of its members has that address — and a session for it.
    async fn open_oidc_session(
        &self,
        agency_id: AgencyId,
        who: &Identity,
        address: &str,
    ) -> Result<NewSession> {
        let email = who.folded_email();
        let mut tx = self.store.begin().await?;
        let row = store::provider(&mut tx, agency_id).await?.ok_or_else(|| {
            refused("this agency no longer signs in through an identity provider")
        })?;
        let no_login = || {
            refused(format!(
                "there is no login for {} at this agency; ask an admin to invite you",
                who.email
            ))
        };
        let user = match identity::user_by_email(&mut tx, &email).await? {
            // Logins are unique across agencies: another agency's is not this one's to use,
            // nor can one be made beside it.
            Some(u) if u.agency_id != agency_id => return Err(no_login()),
            other => other,
        };
        let user = match user {
            Some(u) if !u.active => {
                return Err(refused(format!(
                    "the login {} is deactivated; ask an admin of your agency",
                    u.email
                )))
            }
            Some(u) => u,
            None if row.create_accounts => {
                self.create_member_login(&mut tx, agency_id, who).await?
            }
            None => return Err(no_login()),
        };
        let by = Actor::system(agency_id, format!("user:{}", user.email));
        crate::ops::audit::record(
            &mut tx,
            &by,
            "sign_in",
            user.id,
            None,
            Some(&serde_json::json!({
                "address": address, "method": "oidc", "issuer": row.issuer, "subject": who.subject,
            })),
        )
        .await?;
        let session = open_session(&mut tx, &user).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// A member login (no password) for the member of the agency with the verified e-mail.
    async fn create_member_login(
        &self,
        tx: &mut credence_store::Tx,
        agency_id: AgencyId,
        who: &Identity,
    ) -> Result<identity::User> {
        let member =
            credence_store::people::members::member_id_by_email(tx, agency_id, &who.email)
                .await?
                .ok_or_else(|| {
                    refused(format!(
                        "there is no login for {}, and no member of this agency has that e-mail address; ask an admin",
                        who.email
                    ))
                })?;
        let id = identity::insert_user(
            tx,
            &NewUser {
                agency_id,
                email: &who.email,
                password_hash: "",
                role: Role::Member.as_str(),
                member_id: Some(member),
            },
        )
        .await?;
        let by = Actor::system(agency_id, "system:oidc");
        let after = serde_json::json!({
            "email": who.email, "role": "member", "member_id": member, "via": "oidc",
        });
        crate::ops::audit::record(tx, &by, "create", id, None, Some(&after)).await?;
        let user = identity::user_by_id(tx, id)
            .await?
            .ok_or_else(|| AppError::internal("the login just made is missing"))?;
        if !user.active {
            return Err(refused(format!(
                "the member with {} is deactivated; ask an admin of your agency",
                who.email
            )));
        }
        Ok(user)
    }

    /// Records a refused sign-in in the agency's audit log, with the reason.
    async fn note_refusal(&self, agency_id: AgencyId, e: &AppError, address: &str) -> Result<()> {
        let reason = match e {
            AppError::Forbidden(why) | AppError::Unavailable(why) => why.clone(),
            _ => return Ok(()),
        };
        let mut tx = self.store.begin().await?;
        let by = Actor::system(agency_id, "system:oidc");
        crate::ops::audit::record(
            &mut tx,
            &by,
            "sign_in_refused",
            agency_id,
            None,
            Some(&serde_json::json!({"address": address, "method": "oidc", "reason": reason})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_or_on_this_machine() {
        assert_eq!(issuer_problem("https://login.example.org/realms/a"), None);
        assert_eq!(issuer_problem("http://127.0.0.1:4000"), None);
        assert_eq!(issuer_problem("http://localhost:4000"), None);
        assert_eq!(
            issuer_problem("http://login.example.org"),
            Some("must use https")
        );
        assert!(issuer_problem("login.example.org").is_some());
        assert!(issuer_problem("https://login.example.org/?a=1").is_some());
        assert!(issuer_problem("ftp://login.example.org").is_some());
    }

    #[test]
    fn the_pkce_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
