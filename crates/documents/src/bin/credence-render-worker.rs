//! A render worker on its own, for this crate's tests and for the benchmark; the service
//! starts `credence render-worker` instead.
fn main() -> std::io::Result<()> {
    credence_documents::worker::serve()
}
