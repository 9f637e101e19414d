//! Logins administered from the browser (#16): the list, invitations, role and active
//! changes, and password-reset links (admin).
//!
//! An invitation creates the login without a password and queues, through the outbox, an
//! e-mail with a one-time link ([`super::links`]) to set one. Deactivating a login ends its
//! sessions, its unused links and its member's API tokens in the same transaction. The agency
//! always keeps one active admin login: a change that would leave none is a 409.

use chrono::{DateTime, Utc};
use credence_domain::ids::{MemberId, UserId};
use credence_domain::validation::is_plausible_email;
use credence_domain::Role;
use credence_store::auth::identity::{self, NewUser};
use credence_store::auth::users::{self as store, UserRow};
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use super::links::{self, LinkPurpose};
use crate::ops::audit::record;
use crate::page::{paginate, Page, PageParams};
use crate::{Admin, App, AppError, Result};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UserView {
    #[schema(value_type = String)]
    pub id: UserId,
    /// As it was typed; logins are compared without regard to case.
    pub email: String,
    /// `admin`, `officer`, `auditor` or `member`.
    pub role: String,
    #[schema(value_type = Option<String>)]
    pub member_id: Option<MemberId>,
    /// The linked member's name.
    pub member_name: Option<String>,
    pub active: bool,
    /// False while an invited login has not set its password.
    pub password_set: bool,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

fn view(u: UserRow) -> UserView {
    UserView {
        id: u.id,
        email: u.email,
        role: u.role,
        member_id: u.member_id,
        member_name: u.member_name,
        active: u.active,
        password_set: u.password_set,
        created_at: u.created_at,
        last_sign_in_at: u.last_sign_in_at,
    }
}

/// An invitation: the login is created without a password and an e-mail with a one-time
/// link to set one is queued.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLogin {
    pub email: String,
    #[schema(value_type = String, example = "officer")]
    pub role: Role,
    /// Required for the member role: the member the login speaks for.
    #[schema(value_type = Option<String>)]
    pub member_id: Option<MemberId>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(value_type = Option<String>, example = "auditor")]
    pub role: Option<Role>,
    /// `false` deactivates the login: its sessions end and its member's API tokens are revoked
    /// at once.
    pub active: Option<bool>,
}

impl App {
    /// The agency's logins, by e-mail.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn users(&self, actor: &Admin, page: &PageParams) -> Result<Page<UserView>> {
        let limit = page.limit()?;
        let after: Option<(String, i64)> = page.after()?;
        let mut db = self.store.read().await?;
        let rows = store::users_page(&mut db, actor.agency_id, after.as_ref(), limit + 1).await?;
        Ok(paginate(
            rows,
            limit,
            |u| (u.email_folded.clone(), u.id.get()),
            view,
        ))
    }

    pub(crate) async fn load_user(
        &self,
        db: &mut Tx,
        actor: &Admin,
        id: UserId,
    ) -> Result<UserView> {
        store::user(db, actor.agency_id, id)
            .await?
            .map(view)
            .ok_or(AppError::NotFound)
    }

    /// Invites a login: creates it without a password and queues the e-mail with its link.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn invite_user(&self, actor: &Admin, input: NewLogin) -> Result<UserView> {
        let email = input.email.trim();
        if !is_plausible_email(email) {
            return Err(AppError::invalid("email", "must be an e-mail address"));
        }
        let mut tx = self.store.begin().await?;
        check_member(&mut tx, actor, input.role, input.member_id).await?;
        let id = identity::insert_user(
            &mut tx,
            &NewUser {
                agency_id: actor.agency_id,
                email,
                password_hash: "",
                role: input.role.as_str(),
                member_id: input.member_id,
            },
        )
        .await?;
        let created = self.load_user(&mut tx, actor, id).await?;
        record(&mut tx, actor, "invite", id, None, Some(&created)).await?;
        self.send_link(&mut tx, actor, &created, LinkPurpose::Invitation)
            .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Changes a login's role or active flag. Deactivating ends its access at once; leaving
    /// the agency without an active admin login is refused (409).
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn update_user(
        &self,
        actor: &Admin,
        id: UserId,
        patch: UserPatch,
    ) -> Result<UserView> {
        let mut tx = self.store.begin().await?;
        store::lock_agency_users(&mut tx, actor.agency_id).await?;
        let before = self.load_user(&mut tx, actor, id).await?;
        let role = match patch.role {
            Some(r) => r,
            None => Role::parse(&before.role)
                .ok_or_else(|| AppError::internal("a stored login has an unknown role"))?,
        };
        let active = patch.active.unwrap_or(before.active);
        if role == Role::Member && before.member_id.is_none() {
            return Err(AppError::invalid(
                "role",
                "a member login must name its member; invite a new login for the member",
            ));
        }
        store::update_user(&mut tx, actor.agency_id, id, role.as_str(), active).await?;
        let was_admin = before.active && before.role == Role::Admin.as_str();
        let is_admin = active && role == Role::Admin;
        if was_admin && !is_admin && store::active_admins(&mut tx, actor.agency_id).await? == 0 {
            return Err(AppError::Conflict(
                "this is the agency's last active admin login; make another login admin first"
                    .into(),
            ));
        }
        if before.active && !active {
            let (sessions, tokens) =
                store::end_user_access(&mut tx, actor.agency_id, id, before.member_id).await?;
            tracing::info!(user = %id, sessions, tokens, "login deactivated: access ended");
        }
        if !active || !role.reads_agency() {
            let label = format!("user:{}", before.email);
            crate::notify::calendar::end_login_feed(&mut tx, actor.agency_id, &label).await?;
        }
        let after = self.load_user(&mut tx, actor, id).await?;
        if after != before {
            record(&mut tx, actor, "update", id, Some(&before), Some(&after)).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    /// Queues an e-mail with a one-time password-reset link for the login; earlier unused
    /// links of the login stop working. The current password works until a new one is set.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn send_password_reset(&self, actor: &Admin, id: UserId) -> Result<UserView> {
        let mut tx = self.store.begin().await?;
        let user = self.load_user(&mut tx, actor, id).await?;
        if !user.active {
            return Err(AppError::Conflict(
                "the login is deactivated; reactivate it first".into(),
            ));
        }
        self.send_link(&mut tx, actor, &user, LinkPurpose::PasswordReset)
            .await?;
        record::<()>(&mut tx, actor, "send_password_reset", id, None, None).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Stores a new link for `user` and queues the e-mail that carries it.
    async fn send_link(
        &self,
        tx: &mut Tx,
        actor: &Admin,
        user: &UserView,
        purpose: LinkPurpose,
    ) -> Result<()> {
        let agency = identity::agency_by_id(tx, actor.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (link_id, token) = links::create(tx, actor.agency_id, user.id, purpose).await?;
        let url = format!("{}/{}/{token}", self.public_url, purpose.path());
        let hours = links::LINK_HOURS;
        let (subject, body) = match purpose {
            LinkPurpose::Invitation => (
                format!("You are invited to Credence by {}", agency.name),
                format!(
                    "Hello,\n\n{} keeps its training and credentials in Credence and has made you a \
                     login: {} (role: {}).\n\nChoose your password here; the link works once, \
                     within {hours} hours:\n\n{url}\n\nIf you did not expect this message, you \
                     can ignore it.\n",
                    agency.name, user.email, user.role
                ),
            ),
            LinkPurpose::PasswordReset => (
                format!("Reset your Credence password for {}", agency.name),
                format!(
                    "Hello,\n\nAn administrator of {} sent you a link to choose a new password \
                     for your Credence login {}. The link works once, within {hours} hours:\n\n\
                     {url}\n\nYour current password keeps working until you choose a new one. \
                     If you did not expect this message, tell your administrator.\n",
                    agency.name, user.email
                ),
            ),
        };
        credence_store::notify::outbox::enqueue(
            tx,
            actor.agency_id,
            &[credence_store::notify::outbox::NewMessage {
                recipient: user.email.clone(),
                subject,
                body,
                kind: purpose.as_str().into(),
                subject_id: Some(user.id.into()),
                attachment_file_id: None,
                dedupe_key: format!("link:{link_id}"),
            }],
        )
        .await?;
        Ok(())
    }
}

/// The member a login speaks for must be of the agency; the member role needs one.
async fn check_member(
    tx: &mut Tx,
    actor: &Admin,
    role: Role,
    member_id: Option<MemberId>,
) -> Result<()> {
    match member_id {
        Some(m)
            if credence_store::people::members::member(tx, actor.agency_id, m)
                .await?
                .is_none() =>
        {
            Err(AppError::invalid(
                "member_id",
                "is not a member of this agency",
            ))
        }
        None if role == Role::Member => Err(AppError::invalid(
            "member_id",
            "a member login must name its member",
        )),
        _ => Ok(()),
    }
}
