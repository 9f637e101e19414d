//! Typst compilation of a job, in the calling process. The service reaches this only
//! through [`crate::worker`]; the worker process and the benchmark call it directly.

use typst::diag::SourceDiagnostic;
use typst::foundations::{Label, Selector};
use typst::introspection::Introspector;
use typst::model::Document as _;
use typst::utils::PicoStr;
use typst::WorldExt;
use typst_layout::PagedDocument;
use typst_pdf::PdfOptions;

use crate::job::{Document, Job, Output, TemplateError};
use crate::world::{template_path, CertWorld, Files, DATA_PATH};

/// Pages one certificate (or a template preview) may have. Certificates are a page or two;
/// a template that lays out hundreds is a mistake or an attack on the shared renderer.
pub const MAX_DOCUMENT_PAGES: usize = 20;
/// Pages of a merged print file: 200, or two per certificate in larger batches (a batch is
/// at most 2,000 certificates, and 1,000 one-page certificates merge to about 4 MB).
pub const MAX_MERGED_PAGES: usize = 200;
/// Bytes of any one PDF.
pub const MAX_PDF_BYTES: usize = 20 * 1024 * 1024;

fn merged_page_limit(documents: usize) -> usize {
    MAX_MERGED_PAGES.max(2 * documents)
}

/// Renders a job: one output per document, or a single merged output.
pub fn render(job: &Job) -> Vec<Output> {
    let sources: Vec<String> = job.templates.iter().map(|t| t.source.clone()).collect();
    let main = main_source(sources.len());
    let files = Files::new(&job.files);
    if job.merge {
        return vec![compile(
            &main,
            &sources,
            &files,
            &job.documents,
            Tagging::Untagged,
            merged_page_limit(job.documents.len()),
        )];
    }
    // Laying the whole batch out at once and cutting it into one PDF per document costs
    // half as much as compiling each on its own. When the batch fails (one document's
    // data breaks its template), each is compiled alone so every document gets its own
    // answer.
    if job.documents.len() > 1 {
        if let Some(outputs) = render_split(&main, &sources, &files, &job.documents) {
            return outputs;
        }
    }
    job.documents
        .iter()
        .map(|doc| {
            let one = std::slice::from_ref(doc);
            compile(
                &main,
                &sources,
                &files,
                one,
                Tagging::Tagged,
                MAX_DOCUMENT_PAGES,
            )
        })
        .collect()
}

/// One layout of every document, exported as one PDF per document; `None` when the batch
/// does not compile or its pages cannot be attributed to documents with certainty. A
/// document over a limit gets its own error; the others are still exported.
fn render_split(
    main: &str,
    templates: &[String],
    files: &Files,
    documents: &[Document],
) -> Option<Vec<Output>> {
    let (_, document) = layout(main, templates, files, documents).ok()?;
    let ranges = document_pages(&document, documents.len())?;
    let options = PdfOptions {
        tagged: true,
        ..PdfOptions::default()
    };
    let outputs = ranges
        .into_iter()
        .map(|range| {
            if let Err(e) = check_pages(range.len(), MAX_DOCUMENT_PAGES) {
                return Some(Err(e));
            }
            let pages = document.pages()[range].iter().cloned().collect();
            let one = PagedDocument::new(pages, document.info().clone());
            typst_pdf::pdf(&one, &options).ok().map(check_bytes)
        })
        .collect::<Option<Vec<_>>>()?;
    Some(outputs)
}

/// A layout over the page limit fails before its PDF is written: exporting is the costly part.
fn check_pages(pages: usize, limit: usize) -> Result<(), TemplateError> {
    if pages > limit {
        return Err(TemplateError::new(format!(
            "the PDF would have {pages} pages, over the page limit of {limit}"
        )));
    }
    Ok(())
}

fn check_bytes(pdf: Vec<u8>) -> Output {
    if pdf.len() > MAX_PDF_BYTES {
        return Err(TemplateError::new(format!(
            "the PDF is {:.1} MB, over the size limit of {} MB",
            pdf.len() as f64 / (1024.0 * 1024.0),
            MAX_PDF_BYTES / 1024 / 1024
        )));
    }
    Ok(pdf)
}

/// The pages of each document: from the page of its start marker to the next one's.
fn document_pages(document: &PagedDocument, count: usize) -> Option<Vec<std::ops::Range<usize>>> {
    let introspector = document.introspector();
    let selector = Selector::Label(Label::new(PicoStr::intern(DOCUMENT_MARKER))?);
    let starts: Vec<usize> = introspector
        .query(&selector)
        .iter()
        .map(|marker| Some(introspector.page(marker.location()?)?.get() - 1))
        .collect::<Option<_>>()?;
    let total = document.pages().len();
    let ends = starts.iter().skip(1).copied().chain(std::iter::once(total));
    let ranges: Vec<_> = starts.iter().zip(ends).map(|(&s, e)| s..e).collect();
    let sound = ranges.len() == count
        && starts.first() == Some(&0)
        && ranges.iter().all(|r| r.start < r.end);
    sound.then_some(ranges)
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
         [#metadata(i) <{DOCUMENT_MARKER}>]\n  \
         templates.at(d.template)(d.data)\n}}\n",
        list.join(", ")
    ));
    main
}

/// The label of the invisible marker that starts each document's first page.
const DOCUMENT_MARKER: &str = "credence-document";

/// Whether a PDF carries the tagged structure screen readers use. A certificate someone
/// keeps does; a merged print file does not (the structure tree would be a third of it).
#[derive(Clone, Copy, PartialEq)]
enum Tagging {
    Tagged,
    Untagged,
}

fn compile(
    main: &str,
    templates: &[String],
    files: &Files,
    documents: &[Document],
    tagging: Tagging,
    max_pages: usize,
) -> Output {
    if let Some(bad) = documents.iter().find(|d| d.template >= templates.len()) {
        return Err(TemplateError::new(format!(
            "document refers to template {} of {}",
            bad.template,
            templates.len()
        )));
    }
    let (world, document) = layout(main, templates, files, documents)?;
    check_pages(document.pages().len(), max_pages)?;
    let options = PdfOptions {
        tagged: tagging == Tagging::Tagged,
        ..PdfOptions::default()
    };
    let pdf = typst_pdf::pdf(&document, &options)
        .map_err(|diags| first_error(&world, diags.as_slice()))?;
    check_bytes(pdf)
}

/// Lays out the documents in one Typst compilation.
fn layout(
    main: &str,
    templates: &[String],
    files: &Files,
    documents: &[Document],
) -> Result<(CertWorld, PagedDocument), TemplateError> {
    let documents: Vec<Document> = documents.iter().map(with_qr_code).collect();
    let data = serde_json::to_vec(&documents).expect("JSON values serialize");
    let world = CertWorld::new(main.to_owned(), templates, data, files.clone());
    let compiled = typst::compile::<PagedDocument>(&world).output;
    let document = compiled.map_err(|diags| first_error(&world, diags.as_slice()))?;
    Ok((world, document))
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
        if let (Some(modules), Some(obj)) = (qr_modules(&url), cert.as_object_mut()) {
            obj.insert("qr".into(), qr_svg(&modules).into());
        }
    }
    doc
}

/// The dark modules of the QR code for `text`, row by row, at error correction level M.
///
/// Every mask pattern makes a valid code; the standard's search for the "best" one scores
/// all eight, which cost 0.5 ms a certificate, a third of rendering one. A printed code
/// read at arm's length does not need that search, so the checkerboard mask is used.
fn qr_modules(text: &str) -> Option<Vec<Vec<bool>>> {
    use qrcode::{bits, canvas, ec, EcLevel};
    let level = EcLevel::M;
    let bits = bits::encode_auto(text.as_bytes(), level).ok()?;
    let version = bits.version();
    let (data, correction) = ec::construct_codewords(&bits.into_bytes(), version, level).ok()?;
    let mut canvas = canvas::Canvas::new(version, level);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &correction);
    canvas.apply_mask(canvas::MaskPattern::Checkerboard);
    let width = usize::try_from(version.width()).ok()?;
    let colors = canvas.into_colors();
    let rows = colors.chunks(width);
    Some(
        rows.map(|row| row.iter().map(|c| *c == qrcode::Color::Dark).collect())
            .collect(),
    )
}

/// The QR code as one SVG path, each horizontal run of dark modules one rectangle: a
/// third of the size of a square per module, which matters in a 1,000-page print file.
fn qr_svg(rows: &[Vec<bool>]) -> String {
    let width = rows.len();
    let mut path = String::new();
    for (y, row) in rows.iter().enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] {
                let start = x;
                while x < width && row[x] {
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
