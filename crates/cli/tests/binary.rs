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
        "audit",
        "backup",
        "restore",
    ] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}

/// Runs `credence ARGS` on the data directory `dir`; answers (success, stdout, stderr).
fn credence(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_credence"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("CREDENCE_DATABASE_URL")
        .env("CREDENCE_LOG", "error")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn tokens_are_created_listed_and_revoked_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("credence-cli-tokens-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (ok, slug, err) = credence(&dir, &["agency", "create", "--name", "Metro Fire"]);
    assert!(ok, "{err}");
    let slug = slug.trim();
    let (ok, token, err) = credence(
        &dir,
        &[
            "token",
            "create",
            "--agency",
            slug,
            "--role",
            "auditor",
            "--name",
            "scheduler",
            "--expires-in-days",
            "30",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        token.trim().starts_with("cred_"),
        "only the token is printed: {token}"
    );
    let (ok, list, err) = credence(&dir, &["token", "list", "--agency", slug]);
    assert!(ok, "{err}");
    let row = list
        .lines()
        .find(|l| l.contains("scheduler"))
        .expect("the token is listed");
    assert!(!list.contains(token.trim()), "secrets are never listed");
    let id = row.split('\t').next().unwrap();
    assert!(id.starts_with("tok_"), "{row}");
    let (ok, _, err) = credence(&dir, &["token", "revoke", "--agency", slug, id]);
    assert!(ok, "{err}");
    let (_, list, _) = credence(&dir, &["token", "list", "--agency", slug]);
    assert!(
        !list.contains("scheduler"),
        "a revoked token is gone from the list"
    );
    let (ok, _, err) = credence(&dir, &["token", "revoke", "--agency", slug, id]);
    assert!(
        !ok && !err.contains("panicked"),
        "revoking twice is one clear error: {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn audit_verify_prints_ok_or_the_first_broken_link() {
    let dir = std::env::temp_dir().join(format!("credence-cli-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (ok, slug, err) = credence(&dir, &["agency", "create", "--name", "Metro Fire"]);
    assert!(ok, "{err}");
    let slug = slug.trim();
    for name in ["first", "second"] {
        let (ok, _, err) = credence(
            &dir,
            &[
                "token", "create", "--agency", slug, "--role", "auditor", "--name", name,
            ],
        );
        assert!(ok, "{err}");
    }
    let (ok, out, err) = credence(&dir, &["audit", "verify", "--agency", slug]);
    assert!(ok, "{err}");
    assert_eq!(out, "ok\n");

    // Someone with the database file rewrites the first event.
    let url = format!("sqlite://{}", dir.join("credence.sqlite3").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = credence_store::Store::connect(&url).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        for sql in [
            "DROP TRIGGER audit_events_no_update",
            "UPDATE audit_events SET actor = 'someone else' WHERE id = (SELECT MIN(id) FROM audit_events)",
        ] {
            credence_store::query(sql).execute(&mut tx).await.unwrap();
        }
        tx.commit().await.unwrap();
        store.close().await;
    });
    let (ok, out, _) = credence(&dir, &["audit", "verify", "--agency", slug]);
    assert!(!ok, "a broken chain exits non-zero");
    assert!(out.starts_with("broken at evt_1: hash is "), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");

    let (ok, out, err) = credence(&dir, &["audit", "verify", "--agency", "nowhere"]);
    assert!(!ok && out.is_empty());
    assert_eq!(err, "Error: no agency with slug \"nowhere\"\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_backup_taken_during_writes_restores_every_acknowledged_write() {
    let base = std::env::temp_dir().join(format!("credence-cli-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (live, restored) = (base.join("live"), base.join("restored"));
    let (ok, slug, err) = credence(&live, &["agency", "create", "--name", "Metro Fire"]);
    assert!(ok, "{err}");
    let slug = slug.trim().to_string();
    // Enough rows that the copy takes a while, with writers running all along.
    let (ok, _, err) = credence(
        &live,
        &[
            "seed",
            "--agency",
            &slug,
            "--members",
            "3000",
            "--credentials-per-member",
            "2",
        ],
    );
    assert!(ok, "{err}");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (live, slug, stop) = (live.clone(), slug.clone(), stop.clone());
        std::thread::spawn(move || {
            // (name, when it was acknowledged)
            let mut acknowledged = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                let name = format!("writer-{n}");
                let args = [
                    "token", "create", "--agency", &slug, "--role", "auditor", "--name", &name,
                ];
                let (ok, _, err) = credence(&live, &args);
                assert!(ok, "{err}");
                acknowledged.push((name, std::time::Instant::now()));
            }
            acknowledged
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let file = base.join("backup.sqlite3");
    let started = std::time::Instant::now();
    let (ok, out, err) = credence(&live, &["backup", "--to", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.starts_with("backed up to "), "{out}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let acknowledged = writer.join().unwrap();
    let before: Vec<&str> = acknowledged
        .iter()
        .filter(|(_, at)| *at < started)
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(
        !before.is_empty() && before.len() < acknowledged.len(),
        "writes ran before and during the backup"
    );
    // A backup never overwrites a file.
    let (ok, _, err) = credence(&live, &["backup", "--to", file.to_str().unwrap()]);
    assert!(!ok && err.contains("never overwrites"), "{err}");

    let (ok, out, err) = credence(&restored, &["restore", "--from", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.starts_with("restored "), "{out}");
    let (ok, out, err) = credence(&restored, &["audit", "verify", "--agency", &slug]);
    assert!(ok, "{err}");
    assert_eq!(out, "ok\n");
    let (ok, list, err) = credence(&restored, &["token", "list", "--agency", &slug]);
    assert!(ok, "{err}");
    for name in &before {
        assert!(
            list.lines().any(|l| l.split('\t').any(|f| f == *name)),
            "{name} was acknowledged before the backup began"
        );
    }
    // Not a Credence database: refused, nothing replaced.
    let junk = base.join("junk.sqlite3");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let (ok, _, err) = credence(&restored, &["restore", "--from", junk.to_str().unwrap()]);
    assert!(!ok && err.contains("not a SQLite database"), "{err}");
    let (ok, out, _) = credence(&restored, &["audit", "verify", "--agency", &slug]);
    assert!(ok && out == "ok\n", "the restored database is untouched");
    let _ = std::fs::remove_dir_all(&base);
}

#[cfg(unix)]
#[test]
fn sigterm_drains_and_exits_cleanly() {
    let dir = std::env::temp_dir().join(format!("credence-cli-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (ok, _, err) = credence(&dir, &["agency", "create", "--name", "Metro Fire"]);
    assert!(ok, "{err}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_credence"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env_remove("CREDENCE_DATABASE_URL")
        .env("CREDENCE_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let up = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "the server listens");
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let output = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "stopped within 30 s of SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(output.success(), "a clean exit: {output:?}");
    let mut log = String::new();
    std::io::Read::read_to_string(server.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(
        log.contains("finishing background work") && log.contains("stopped"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
