//! XLSX exports. A workbook is a ZIP whose directory comes last, so it cannot leave before it
//! is complete: the rows go, page by page, to a writer thread that keeps them in the
//! spreadsheet writer's constant-memory temporary files; the finished workbook is written to
//! an anonymous temporary file and streamed from there. Memory stays flat whatever the row
//! count; the first byte leaves once the last row is read.

use std::io::{Read, Seek};

use bytes::Bytes;
use futures_util::stream::{self, TryStreamExt};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use tokio::sync::mpsc;

use super::{ByteStream, Cell, PageSource, Row};
use crate::{AppError, Result};

/// Rows a worksheet holds (Excel's limit, the header included); more go on the next sheet.
const MAX_ROWS: u32 = 1_048_576;
/// The longest text a cell holds (Excel's limit, in characters).
const MAX_TEXT: usize = 32_767;
/// Bytes read from the finished file per chunk of the response.
const CHUNK: usize = 256 * 1024;

fn xlsx_error(e: XlsxError) -> AppError {
    AppError::internal(format!("writing XLSX: {e}"))
}

fn io_error(e: std::io::Error) -> AppError {
    AppError::internal(format!("writing XLSX: {e}"))
}

/// The whole result of `pages` as one workbook, streamed once written.
pub(super) fn paged_xlsx<C, P>(header: Vec<String>, pages: P) -> ByteStream
where
    C: Send + 'static,
    P: PageSource<C>,
{
    let made = async move {
        let (rows_in, rows_out) = mpsc::channel::<Vec<Row>>(2);
        let writer = tokio::task::spawn_blocking(move || write_workbook(&header, rows_out));
        let read = send_pages(&pages, rows_in).await;
        let written = writer
            .await
            .map_err(|e| AppError::internal(format!("the XLSX writer stopped: {e}")))?;
        // A failed read is the cause of anything the writer then says.
        read?;
        Ok::<_, AppError>(file_stream(written?))
    };
    Box::pin(stream::once(made).try_flatten())
}

/// Reads every page into the writer's channel; dropping the sender when done ends the
/// workbook.
async fn send_pages<C, P: PageSource<C>>(pages: &P, rows: mpsc::Sender<Vec<Row>>) -> Result<()> {
    let mut cursor = None;
    loop {
        let (page, next) = pages.page(cursor).await?;
        if rows.send(page).await.is_err() {
            // The writer failed; its error is the one reported.
            return Ok(());
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}

/// The writer thread: every row received, on as many sheets as Excel needs, then the
/// workbook in an anonymous temporary file, rewound.
fn write_workbook(header: &[String], mut rows: mpsc::Receiver<Vec<Row>>) -> Result<std::fs::File> {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let mut sheet_index = 0;
    add_sheet(&mut book, header, 1)?;
    let mut row_at: u32 = 1;
    while let Some(page) = rows.blocking_recv() {
        for row in page {
            if row_at == MAX_ROWS {
                sheet_index += 1;
                add_sheet(&mut book, header, sheet_index + 1)?;
                row_at = 1;
            }
            let sheet = book.worksheet_from_index(sheet_index).map_err(xlsx_error)?;
            write_row(sheet, row_at, &row, &date)?;
            row_at += 1;
        }
    }
    let mut file = tempfile::tempfile().map_err(io_error)?;
    book.save_to_writer(&mut file).map_err(xlsx_error)?;
    file.rewind().map_err(io_error)?;
    Ok(file)
}

/// A new sheet with the header in bold, frozen above the rows, and columns wide enough to
/// read it.
fn add_sheet(book: &mut Workbook, header: &[String], number: usize) -> Result<()> {
    let bold = Format::new().set_bold();
    let sheet = book
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_error)?;
    if number > 1 {
        sheet
            .set_name(format!("Sheet{number}"))
            .map_err(xlsx_error)?;
    }
    for (col, title) in header.iter().enumerate() {
        let col = column(col)?;
        let width = (title.chars().count() + 4).clamp(12, 40) as f64;
        sheet.set_column_width(col, width).map_err(xlsx_error)?;
        sheet
            .write_string_with_format(0, col, title, &bold)
            .map_err(xlsx_error)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    Ok(())
}

fn column(index: usize) -> Result<u16> {
    u16::try_from(index).map_err(|_| AppError::internal("too many columns for XLSX"))
}

fn write_row(sheet: &mut Worksheet, at: u32, row: &Row, date: &Format) -> Result<()> {
    for (col, cell) in row.iter().enumerate() {
        let col = column(col)?;
        match cell {
            // A string cell is never a formula in XLSX: no neutralising needed.
            Cell::Text(text) => {
                let text = match text.char_indices().nth(MAX_TEXT) {
                    Some((cut, _)) => &text[..cut],
                    None => text,
                };
                sheet.write_string(at, col, text).map_err(xlsx_error)?;
            }
            Cell::Number(n) => {
                sheet.write_number(at, col, *n).map_err(xlsx_error)?;
            }
            Cell::Date(d) => {
                use chrono::Datelike;
                // Excel has no dates before 1900: such a date stays readable as text.
                match ExcelDateTime::from_ymd(
                    u16::try_from(d.year()).unwrap_or(0),
                    d.month() as u8,
                    d.day() as u8,
                ) {
                    Ok(day) => sheet.write_datetime_with_format(at, col, &day, date),
                    Err(_) => sheet.write_string(at, col, d.to_string()),
                }
                .map_err(xlsx_error)?;
            }
            Cell::Empty => {}
        }
    }
    Ok(())
}

/// The finished file, a chunk at a time (each read off the async workers).
fn file_stream(file: std::fs::File) -> ByteStream {
    Box::pin(stream::try_unfold(file, |mut file| async move {
        let (file, chunk) = tokio::task::spawn_blocking(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            (&mut file).take(CHUNK as u64).read_to_end(&mut chunk)?;
            Ok::<_, std::io::Error>((file, chunk))
        })
        .await
        .map_err(|e| AppError::internal(format!("reading the XLSX file: {e}")))?
        .map_err(io_error)?;
        Ok((!chunk.is_empty()).then(|| (Bytes::from(chunk), file)))
    }))
}
