//! Typst compilation of a job, in the calling process. The service reaches this only
//! through [`crate::worker`]; the worker process and the benchmark call it directly.

use typst::diag::SourceDiagnostic;
use typst::WorldExt;
use typst_layout::PagedDocument;
use typst_pdf::PdfOptions;

use crate::job::{Document, Job, Output, TemplateError};
use crate::world::{template_path, CertWorld, DATA_PATH};

/// Renders a job: one output per document, or a single merged output.
pub fn render(job: &Job) -> Vec<Output> {
    let sources: Vec<String> = job.templates.iter().map(|t| t.source.clone()).collect();
    let main = main_source(sources.len());
    if job.merge {
        return vec![compile(&main, &sources, &job.documents, Tagging::Untagged)];
    }
    job.documents
        .iter()
        .map(|doc| compile(&main, &sources, std::slice::from_ref(doc), Tagging::Tagged))
        .collect()
}

/// The generated entry point: import every template's `certificate` and call it for each
/// document, one after another, each on its own page(s).
fn main_source(templates: usize) -> String {
    let mut main = String::new();
    for i in 0..templates {
        main.push_str(&format!(
            "#import \"{}\": certificate as template-{i}\n",
            template_path(i)
        ));
    }
    let list: Vec<String> = (0..templates).map(|i| format!("template-{i}")).collect();
    main.push_str(&format!(
        "#let templates = ({},)\n#let documents = json(\"{DATA_PATH}\")\n\
         #for (i, d) in documents.enumerate() {{\n  \
         if i > 0 {{ pagebreak(weak: true) }}\n  \
         templates.at(d.template)(d.data)\n}}\n",
        list.join(", ")
    ));
    main
}

/// Whether a PDF carries the tagged structure screen readers use. A certificate someone
/// keeps does; a merged print file does not (the structure tree would be a third of it).
#[derive(Clone, Copy, PartialEq)]
enum Tagging {
    Tagged,
    Untagged,
}

fn compile(main: &str, templates: &[String], documents: &[Document], tagging: Tagging) -> Output {
    if let Some(bad) = documents.iter().find(|d| d.template >= templates.len()) {
        return Err(TemplateError::new(format!(
            "document refers to template {} of {}",
            bad.template,
            templates.len()
        )));
    }
    let documents: Vec<Document> = documents.iter().map(with_qr_code).collect();
    let data = serde_json::to_vec(&documents).expect("JSON values serialize");
    let world = CertWorld::new(main.to_owned(), templates, data);
    let compiled = typst::compile::<PagedDocument>(&world).output;
    let document = compiled.map_err(|diags| first_error(&world, diags.as_slice()))?;
    let options = PdfOptions {
        tagged: tagging == Tagging::Tagged,
        ..PdfOptions::default()
    };
    typst_pdf::pdf(&document, &options).map_err(|diags| first_error(&world, diags.as_slice()))
}

/// A certificate with a `certificate.verify_url` gets its QR code as SVG text in
/// `certificate.qr`, so templates can place it with `image(bytes(data.certificate.qr))`.
fn with_qr_code(doc: &Document) -> Document {
    let mut doc = doc.clone();
    let url = doc
        .data
        .pointer("/certificate/verify_url")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    if let (Some(url), Some(cert)) = (url, doc.data.pointer_mut("/certificate")) {
        if let (Ok(code), Some(obj)) = (qrcode::QrCode::new(url.as_bytes()), cert.as_object_mut()) {
            obj.insert("qr".into(), qr_svg(&code).into());
        }
    }
    doc
}

/// The QR code as one SVG path, each horizontal run of dark modules one rectangle: a
/// third of the size of a square per module, which matters in a 1,000-page print file.
fn qr_svg(code: &qrcode::QrCode) -> String {
    let width = code.width();
    let colors = code.to_colors();
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == qrcode::Color::Dark {
                let start = x;
                while x < width && row[x] == qrcode::Color::Dark {
                    x += 1;
                }
                path.push_str(&format!("M{start} {y}h{}v1H{start}z", x - start));
            } else {
                x += 1;
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {width}\" shape-rendering=\"crispEdges\"><path fill=\"#000\" d=\"{path}\"/></svg>"
    )
}

/// The first error, located in the template when it lies there.
fn first_error(world: &CertWorld, diags: &[SourceDiagnostic]) -> TemplateError {
    let Some(diag) = diags.first() else {
        return TemplateError::new("the template failed without a message");
    };
    let mut error = TemplateError::new(diag.message.to_string());
    error.hints = diag.hints.iter().map(|h| h.v.to_string()).collect();
    let located = diag.span.id().and_then(|id| {
        let index = world.template_index(id)?;
        let range = world.range(diag.span)?;
        world
            .template(index)
            .lines()
            .byte_to_line_column(range.start)
    });
    match located {
        Some((line, column)) => {
            error.line = Some(line + 1);
            error.column = Some(column + 1);
        }
        None if diag.message.contains("certificate") || diag.message.contains("import") => {
            error.message = format!(
                "the template must define a function `certificate(data)` ({})",
                diag.message
            );
        }
        None => {}
    }
    error
}
