//! Many certificates as one ZIP of their own PDFs, beside the merged print file: for
//! handing each member their file, or filing them one by one. The archive streams: each
//! certificate's PDF is read, compressed and sent before the next is read, so memory holds
//! one certificate whatever the selection's size.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use credence_domain::ids::CertificateId;
use credence_store::documents::certificates::CertificateRow;
use futures_util::stream;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::imports::exports::{ByteStream, Export};
use crate::{App, AppError, Reader, Result};

/// Longest file name stem inside the archive, in characters.
const MAX_STEM: usize = 120;

impl App {
    /// A ZIP holding one PDF per certificate, in the order given, each named after its
    /// member, type and number. Unknown ids are a 404 before anything is sent; a failure
    /// while streaming ends the archive there (the client sees a truncated download).
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn zip_certificates(&self, actor: &Reader, ids: &[CertificateId]) -> Result<Export> {
        let rows = self.certificates_for_action(actor, ids).await?;
        let names = entry_names(&rows);
        let buffer = SharedBuffer::default();
        let zip = ZipWriter::new_stream(buffer.clone());
        let state = Zipping {
            app: self.clone(),
            actor: (**actor).clone(),
            entries: rows.into_iter().zip(names).collect::<Vec<_>>().into_iter(),
            zip: Some(zip),
            buffer,
        };
        let body: ByteStream = Box::pin(stream::try_unfold(state, |mut state| async move {
            let chunk = state.next_chunk().await?;
            Ok(chunk.map(|c| (c, state)))
        }));
        Ok(Export {
            filename: "certificates.zip".into(),
            content_type: "application/zip",
            body,
        })
    }
}

/// Where the archive writer puts its bytes until the stream hands them on.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn take(&self) -> Bytes {
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        Bytes::from(std::mem::take(&mut *bytes))
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

type Writer = ZipWriter<zip::write::StreamWriter<SharedBuffer>>;

struct Zipping {
    app: App,
    actor: crate::Actor,
    entries: std::vec::IntoIter<(CertificateRow, String)>,
    /// `None` once the archive's directory has been written.
    zip: Option<Writer>,
    buffer: SharedBuffer,
}

impl Zipping {
    /// The bytes of the next certificate's entry, then those of the closing directory, then
    /// `None`.
    async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        let Some(zip) = self.zip.as_mut() else {
            return Ok(None);
        };
        match self.entries.next() {
            Some((row, name)) => {
                let made = zip_time(row.generated_at.unwrap_or(row.created_at));
                let pdf = self.app.certificate_file(&self.actor, row).await?;
                // PDFs are mostly compressed already; deflate still trims their text parts,
                // and every unzip tool reads it.
                let options = SimpleFileOptions::default()
                    .compression_method(CompressionMethod::Deflated)
                    .last_modified_time(made);
                zip.start_file(name, options).map_err(zip_error)?;
                zip.write_all(&pdf).map_err(|e| zip_error(e.into()))?;
            }
            None => {
                if let Some(zip) = self.zip.take() {
                    zip.finish().map_err(zip_error)?;
                }
            }
        }
        Ok(Some(self.buffer.take()))
    }
}

/// When the certificate was made, as an archive entry's (local-less, two-second) time;
/// the format's own epoch for anything it cannot hold.
fn zip_time(at: chrono::DateTime<chrono::Utc>) -> zip::DateTime {
    use chrono::{Datelike, Timelike};
    let fields = (
        u16::try_from(at.year()).ok(),
        u8::try_from(at.month()).ok(),
        u8::try_from(at.day()).ok(),
        u8::try_from(at.hour()).ok(),
        u8::try_from(at.minute()).ok(),
        u8::try_from(at.second()).ok(),
    );
    match fields {
        (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) => {
            zip::DateTime::from_date_and_time(y, mo, d, h, mi, s).unwrap_or_default()
        }
        _ => zip::DateTime::default(),
    }
}

fn zip_error(e: zip::result::ZipError) -> AppError {
    AppError::internal(format!("writing the ZIP archive failed: {e}"))
}

/// "Jane Doe - EMT-Basic - EMT-2026-0042.pdf" for each certificate: the member, the type
/// and the certificate number (its public id when it has none), reduced to letters, digits,
/// spaces and dashes so no name can climb out of the folder it is unpacked into; a name met
/// twice gets " (2)", " (3)"….
fn entry_names(rows: &[CertificateRow]) -> Vec<String> {
    let mut used = HashSet::new();
    rows.iter()
        .map(|r| {
            let number = r.number.as_deref().unwrap_or(&r.public_id);
            let stem = [
                format!("{} {}", r.first_name, r.last_name),
                r.type_name.clone(),
                number.to_owned(),
            ]
            .iter()
            .map(|part| sanitised(part))
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" - ");
            let stem: String = stem.chars().take(MAX_STEM).collect();
            let mut name = format!("{}.pdf", stem.trim());
            let mut n = 1;
            while !used.insert(name.to_lowercase()) {
                n += 1;
                name = format!("{} ({n}).pdf", stem.trim());
            }
            name
        })
        .collect()
}

/// Letters (any script), digits and dashes kept; runs of anything else become one space.
fn sanitised(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars() {
        if c.is_alphanumeric() || c == '-' {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sanitised;

    #[test]
    fn names_keep_letters_digits_and_dashes_only() {
        assert_eq!(sanitised("../../etc/passwd"), "etc passwd");
        assert_eq!(sanitised("O'Brien, Zoë"), "O Brien Zoë");
        assert_eq!(sanitised("EMT-B/2026:0042"), "EMT-B 2026 0042");
        assert_eq!(sanitised("  \\\\  "), "");
    }
}
