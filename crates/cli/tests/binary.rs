//! The `credence` binary itself: the render worker the server starts for certificates, and
//! the commands its help lists.

use std::io::Write;
use std::process::{Command, Stdio};

const JOB: &str = r##"{"templates": [{"source": "#let certificate(data) = { set page(width: 3in, height: 2in); data.name }"}],
  "documents": [{"template": 0, "data": {"name": "Ava Smith"}}], "merge": false}"##;

#[test]
fn render_worker_answers_one_pdf_frame_per_document() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_credence"))
        .arg("render-worker")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(JOB.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let out = output.stdout;
    assert_eq!(out[0], b'P', "a PDF frame");
    let len = u64::from_le_bytes(out[1..9].try_into().unwrap()) as usize;
    assert_eq!(out.len(), 9 + len, "exactly one frame");
    assert!(out[9..].starts_with(b"%PDF-"));
}

#[test]
fn help_lists_the_commands() {
    let output = Command::new(env!("CARGO_BIN_EXE_credence"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for command in [
        "demo",
        "serve",
        "migrate",
        "seed",
        "sweep",
        "reminders",
        "import",
    ] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}
