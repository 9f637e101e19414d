//! External certificates (workflow 7): a member uploads a certificate earned elsewhere (a
//! PDF or an image); it waits in a queue until an officer approves it, which records the
//! training, or rejects it. Files are checked by content, not by name, and stored under a
//! random name no user input can influence.

use chrono::NaiveDate;
use credence_domain::ids::{CourseId, MemberId, RequirementId, SubmissionId};
use credence_domain::Invalid;
use credence_store::training::records::NewRecord;
use credence_store::training::submissions::{self as store, NewFile, NewSubmission};
use serde::Serialize;

use crate::{Actor, App, AppError, Officer, Result};

/// Uploads larger than this are refused.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

/// The kinds of file accepted, recognised by their first bytes.
const KINDS: [(&[u8], &str, &str); 3] = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xFF\xD8\xFF", "image/jpeg", "jpg"),
];

/// What the content of an upload is, if it is one of the accepted kinds.
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    KINDS
        .iter()
        .find(|(magic, _, _)| bytes.starts_with(magic))
        .map(|(_, mime, ext)| (*mime, *ext))
}

/// The file name as shown to people: the last path segment, printable, at most 120 chars.
pub fn display_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).take(120).collect();
    if clean.trim().is_empty() {
        "upload".into()
    } else {
        clean
    }
}

/// Checks an upload: not empty, not too large, a PDF, PNG or JPEG whose name says so.
/// Returns its content type and extension, or what is wrong with it.
pub(crate) fn check_upload(
    name: &str,
    bytes: &[u8],
) -> std::result::Result<(&'static str, &'static str), String> {
    if bytes.is_empty() {
        return Err("is empty".into());
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(format!(
            "is larger than {} MB",
            MAX_UPLOAD_BYTES / 1024 / 1024
        ));
    }
    match sniff(bytes) {
        None => Err("must be a PDF, PNG or JPEG".into()),
        Some((_, ext)) if !extension_matches(name, ext) => {
            Err(format!("its content is {ext}, which its name does not say"))
        }
        Some(kind) => {
            crate::documents::image_size::check_pixels(kind.1, bytes)?;
            Ok(kind)
        }
    }
}

fn extension_matches(name: &str, ext: &str) -> bool {
    let lower = name.to_lowercase();
    match ext {
        "jpg" => lower.ends_with(".jpg") || lower.ends_with(".jpeg"),
        other => lower.ends_with(&format!(".{other}")),
    }
}

/// An upload from a member.
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// The course picked in the form, as sent (empty for other training).
    pub course_id: Option<String>,
    pub completed_on: NaiveDate,
    pub hours: Option<f64>,
    pub category: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubmissionView {
    pub id: SubmissionId,
    pub member_id: MemberId,
    pub member_name: String,
    pub file_name: String,
    pub content_type: String,
    pub size_kb: i64,
    pub course_id: Option<CourseId>,
    pub course_name: Option<String>,
    pub completed_on: NaiveDate,
    pub hours: Option<f64>,
    pub category: Option<String>,
    pub note: Option<String>,
    pub status: String,
    /// Why it was rejected, for the member.
    pub review_reason: Option<String>,
}

/// An officer's decision on a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Review {
    /// Record the training, with the score the certificate shows if it shows one; none is
    /// ever invented.
    Approve { score: Option<f64> },
    /// Refuse it, saying why (the member reads the reason).
    Reject { reason: String },
}

fn view(s: store::Submission) -> SubmissionView {
    SubmissionView {
        id: s.id,
        member_id: s.member_id,
        member_name: format!("{}, {}", s.last_name, s.first_name),
        file_name: s.original_name,
        content_type: s.content_type,
        size_kb: (s.size_bytes + 1023) / 1024,
        course_id: s.course_id,
        course_name: s.course_name,
        completed_on: s.completed_on,
        hours: s.hours,
        category: s.category,
        note: s.note,
        status: s.status,
        review_reason: s.review_reason,
    }
}

/// Checks a review: a score is 0–100, a rejection names its reason.
fn check_review(review: &Review) -> Result<()> {
    let mut invalid = Invalid::new();
    match review {
        Review::Approve { score: Some(s) } => invalid.check(
            s.is_finite() && (0.0..=100.0).contains(s),
            "score",
            "must be between 0 and 100",
        ),
        Review::Approve { score: None } => {}
        Review::Reject { reason } => {
            let reason = reason.trim();
            invalid.check(
                !reason.is_empty() && reason.chars().count() <= 500,
                "reason",
                "say why it is rejected (at most 500 characters); the member reads it",
            );
        }
    }
    Ok(invalid.into_result()?)
}

impl App {
    /// A member submits an external certificate for approval.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn submit_external(&self, actor: &Actor, upload: Upload) -> Result<SubmissionView> {
        let member_id = actor.member_id.ok_or_else(|| {
            AppError::Forbidden("only a member's own login can submit certificates".into())
        })?;
        let mut invalid = Invalid::new();
        let name = display_name(&upload.file_name);
        let kind = match check_upload(&name, &upload.bytes) {
            Ok(kind) => Some(kind),
            Err(message) => {
                invalid.add("file", message);
                None
            }
        };
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        invalid.check(
            upload.completed_on <= ctx.today,
            "completed_on",
            "must not be in the future",
        );
        if let Some(h) = upload.hours {
            invalid.check(
                h.is_finite() && (0.0..=1000.0).contains(&h),
                "hours",
                "must be between 0 and 1000",
            );
        }
        let course_id = match upload.course_id.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(raw) => {
                let found = match raw.parse::<CourseId>().ok() {
                    Some(c) => {
                        credence_store::catalog::courses::course(&mut tx, actor.agency_id, c)
                            .await?
                    }
                    None => None,
                };
                if found.is_none() {
                    invalid.add("course_id", "is not a course of this agency");
                }
                found.map(|c| c.id)
            }
        };
        invalid.into_result()?;
        let (content_type, ext) = kind.unwrap_or(("application/octet-stream", "bin"));
        let key = crate::documents::files::new_key(actor.agency_id, ext);
        let sha = crate::documents::files::sha256_hex(&upload.bytes);
        let size = upload.bytes.len() as i64;
        self.files.put(&key, upload.bytes).await?;
        let stored = async {
            let file_id = store::insert_file(
                &mut tx,
                actor.agency_id,
                &NewFile {
                    storage_key: &key,
                    original_name: &name,
                    content_type,
                    size_bytes: size,
                    sha256: &sha,
                    owner_kind: "external_submission",
                    owner_id: member_id.get(),
                    uploaded_by: &actor.label,
                },
            )
            .await?;
            let id = store::insert_submission(
                &mut tx,
                actor.agency_id,
                &NewSubmission {
                    member_id,
                    file_id,
                    course_id,
                    completed_on: upload.completed_on,
                    hours: upload.hours,
                    category: upload.category.as_deref().filter(|c| !c.trim().is_empty()),
                    note: upload.note.as_deref().filter(|n| !n.trim().is_empty()),
                },
            )
            .await?;
            crate::ops::audit::record(
                &mut tx,
                actor,
                "submit",
                member_id,
                None,
                Some(&serde_json::json!({"submission": id, "file": name})),
            )
            .await?;
            let row = store::submission(&mut tx, actor.agency_id, id)
                .await?
                .ok_or(AppError::NotFound)?;
            tx.commit().await?;
            Ok::<_, AppError>(row)
        }
        .await;
        match stored {
            Ok(row) => Ok(view(row)),
            Err(e) => {
                // Nothing half-written: the file goes with the failed transaction.
                self.files.delete(&key).await;
                Err(e)
            }
        }
    }

    /// Pending submissions for officers; a member sees their own, any status.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn submissions(&self, actor: &Actor) -> Result<Vec<SubmissionView>> {
        let mut tx = self.store.read().await?;
        let rows = if actor.role.reads_agency() {
            store::submissions(&mut tx, actor.agency_id, Some("pending"), None, 500).await?
        } else {
            let own = actor.member_id.ok_or_else(|| {
                AppError::Forbidden("this login is not linked to a member".into())
            })?;
            store::submissions(&mut tx, actor.agency_id, None, Some(own), 500).await?
        };
        Ok(rows.into_iter().map(view).collect())
    }

    /// The uploaded file, for officers and for the member who sent it.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn submission_file(
        &self,
        actor: &Actor,
        id: SubmissionId,
    ) -> Result<(String, String, Vec<u8>)> {
        let mut tx = self.store.read().await?;
        let s = store::submission(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !actor.sees_member(s.member_id) {
            return Err(AppError::NotFound);
        }
        let bytes = self.files.get(&s.storage_key).await?;
        Ok((s.original_name, s.content_type, bytes))
    }

    /// Approves (recording the training) or rejects a pending submission.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn review_submission(
        &self,
        actor: &Officer,
        id: SubmissionId,
        review: Review,
    ) -> Result<()> {
        check_review(&review)?;
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let s = store::submission(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        actor.refuse_self(s.member_id, "review submissions")?;
        if s.status != "pending" {
            return Err(AppError::Conflict(format!(
                "this submission was already {}",
                s.status
            )));
        }
        let record_id = if let Review::Approve { score } = review {
            let course = match s.course_id {
                Some(c) => {
                    credence_store::catalog::courses::course(&mut tx, actor.agency_id, c).await?
                }
                None => None,
            };
            let hours = s.hours.or(course.as_ref().map(|c| c.hours)).unwrap_or(0.0);
            let category = s
                .category
                .clone()
                .or(course.as_ref().and_then(|c| c.category.clone()));
            if s.course_id.is_none() && (hours <= 0.0 || category.is_none()) {
                return Err(AppError::invalid(
                    "submission",
                    "name a course, or hours with a category, before approving",
                ));
            }
            let record = NewRecord {
                member_id: s.member_id,
                course_id: s.course_id,
                completed_on: s.completed_on,
                score,
                hours,
                category,
                source: crate::training::records::Source::External.as_str().into(),
            };
            self.store_records(&mut tx, &ctx, &[record])
                .await?
                .first()
                .map(|r| r.id)
        } else {
            None
        };
        let (status, reason) = match &review {
            Review::Approve { .. } => ("approved", None),
            Review::Reject { reason } => ("rejected", Some(reason.trim())),
        };
        if !store::review(
            &mut tx,
            actor.agency_id,
            id,
            status,
            &actor.label,
            record_id,
            reason,
        )
        .await?
        {
            return Err(AppError::Conflict(
                "this submission was already reviewed".into(),
            ));
        }
        crate::ops::audit::record(
            &mut tx,
            actor,
            status,
            s.member_id,
            None,
            Some(&serde_json::json!({"submission": id, "reason": reason})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl App {
    /// The course a requirement asks for, as (id, name), if it is a course requirement the
    /// actor may see.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn requirement_course(
        &self,
        actor: &Actor,
        req: RequirementId,
    ) -> Result<Option<(CourseId, String)>> {
        let mut tx = self.store.read().await?;
        let course = credence_store::catalog::credential_types::requirement_course(
            &mut tx,
            actor.agency_id,
            req,
        )
        .await?;
        Ok(course)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_and_names_are_tamed() {
        assert_eq!(sniff(b"%PDF-1.7 ..."), Some(("application/pdf", "pdf")));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(("image/png", "png")));
        assert_eq!(sniff(b"MZ\x90\x00"), None);
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("C:\\Users\\ava\\cpr card.pdf"), "cpr card.pdf");
        assert!(extension_matches("CPR.JPEG", "jpg") && !extension_matches("cpr.pdf", "png"));
    }
}
