//! Exports: a whole result (not one page) as CSV, streamed a page at a time, so memory stays
//! flat whatever the row count and the first bytes leave before the last page is read.

use std::pin::Pin;

use bytes::Bytes;
use credence_domain::ids::MemberId;
use futures_util::stream::{self, Stream};

use crate::credentials::views::{CredentialListFilter, CredentialView, Names};
use crate::page::PageParams;
use crate::{App, Reader, Result};

/// A response body produced as it is read.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// Rows read per page of an export.
const EXPORT_PAGE: i64 = 500;

/// A cell as a spreadsheet will read it safely: text starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return would be taken for a formula (CSV injection), so it gets a leading `'`.
pub fn neutralised(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// The one CSV writer every export uses: the `csv` crate's (quoting commas, quotes, CR and
/// LF), with every cell [`neutralised`].
pub struct SafeCsv(csv::Writer<Vec<u8>>);

impl Default for SafeCsv {
    fn default() -> Self {
        SafeCsv(csv::Writer::from_writer(Vec::new()))
    }
}

impl SafeCsv {
    pub fn write_record<I, T>(&mut self, record: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.0.write_record(
            record
                .into_iter()
                .map(|cell| neutralised(cell.as_ref()).into_owned()),
        )
    }

    pub fn into_inner(self) -> Result<Vec<u8>> {
        self.0
            .into_inner()
            .map_err(|e| crate::AppError::internal(format!("writing CSV: {e}")))
    }
}

/// Writes `rows` as CSV records (quoted where needed, every text cell neutralised).
pub(crate) fn csv_chunk<'a>(
    rows: impl IntoIterator<Item = Vec<std::borrow::Cow<'a, str>>>,
) -> Result<Bytes> {
    let mut w = SafeCsv::default();
    for row in rows {
        w.write_record(row)
            .map_err(|e| crate::AppError::internal(format!("writing CSV: {e}")))?;
    }
    w.into_inner().map(Bytes::from)
}

const CREDENTIAL_COLUMNS: [&str; 8] = [
    "member",
    "credential_type",
    "status",
    "progress",
    "issue_date",
    "expiration_date",
    "credential_number",
    "due_date",
];

fn credential_row(c: &CredentialView, names: &Names) -> Vec<std::borrow::Cow<'static, str>> {
    let issuance = c.current_issuance.as_ref();
    vec![
        names.member(&c.member_id).into(),
        names.type_name(&c.credential_type_id).into(),
        c.status_label.clone().into(),
        c.progress.to_string().into(),
        issuance
            .map(|i| i.issue_date.to_string())
            .unwrap_or_default()
            .into(),
        issuance
            .and_then(|i| i.expiration_date)
            .map(|d| d.to_string())
            .unwrap_or_default()
            .into(),
        issuance
            .and_then(|i| i.credential_number.clone())
            .unwrap_or_default()
            .into(),
        c.open_period
            .as_ref()
            .map(|p| p.due_date.to_string())
            .unwrap_or_default()
            .into(),
    ]
}

/// Where an export stream is: before the header, at a cursor, or finished.
enum Position<C> {
    Header,
    Page(Option<C>),
    Done,
}

/// A CSV export streamed page by page: the `header` row, then each page's rows as
/// `page(cursor)` answers them (`None` first) until a page names no next cursor. An error
/// ends the stream there.
pub(crate) fn paged_csv<C, F, Fut>(header: Vec<String>, page: F) -> ByteStream
where
    C: Send + 'static,
    F: Fn(Option<C>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(Bytes, Option<C>)>> + Send + 'static,
{
    let page = std::sync::Arc::new(page);
    let rows = stream::unfold(Position::Header, move |at| {
        let (page, header) = (page.clone(), header.clone());
        async move {
            let cursor = match at {
                Position::Done => return None,
                Position::Header => {
                    let header = header.into_iter().map(std::borrow::Cow::from).collect();
                    return Some((csv_chunk([header]), Position::Page(None)));
                }
                Position::Page(cursor) => cursor,
            };
            Some(match page(cursor).await {
                Ok((bytes, Some(next))) => (Ok(bytes), Position::Page(Some(next))),
                Ok((bytes, None)) => (Ok(bytes), Position::Done),
                Err(e) => (Err(e), Position::Done),
            })
        }
    });
    Box::pin(rows)
}

impl App {
    /// Every credential the filter matches, as CSV with names, streamed by keyset pages.
    pub fn credentials_csv(&self, actor: &Reader, filter: CredentialListFilter) -> ByteStream {
        let (app, actor) = (self.clone(), actor.clone());
        let header = CREDENTIAL_COLUMNS.map(String::from).to_vec();
        paged_csv(header, move |cursor: Option<String>| {
            let (app, actor, filter) = (app.clone(), actor.clone(), filter.clone());
            async move {
                let page = PageParams {
                    limit: Some(EXPORT_PAGE),
                    cursor,
                };
                let page = app.credentials(&actor, &filter, &page).await?;
                let members: Vec<MemberId> = page.items.iter().map(|c| c.member_id).collect();
                let names = app.names(&actor, &members).await?;
                let bytes = csv_chunk(page.items.iter().map(|c| credential_row(c, &names)))?;
                Ok((bytes, page.next_cursor))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_text_is_quoted() {
        for risky in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralised(risky).starts_with('\''), "{risky:?}");
        }
        assert_eq!(neutralised("Smith, Ava"), "Smith, Ava");
        let bytes = csv_chunk([vec!["Smith, Ava".into(), "=HYPERLINK()".into()]]).unwrap();
        assert_eq!(&bytes[..], b"\"Smith, Ava\",'=HYPERLINK()\n");
    }
}
