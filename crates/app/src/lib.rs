//! Credence's use cases. Each module is one workflow or resource; every public method takes
//! the acting [`Actor`], checks what their role allows, decides with the domain crate,
//! writes through the store in one transaction, and records an audit event for each change.

// The areas of DESIGN.md's architecture: a feature lives in the folder of the same name in
// app, store, web/api and web/pages.
pub mod auth;
pub mod catalog;
pub mod credentials;
pub mod documents;
pub mod imports;
pub mod notify;
pub mod ops;
pub mod people;
pub mod reports;
pub mod training;

mod clock;
mod error;
pub mod ids;
mod input;
pub mod page;

pub use auth::capability::{Actor, Admin, Officer, Reader};
pub use clock::Clock;
pub use credence_domain::Role;
pub use credence_store::{Backend, Store};
pub use error::{AppError, Result};

/// The application: a store, a clock and, when configured, a mailer. Cheap to clone;
/// handlers share one.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub clock: Clock,
    mailer: Option<std::sync::Arc<notify::reminders::Mailer>>,
    files: documents::files::Files,
    renderer: Option<credence_documents::Renderer>,
    public_url: String,
    summaries: std::sync::Arc<reports::summary::SummaryCache>,
    trusted_proxies: std::sync::Arc<Vec<std::net::IpAddr>>,
    session_idle: chrono::Duration,
    /// Seals agencies' private signing keys; without it badges are not signed.
    key_encryption: Option<std::sync::Arc<documents::badges::keys::KeyEncryptionKey>>,
    signers: documents::badges::keys::Signers,
    webhooks: notify::webhooks::WebhookSettings,
}

impl App {
    pub fn new(store: Store, clock: Clock) -> App {
        App {
            store,
            clock,
            mailer: None,
            files: documents::files::Files::in_memory(),
            renderer: None,
            public_url: "http://localhost:8080".into(),
            summaries: Default::default(),
            trusted_proxies: Default::default(),
            session_idle: auth::SESSION_IDLE_DEFAULT,
            key_encryption: None,
            signers: Default::default(),
            webhooks: Default::default(),
        }
    }
}

impl App {
    /// Where files are kept.
    pub fn with_files(mut self, files: documents::files::Files) -> App {
        self.files = files;
        self
    }

    /// How certificates are rendered; without a renderer, generating one is an error.
    pub fn with_renderer(mut self, renderer: credence_documents::Renderer) -> App {
        self.renderer = Some(renderer);
        self
    }

    /// Reverse proxies whose `X-Forwarded-For` names the client (sign-in throttling counts
    /// per client address); without them the connection's own address is the client.
    /// A web session unused this long is signed out (besides its absolute lifetime).
    pub fn with_session_idle_timeout(mut self, idle: chrono::Duration) -> App {
        self.session_idle = idle;
        self
    }

    pub fn with_trusted_proxies(mut self, proxies: Vec<std::net::IpAddr>) -> App {
        self.trusted_proxies = std::sync::Arc::new(proxies);
        self
    }

    pub fn trusted_proxies(&self) -> &[std::net::IpAddr] {
        &self.trusted_proxies
    }

    /// The address people reach this service at, for links in certificates and e-mails.
    pub fn with_public_url(mut self, url: &str) -> App {
        self.public_url = url.trim_end_matches('/').to_owned();
        self
    }
}

/// Serialises a view for the audit log.
pub(crate) fn audit_json<T: serde::Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}
