//! Cursor pagination: `limit` (1–500, default 50) and an opaque cursor that encodes the
//! last row's sort key, so pages are keyset queries on indexed columns.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{AppError, Result};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// A page of items and the cursor for the next one (`None` on the last page).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The paging part of a list request.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    /// Rows per page, 1–500 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The first page of `limit` rows.
    pub fn first(limit: i64) -> PageParams {
        PageParams {
            limit: Some(limit),
            cursor: None,
        }
    }

    pub fn limit(&self) -> Result<i64> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(AppError::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }

    /// The decoded cursor, or a 422 on `cursor` when it was not made by us.
    pub fn after<K: DeserializeOwned>(&self) -> Result<Option<K>> {
        let Some(raw) = self.cursor.as_deref().filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .map(Some)
            .ok_or_else(|| AppError::invalid("cursor", "is not a cursor this list returned"))
    }
}

pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Turns `limit + 1` fetched rows into a page: the extra row only signals that more exist.
pub fn paginate<R, T, K: Serialize>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> K,
    view: impl FnMut(R) -> T,
) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_limits() {
        let params = PageParams {
            limit: Some(2),
            cursor: Some(encode_cursor(&("smith, ann", 7i64))),
        };
        assert_eq!(
            params.after::<(String, i64)>().unwrap(),
            Some(("smith, ann".to_string(), 7))
        );
        assert!(PageParams {
            limit: Some(501),
            cursor: None
        }
        .limit()
        .is_err());
        assert!(PageParams {
            limit: None,
            cursor: Some("!!".into())
        }
        .after::<i64>()
        .is_err());
        let page = paginate(vec![1, 2, 3], 2, |r| *r, |r| r * 10);
        assert_eq!(page.items, vec![10, 20]);
        assert_eq!(page.next_cursor, Some(encode_cursor(&2)));
    }
}
