//! Exports: a whole result (not one page) as CSV or XLSX, read a page at a time, so memory
//! stays flat whatever the row count. CSV leaves as it is read; XLSX is written to a temporary
//! file in the spreadsheet writer's constant-memory mode and then streamed from there.
//!
//! Every list and report builds its rows once, as [`Cell`]s, and [`export`] turns them into
//! either format; adding a format or a list touches one place.

pub(crate) mod tables;
mod xlsx;

use std::borrow::Cow;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use futures_util::stream::{self, Stream};
use serde::Deserialize;

use crate::Result;

/// A response body produced as it is read.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// Rows read per page of an export.
pub(crate) const EXPORT_PAGE: i64 = 500;

/// One value of an exported row. Numbers and dates stay numbers and dates in XLSX, so a
/// spreadsheet sorts and sums them; CSV writes them as text (dates ISO 8601).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Empty,
}

impl Cell {
    /// The cell as CSV text; text is [`neutralised`].
    fn csv_text(&self) -> Cow<'_, str> {
        match self {
            Cell::Text(t) => neutralised(t),
            Cell::Number(n) => n.to_string().into(),
            Cell::Date(d) => d.to_string().into(),
            Cell::Empty => "".into(),
        }
    }
}

impl From<String> for Cell {
    fn from(t: String) -> Self {
        Cell::Text(t)
    }
}

impl From<&str> for Cell {
    fn from(t: &str) -> Self {
        Cell::Text(t.to_string())
    }
}

impl From<NaiveDate> for Cell {
    fn from(d: NaiveDate) -> Self {
        Cell::Date(d)
    }
}

impl From<f64> for Cell {
    fn from(n: f64) -> Self {
        Cell::Number(n)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Number(n as f64)
    }
}

impl From<bool> for Cell {
    fn from(b: bool) -> Self {
        Cell::Text(if b { "yes" } else { "no" }.to_string())
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// One exported row.
pub type Row = Vec<Cell>;

/// How a list answers: `json` (a page) or the whole result as a spreadsheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    Csv,
    Xlsx,
}

/// The `format` query parameter every exportable list takes.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct FormatParam {
    /// `json` (default, one page), or every matching row (all pages, same filters) as `csv`
    /// or `xlsx`. Spreadsheets need a role that reads the whole agency.
    #[param(inline)]
    pub format: Option<Format>,
}

impl FormatParam {
    /// The spreadsheet format asked for, or `None` for JSON.
    pub fn export(&self) -> Option<ExportFormat> {
        ExportFormat::of(self.format)
    }
}

/// A spreadsheet format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn of(format: Option<Format>) -> Option<ExportFormat> {
        match format.unwrap_or_default() {
            Format::Json => None,
            Format::Csv => Some(ExportFormat::Csv),
            Format::Xlsx => Some(ExportFormat::Xlsx),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

/// A download: its file name, type and body.
pub struct Export {
    pub filename: String,
    pub content_type: &'static str,
    pub body: ByteStream,
}

/// A cell as a spreadsheet will read it safely: text starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return would be taken for a formula (CSV injection), so it gets a leading `'`.
pub fn neutralised(text: &str) -> Cow<'_, str> {
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
pub(crate) fn csv_chunk<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Result<Bytes> {
    let mut w = SafeCsv::default();
    for row in rows {
        w.0.write_record(row.iter().map(|c| c.csv_text().into_owned()))
            .map_err(|e| crate::AppError::internal(format!("writing CSV: {e}")))?;
    }
    w.into_inner().map(Bytes::from)
}

/// Answers one page of rows for a cursor (`None` first) and the next cursor, `None` at the end.
pub(crate) trait PageSource<C>: Send + Sync + 'static {
    fn page(
        &self,
        cursor: Option<C>,
    ) -> impl std::future::Future<Output = Result<(Vec<Row>, Option<C>)>> + Send;
}

impl<C, F, Fut> PageSource<C> for F
where
    F: Fn(Option<C>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(Vec<Row>, Option<C>)>> + Send,
{
    fn page(
        &self,
        cursor: Option<C>,
    ) -> impl std::future::Future<Output = Result<(Vec<Row>, Option<C>)>> + Send {
        self(cursor)
    }
}

/// The whole result of `pages` as a download named `{stem}.{csv|xlsx}`: the header, then
/// each page's rows until a page names no next cursor.
pub(crate) fn export<C, P>(format: ExportFormat, stem: &str, header: &[&str], pages: P) -> Export
where
    C: Send + 'static,
    P: PageSource<C>,
{
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let body = match format {
        ExportFormat::Csv => paged_csv(header, pages),
        ExportFormat::Xlsx => xlsx::paged_xlsx(header, pages),
    };
    Export {
        filename: format!("{stem}.{}", format.extension()),
        content_type: format.content_type(),
        body,
    }
}

/// Where a CSV export stream is: before the header, at a cursor, or finished.
enum Position<C> {
    Header,
    Page(Option<C>),
    Done,
}

/// A CSV export streamed page by page. An error ends the stream there.
fn paged_csv<C, P>(header: Vec<String>, pages: P) -> ByteStream
where
    C: Send + 'static,
    P: PageSource<C>,
{
    let pages = Arc::new(pages);
    let rows = stream::unfold(Position::Header, move |at| {
        let (pages, header) = (pages.clone(), header.clone());
        async move {
            let cursor = match at {
                Position::Done => return None,
                Position::Header => {
                    let header: Row = header.into_iter().map(Cell::Text).collect();
                    return Some((csv_chunk([&header]), Position::Page(None)));
                }
                Position::Page(cursor) => cursor,
            };
            Some(match pages.page(cursor).await {
                Ok((rows, next)) => {
                    let bytes = csv_chunk(&rows);
                    match next {
                        Some(next) => (bytes, Position::Page(Some(next))),
                        None => (bytes, Position::Done),
                    }
                }
                Err(e) => (Err(e), Position::Done),
            })
        }
    });
    Box::pin(rows)
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
        let row: Row = vec!["Smith, Ava".into(), "=HYPERLINK()".into()];
        let bytes = csv_chunk([&row]).unwrap();
        assert_eq!(&bytes[..], b"\"Smith, Ava\",'=HYPERLINK()\n");
    }

    #[test]
    fn numbers_and_dates_are_plain_text_in_csv() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let row: Row = vec![
            2.0.into(),
            1.5.into(),
            day.into(),
            Cell::from(None::<String>),
            (-3i64).into(),
        ];
        let bytes = csv_chunk([&row]).unwrap();
        // A negative number is a number, not a formula: it is not neutralised.
        assert_eq!(&bytes[..], b"2,1.5,2026-03-01,,-3\n");
    }

    async fn three_pages(cursor: Option<u32>) -> Result<(Vec<Row>, Option<u32>)> {
        let at = cursor.unwrap_or(0);
        let rows = vec![vec![Cell::from(format!("row {at}")), Cell::from(at as i64)]];
        Ok((rows, (at < 2).then_some(at + 1)))
    }

    async fn collect(body: ByteStream) -> Vec<u8> {
        use futures_util::StreamExt;
        let mut out = Vec::new();
        let mut body = body;
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn csv_export_has_the_header_and_every_page() {
        let e = export(ExportFormat::Csv, "rows", &["name", "n"], three_pages);
        assert_eq!(e.filename, "rows.csv");
        let text = String::from_utf8(collect(e.body).await).unwrap();
        assert_eq!(text, "name,n\nrow 0,0\nrow 1,1\nrow 2,2\n");
    }

    #[tokio::test]
    async fn xlsx_export_reads_back_with_every_row_typed() {
        use calamine::{Data, Reader as _, Xlsx};
        let e = export(ExportFormat::Xlsx, "rows", &["name", "n"], three_pages);
        assert_eq!(e.filename, "rows.xlsx");
        let bytes = collect(e.body).await;
        let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range_at(0).unwrap().unwrap();
        let rows: Vec<Vec<Data>> = sheet.rows().map(|r| r.to_vec()).collect();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0][0], Data::String("name".into()));
        assert_eq!(rows[3][0], Data::String("row 2".into()));
        assert_eq!(rows[3][1], Data::Float(2.0));
    }
}
