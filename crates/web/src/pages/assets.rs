//! Static assets, embedded in the binary and served under a content-hashed name so
//! browsers may cache them forever.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const FILES: [(&str, &str, &[u8]); 7] = [
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/app.js"),
    ),
    (
        "standalone.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/standalone.css"),
    ),
    (
        "docs.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/docs.css"),
    ),
    (
        "docs.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/docs.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/htmx.min.js"),
    ),
    (
        // Frappe Charts 1.6.2 (npm `frappe-charts`, MIT, see frappe-charts.LICENSE): the
        // dashboard's charts; the server-drawn bars stay as the no-script fallback.
        "frappe-charts.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/frappe-charts.min.js"),
    ),
];

fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = Sha256::new();
        for (_, _, bytes) in FILES {
            h.update(bytes);
        }
        h.finalize()
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// The versioned address of an asset.
pub fn url(name: &str) -> String {
    format!("/assets/{name}?v={}", version())
}

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
