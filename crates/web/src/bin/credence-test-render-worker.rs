//! A render worker for this crate's HTTP tests (cargo gives integration tests the path of
//! their own package's binaries only); the service itself runs `credence render-worker`.
fn main() -> std::io::Result<()> {
    credence_documents::worker::serve()
}
