//! API tokens as administrators manage them: list, revoke, and when each was last used.

use chrono::{DateTime, Duration, Utc};
use credence_domain::ids::{AgencyId, MemberId, TokenId};
use credence_store::auth::identity;
use serde::Serialize;

use crate::ops::audit::record;
use crate::page::{paginate, Page, PageParams};
use crate::{Admin, App, AppError, Result};

/// `last_used_at` is written at most this often per token: a write per request would put
/// every API read behind SQLite's single writer.
const LAST_USED_RESOLUTION_MINUTES: i64 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    #[schema(value_type = String)]
    pub id: TokenId,
    pub name: Option<String>,
    pub role: String,
    #[schema(value_type = Option<String>)]
    pub member_id: Option<MemberId>,
    pub created_at: DateTime<Utc>,
    /// To within a few minutes.
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

fn view(t: identity::TokenRow) -> TokenView {
    TokenView {
        id: t.id,
        name: t.label,
        role: t.role,
        member_id: t.member_id,
        created_at: t.created_at,
        last_used_at: t.last_used_at,
        expires_at: t.expires_at,
    }
}

/// Records that token `id` was used, in the background and only when the stored time is
/// older than [`LAST_USED_RESOLUTION_MINUTES`], so the request does not wait for a write.
pub(crate) fn note_use(app: &App, id: TokenId, last_used_at: Option<DateTime<Utc>>) {
    let fresh = last_used_at
        .is_some_and(|at| Utc::now() - at < Duration::minutes(LAST_USED_RESOLUTION_MINUTES));
    if fresh {
        return;
    }
    let store = app.store.clone();
    tokio::spawn(async move {
        let written = async {
            let mut tx = store.begin().await?;
            identity::touch_token(&mut tx, id).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = written {
            tracing::warn!(token = %id, error = %e, "could not record when a token was used");
        }
    });
}

impl App {
    /// The agency's live API tokens, newest first.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn tokens(&self, actor: &Admin, page: &PageParams) -> Result<Page<TokenView>> {
        let limit = page.limit()?;
        let mut db = self.store.read().await?;
        let rows =
            identity::tokens_page(&mut db, actor.agency_id, page.after()?, limit + 1).await?;
        Ok(paginate(rows, limit, |t| t.id.get(), view))
    }

    /// Revokes a token at once; its next request is 401.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn revoke_token(&self, actor: &Admin, id: TokenId) -> Result<()> {
        let mut tx = self.store.begin().await?;
        if !identity::revoke_token(&mut tx, actor.agency_id, id).await? {
            return Err(AppError::NotFound);
        }
        crate::notify::calendar::end_login_feed(&mut tx, actor.agency_id, &format!("token:{id}"))
            .await?;
        record::<()>(&mut tx, actor, "revoke", id, None, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Operator command: the live tokens of an agency (no actor: the CLI runs on the server).
    pub async fn tokens_of_agency(&self, agency_id: AgencyId) -> Result<Vec<TokenView>> {
        let mut db = self.store.read().await?;
        let rows = identity::tokens_page(&mut db, agency_id, None, 100_000).await?;
        Ok(rows.into_iter().map(view).collect())
    }

    /// Operator command: revokes a token of an agency.
    pub async fn revoke_token_of_agency(&self, agency_id: AgencyId, id: TokenId) -> Result<()> {
        let actor = crate::Actor::system(agency_id, "system:cli").admin()?;
        self.revoke_token(&actor, id).await
    }
}
