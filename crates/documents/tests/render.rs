//! Rendering through real worker processes: the defaults produce PDFs, a bad template is
//! located by line, and runaway templates are stopped by the limits.

use std::time::Duration;

use credence_documents::defaults::{sample_data, TEMPLATES};
use credence_documents::worker::Limits;
use credence_documents::{Document, Job, RenderError, Renderer, Template};

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
    let outputs = renderer().render(job(&sources, 4, false)).await.unwrap();
    assert_eq!(outputs.len(), 4);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (i, output) in outputs.iter().enumerate() {
        let pdf = output.as_ref().expect("the default templates render");
        std::fs::write(dir.join(format!("default-{i}.pdf")), pdf).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(page_count(pdf), 1, "document {i} is one page");
    }
    let merged = renderer().render(job(&sources, 6, true)).await.unwrap();
    let merged = merged[0].as_ref().unwrap();
    std::fs::write(dir.join("merged.pdf"), merged).unwrap();
    assert_eq!(page_count(merged), 6);
}

#[tokio::test]
async fn an_invalid_template_is_reported_at_its_line() {
    let source = "#let certificate(data) = {\n  set page(width: 5in)\n  data.member.nmae\n}\n";
    let outputs = renderer().render(job(&[source], 1, false)).await.unwrap();
    let error = outputs[0].as_ref().unwrap_err();
    assert_eq!(error.line, Some(3), "{error:?}");
    assert!(error.message.contains("nmae"), "{error:?}");

    let outputs = renderer()
        .render(job(&["#let other = 1"], 1, false))
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
        .render(job(&[source], 1, false))
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
        .render(job(&[source], 1, false))
        .await;
    assert!(
        matches!(result, Err(RenderError::OutOfMemory(_))),
        "{result:?}"
    );
}
