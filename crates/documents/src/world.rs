//! The Typst world of one render: generated main file, the job's templates, its data as
//! JSON, the images the job carries (agency logos), and the fonts bundled in the binary
//! (so output is identical on every machine). Nothing is read from disk or network.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

use crate::job::JobFile;

/// Fonts and the standard library are built once per process.
struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    Shared {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

pub fn file_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("a valid virtual path");
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

/// A job's files by virtual path, converted once per job: every world of the job shares
/// the same bytes, so Typst decodes each image once however many documents show it.
#[derive(Clone, Default)]
pub struct Files(Vec<(FileId, Bytes)>);

impl Files {
    /// A file whose path is not a valid virtual path is left out; a template naming it
    /// gets Typst's "file not found".
    pub fn new(files: &[JobFile]) -> Files {
        Files(
            files
                .iter()
                .filter_map(|f| {
                    let vpath = VirtualPath::new(&f.path).ok()?;
                    let id = RootedPath::new(VirtualRoot::Project, vpath).intern();
                    Some((id, Bytes::new(f.bytes.clone())))
                })
                .collect(),
        )
    }

    fn get(&self, id: FileId) -> Option<Bytes> {
        self.0
            .iter()
            .find(|(f, _)| *f == id)
            .map(|(_, b)| b.clone())
    }
}

pub struct CertWorld {
    main: Source,
    templates: Vec<Source>,
    data: Bytes,
    files: Files,
}

/// Where template `index` lives in the virtual file system.
pub fn template_path(index: usize) -> String {
    format!("/template-{index}.typ")
}

pub const DATA_PATH: &str = "/documents.json";

impl CertWorld {
    pub fn new(main: String, templates: &[String], data: Vec<u8>, files: Files) -> CertWorld {
        CertWorld {
            main: Source::new(file_id("/main.typ"), main),
            templates: templates
                .iter()
                .enumerate()
                .map(|(i, t)| Source::new(file_id(&template_path(i)), t.clone()))
                .collect(),
            data: Bytes::new(data),
            files,
        }
    }

    /// Which template a file id is, if any.
    pub fn template_index(&self, id: FileId) -> Option<usize> {
        self.templates.iter().position(|s| s.id() == id)
    }

    pub fn template(&self, index: usize) -> &Source {
        &self.templates[index]
    }
}

impl World for CertWorld {
    fn library(&self) -> &LazyHash<Library> {
        &SHARED.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &SHARED.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            return Ok(self.main.clone());
        }
        self.templates
            .iter()
            .find(|s| s.id() == id)
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == file_id(DATA_PATH) {
            return Ok(self.data.clone());
        }
        if let Some(bytes) = self.files.get(id) {
            return Ok(bytes);
        }
        self.source(id)
            .map(|s| Bytes::from_string(s.text().to_owned()))
    }

    fn font(&self, index: usize) -> Option<Font> {
        SHARED.fonts.get(index).cloned()
    }

    /// Certificates carry the dates they are given; "today" would make output depend on
    /// when it was rendered.
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_with_slash().into())
}
