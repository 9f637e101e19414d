//! Reads an uploaded spreadsheet, CSV or XLSX (told apart by content, then by name), into
//! rows of cells under a header row. Row numbers are the spreadsheet's own (the header is
//! row 1), so an error names the row a person sees in their editor.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;

/// The largest file an import reads.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// One cell as the file holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// An XLSX date cell.
    Date(NaiveDate),
    /// An XLSX cell computed by a formula: not imported (its value is whatever the file last
    /// saved, which may not be what the person sees).
    Formula,
    /// An XLSX error value (`#N/A`, `#REF!`…).
    Error(String),
}

impl Cell {
    /// The cell as text, trimmed; `None` when empty. Numbers print without a trailing `.0`
    /// (an employee number typed as 1042 in a spreadsheet is "1042").
    pub fn text(&self) -> Option<String> {
        let text = match self {
            Cell::Empty | Cell::Formula | Cell::Error(_) => return None,
            Cell::Text(t) => t.trim().to_string(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => n.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Date(d) => d.to_string(),
        };
        Some(text).filter(|t| !t.is_empty())
    }
}

/// A sheet: its header names (trimmed, lower case) and its data rows as
/// `(row number, cells)`, blank rows left out.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<Cell>)>,
}

/// Why a file cannot be read at all.
#[derive(Debug, Clone, PartialEq)]
pub struct FileProblem(pub String);

/// Reads `bytes` as XLSX when they are a ZIP archive (or the name says `.xlsx`), else as CSV.
pub fn read(name: &str, bytes: &[u8]) -> Result<Sheet, FileProblem> {
    let lower = name.to_lowercase();
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileProblem(format!(
            "the file is larger than {} MB; split it into smaller files",
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FileProblem("the file is empty".into()));
    }
    if bytes.starts_with(b"PK\x03\x04") || lower.ends_with(".xlsx") {
        return read_xlsx(bytes);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) || lower.ends_with(".xls") {
        return Err(FileProblem(
            "old Excel (.xls) files are not read; save it as XLSX or CSV".into(),
        ));
    }
    read_csv(bytes)
}

fn read_csv(bytes: &[u8]) -> Result<Sheet, FileProblem> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_err() {
        return Err(FileProblem(
            "the file is neither UTF-8 CSV nor an XLSX workbook; save it as CSV UTF-8 or XLSX"
                .into(),
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut sheet = Sheet::default();
    let mut first = true;
    // The line a record starts on, counted from its byte offset: the reader's own line count
    // leaves out the blank lines it skips, which an editor numbers.
    let (mut counted_to, mut line) = (0usize, 1usize);
    for record in reader.records() {
        let record = record.map_err(|e| FileProblem(format!("the CSV could not be read: {e}")))?;
        let mut start = record
            .position()
            .map_or(counted_to, |p| p.byte() as usize)
            .clamp(counted_to, bytes.len());
        // A record's position can be where the blank lines before it begin.
        while start < bytes.len() && matches!(bytes[start], b'\n' | b'\r') {
            start += 1;
        }
        line += bytes[counted_to..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        counted_to = start;
        let row = line;
        if first {
            sheet.header = record.iter().map(header_name).collect();
            first = false;
            continue;
        }
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cells = record
            .iter()
            .map(|c| match c.trim() {
                "" => Cell::Empty,
                t => Cell::Text(t.to_string()),
            })
            .collect();
        sheet.rows.push((row, cells));
    }
    if sheet.header.iter().all(String::is_empty) {
        return Err(FileProblem("the file is empty".into()));
    }
    Ok(sheet)
}

fn header_name(raw: &str) -> String {
    raw.trim().to_lowercase().replace([' ', '-'], "_")
}

fn read_xlsx(bytes: &[u8]) -> Result<Sheet, FileProblem> {
    let unreadable = |e: calamine::XlsxError| {
        FileProblem(format!(
            "the file is not a readable XLSX workbook ({e}); save it again as XLSX or CSV"
        ))
    };
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let Some(first) = book.sheet_names().first().cloned() else {
        return Err(FileProblem("the workbook has no sheet".into()));
    };
    let values = book.worksheet_range(&first).map_err(unreadable)?;
    let formulas = book.worksheet_formula(&first).map_err(unreadable)?;
    let Some((top, left)) = values.start() else {
        return Err(FileProblem("the file is empty".into()));
    };
    let width = values.width();
    let mut grid: Vec<(usize, Vec<Cell>)> = values
        .rows()
        .enumerate()
        .map(|(i, cells)| (top as usize + i + 1, cells.iter().map(cell).collect()))
        .collect();
    // A formula anywhere in the data marks its cell, whatever value it last saved.
    if let Some((ftop, fleft)) = formulas.start() {
        for (r, c, f) in formulas.used_cells() {
            if f.trim().is_empty() {
                continue;
            }
            let row = (ftop as usize + r).checked_sub(top as usize);
            let col = (fleft as usize + c).checked_sub(left as usize);
            if let (Some(row), Some(col)) = (row, col) {
                if let Some(slot) = grid.get_mut(row).and_then(|(_, cells)| {
                    if cells.len() < width {
                        cells.resize(width, Cell::Empty);
                    }
                    cells.get_mut(col)
                }) {
                    *slot = Cell::Formula;
                }
            }
        }
    }
    let mut rows = grid.into_iter();
    let Some((_, header)) = rows.next() else {
        return Err(FileProblem("the file is empty".into()));
    };
    let header: Vec<String> = header
        .iter()
        .map(|c| header_name(&c.text().unwrap_or_default()))
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(FileProblem("the file is empty".into()));
    }
    let rows = rows
        .filter(|(_, cells)| cells.iter().any(|c| *c != Cell::Empty))
        .collect();
    Ok(Sheet { header, rows })
}

fn cell(data: &Data) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(s) if s.trim().is_empty() => Cell::Empty,
        Data::String(s) => Cell::Text(s.trim().to_string()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, m, day, ..) = d.to_ymd_hms_milli();
            NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(day))
                .map_or_else(|| Cell::Error("not a calendar date".into()), Cell::Date)
        }
        Data::DateTime(d) => Cell::Number(d.as_f64()),
        Data::DateTimeIso(s) => s
            .get(..10)
            .and_then(|d| d.parse().ok())
            .map_or_else(|| Cell::Text(s.clone()), Cell::Date),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

/// Reads a date cell: an XLSX date, or text as YYYY-MM-DD or MM/DD/YYYY.
pub fn date(cell: &Cell) -> Result<Option<NaiveDate>, String> {
    match cell {
        Cell::Date(d) => Ok(Some(*d)),
        other => {
            let Some(text) = other.text() else {
                return Ok(None);
            };
            NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(&text, "%m/%d/%Y"))
                .map(Some)
                .map_err(|_| format!("{text:?} is not a date; write YYYY-MM-DD or MM/DD/YYYY"))
        }
    }
}

/// Reads a number cell.
pub fn number(cell: &Cell) -> Result<Option<f64>, String> {
    match cell {
        Cell::Number(n) => Ok(Some(*n)),
        other => {
            let Some(text) = other.text() else {
                return Ok(None);
            };
            text.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Some)
                .ok_or_else(|| format!("{text:?} is not a number"))
        }
    }
}

/// Reads a yes/no cell (`true`/`false`, `yes`/`no`, `1`/`0`, `y`/`n`).
pub fn flag(cell: &Cell) -> Result<Option<bool>, String> {
    match cell {
        Cell::Bool(b) => Ok(Some(*b)),
        other => {
            let Some(text) = other.text() else {
                return Ok(None);
            };
            match text.to_lowercase().as_str() {
                "true" | "yes" | "y" | "1" | "active" => Ok(Some(true)),
                "false" | "no" | "n" | "0" | "inactive" => Ok(Some(false)),
                _ => Err(format!("{text:?} is not yes or no")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_numbered_as_the_editor_shows_them() {
        let sheet = read(
            "a.csv",
            b"Member,Completed On\nE1,2026-01-02\n\nE2,01/03/2026\n",
        )
        .unwrap();
        assert_eq!(sheet.header, vec!["member", "completed_on"]);
        let rows: Vec<usize> = sheet.rows.iter().map(|(r, _)| *r).collect();
        assert_eq!(rows, vec![2, 4]);
        assert_eq!(
            date(&sheet.rows[1].1[1]).unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 3)
        );
    }

    #[test]
    fn bad_dates_and_numbers_are_named() {
        assert!(date(&Cell::Text("3 March".into()))
            .unwrap_err()
            .contains("\"3 March\" is not a date"));
        assert!(number(&Cell::Text("ten".into())).is_err());
        assert_eq!(Cell::Number(1042.0).text().as_deref(), Some("1042"));
    }

    #[test]
    fn empty_and_binary_files_are_refused() {
        assert_eq!(read("a.csv", b"").unwrap_err().0, "the file is empty");
        assert!(read("a.csv", &[0xff, 0xfe, 0x00, 0x41])
            .unwrap_err()
            .0
            .contains("neither UTF-8"));
        assert!(read("a.xlsx", b"not a zip").unwrap_err().0.contains("XLSX"));
    }
}
