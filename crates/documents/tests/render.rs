//! Rendering through real worker processes: the defaults produce PDFs (with the agency's
//! logo when the job carries it), a bad template is located by line, and runaway templates
//! are stopped by the limits.

use std::time::Duration;

use credence_documents::defaults::{sample_data, TEMPLATES};
use credence_documents::worker::Limits;
use credence_documents::{Document, Job, JobFile, RenderError, Renderer, Template};

const TENANT: credence_documents::Tenant = 1;

fn renderer() -> Renderer {
    Renderer::new(env!("CARGO_BIN_EXE_credence-render-worker").into(), vec![])
}

fn job(sources: &[&str], documents: usize, merge: bool) -> Job {
    Job {
        templates: sources
            .iter()
            .map(|s| Template {
                source: s.to_string(),
            })
            .collect(),
        documents: (0..documents)
            .map(|i| Document {
                template: i % sources.len(),
                data: sample_data(),
            })
            .collect(),
        merge,
        files: Vec::new(),
    }
}

/// The page count of the root page tree, as Typst writes it.
fn page_count(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let at = text.find("/Type/Pages/Count ").expect("a page tree") + 18;
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

#[tokio::test]
async fn defaults_render_one_pdf_per_document_and_merge_into_one() {
    let sources: Vec<&str> = TEMPLATES.iter().map(|t| t.2).collect();
    let outputs = renderer()
        .render(TENANT, job(&sources, 4, false))
        .await
        .unwrap();
    assert_eq!(outputs.len(), 4);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (i, output) in outputs.iter().enumerate() {
        let pdf = output.as_ref().expect("the default templates render");
        std::fs::write(dir.join(format!("default-{i}.pdf")), pdf).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(page_count(pdf), 1, "document {i} is one page");
    }
    let merged = renderer()
        .render(TENANT, job(&sources, 6, true))
        .await
        .unwrap();
    let merged = merged[0].as_ref().unwrap();
    std::fs::write(dir.join("merged.pdf"), merged).unwrap();
    assert_eq!(page_count(merged), 6);
}

/// A 1×1 PNG, one dark red pixel.
const PIXEL_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xa8, 0x97, 0x95, 0x05,
    0x00, 0x01, 0xd8, 0x00, 0xba, 0x06, 0xb1, 0xc1, 0xae, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Image XObjects are streams, which PDF never puts in object streams, so their
/// dictionaries stay readable even when the rest is compressed.
fn has_image(pdf: &[u8]) -> bool {
    String::from_utf8_lossy(pdf).contains("/Subtype/Image")
}

#[tokio::test]
async fn a_logo_the_job_carries_appears_on_both_defaults() {
    let sources: Vec<&str> = TEMPLATES.iter().map(|t| t.2).collect();
    let without = renderer()
        .render(TENANT, job(&sources, 2, false))
        .await
        .unwrap();
    assert!(without.iter().all(|o| !has_image(o.as_ref().unwrap())));

    let mut with = job(&sources, 2, false);
    for doc in &mut with.documents {
        doc.data["agency"]["logo"] = "/logo-7.png".into();
    }
    with.files.push(JobFile {
        path: "/logo-7.png".into(),
        bytes: PIXEL_PNG.to_vec(),
    });
    let outputs = renderer().render(TENANT, with.clone()).await.unwrap();
    for (i, output) in outputs.iter().enumerate() {
        let pdf = output.as_ref().expect("the defaults render a logo");
        assert!(has_image(pdf), "document {i} shows the logo");
        assert_eq!(
            page_count(pdf),
            1,
            "the logo keeps document {i} on one page"
        );
    }

    // A path the job does not carry is the template's error, not the worker's.
    with.files.clear();
    let outputs = renderer().render(TENANT, with).await.unwrap();
    let error = outputs[0].as_ref().unwrap_err();
    assert!(error.message.contains("not found"), "{error:?}");
}

#[tokio::test]
async fn an_invalid_template_is_reported_at_its_line() {
    let source = "#let certificate(data) = {\n  set page(width: 5in)\n  data.member.nmae\n}\n";
    let outputs = renderer()
        .render(TENANT, job(&[source], 1, false))
        .await
        .unwrap();
    let error = outputs[0].as_ref().unwrap_err();
    assert_eq!(error.line, Some(3), "{error:?}");
    assert!(error.message.contains("nmae"), "{error:?}");

    let outputs = renderer()
        .render(TENANT, job(&["#let other = 1"], 1, false))
        .await
        .unwrap();
    let error = outputs[0].as_ref().unwrap_err();
    assert!(error.message.contains("certificate(data)"), "{error:?}");
}

#[tokio::test]
async fn a_template_that_never_ends_is_stopped() {
    let source =
        "#let certificate(data) = {\n  for i in range(100000) { for j in range(100000) { } }\n}\n";
    let limits = Limits {
        base_time: Duration::from_secs(2),
        per_document: Duration::ZERO,
        ..Limits::default()
    };
    let started = std::time::Instant::now();
    let result = renderer()
        .with_limits(limits)
        .render(TENANT, job(&[source], 1, false))
        .await;
    assert!(
        matches!(result, Err(RenderError::TimedOut(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_template_that_eats_memory_is_stopped() {
    let source = "#let certificate(data) = {\n  let a = range(400000000)\n  a.len()\n}\n";
    let limits = Limits {
        memory_bytes: 512 << 20,
        ..Limits::default()
    };
    let result = renderer()
        .with_limits(limits)
        .render(TENANT, job(&[source], 1, false))
        .await;
    assert!(
        matches!(result, Err(RenderError::OutOfMemory(_))),
        "{result:?}"
    );
}

/// A template that lays out `data.pages` pages.
const PAGES_TEMPLATE: &str = "#let certificate(data) = {\n  for i in range(data.pages) {\n    if i > 0 { pagebreak() }\n    [Page #i]\n  }\n}\n";

fn pages_job(pages: &[usize], merge: bool) -> Job {
    Job {
        templates: vec![Template {
            source: PAGES_TEMPLATE.into(),
        }],
        documents: pages
            .iter()
            .map(|&n| Document {
                template: 0,
                data: serde_json::json!({ "pages": n }),
            })
            .collect(),
        merge,
        files: Vec::new(),
    }
}

#[tokio::test]
async fn a_document_over_the_page_limit_fails_naming_the_limit() {
    // Alone, and in a batch where only the long document fails.
    let alone = renderer()
        .render(TENANT, pages_job(&[21], false))
        .await
        .unwrap();
    let error = alone[0].as_ref().unwrap_err();
    assert_eq!(
        error.message,
        "the PDF would have 21 pages, over the page limit of 20"
    );
    let batch = renderer()
        .render(TENANT, pages_job(&[1, 21, 20], false))
        .await
        .unwrap();
    assert_eq!(page_count(batch[0].as_ref().unwrap()), 1);
    assert!(batch[1]
        .as_ref()
        .unwrap_err()
        .message
        .contains("page limit of 20"));
    assert_eq!(page_count(batch[2].as_ref().unwrap()), 20);
}

#[tokio::test]
async fn a_merged_file_over_the_page_limit_fails_naming_the_limit() {
    let merged = renderer()
        .render(TENANT, pages_job(&[150, 51], true))
        .await
        .unwrap();
    let error = merged[0].as_ref().unwrap_err();
    assert_eq!(
        error.message,
        "the PDF would have 201 pages, over the page limit of 200"
    );
    let merged = renderer()
        .render(TENANT, pages_job(&[100, 100], true))
        .await
        .unwrap();
    assert_eq!(page_count(merged[0].as_ref().unwrap()), 200);
}
