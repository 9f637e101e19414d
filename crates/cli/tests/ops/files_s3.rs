//! Files in S3 (`CREDENCE_FILES_URL=s3://bucket`) against a real S3-compatible server
//! (moto_server, started here): logo and certificate PDFs stored in the bucket and read back
//! through the API, and a storage server that is down answered with a clear 503 that leaves
//! no row naming a file that is not there.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{
    people_with_credentials, Body, Deployment, PgDatabase, S3Server, Scratch, RED_PNG,
};

#[test]
fn files_in_s3_on_sqlite() {
    let dir = Scratch::new("s3-sqlite");
    files_in_s3(Deployment::sqlite(&dir.0));
}

#[test]
fn files_in_s3_on_postgres() {
    let dir = Scratch::new("s3-postgres");
    let db = PgDatabase::create();
    files_in_s3(Deployment::postgres(&dir.0, &db));
}

fn files_in_s3(deployment: Deployment) {
    let mut s3 = S3Server::start("credence-files");
    let deployment = s3.configure(deployment);
    let (_, token) = deployment.agency("Metro Fire");
    let server = deployment.serve();
    let credentials = people_with_credentials(&server, &token, 3);

    // The logo goes to the bucket and comes back through the API byte for byte.
    let logo = server
        .send(
            "PUT",
            "/api/v1/agency/logo",
            &token,
            Some(Body::multipart(&[], "logo.png", &RED_PNG)),
        )
        .expect(200);
    assert_eq!(logo["content_type"], "image/png", "{logo}");
    let back = server.get("/api/v1/agency/logo", &token);
    assert_eq!(back.status, 200);
    assert_eq!(back.body, RED_PNG);
    let keys = s3.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(s3.object(&keys[0]), RED_PNG);

    // Certificates (with the logo) are rendered, stored in the bucket, and downloaded.
    let generated = server
        .post(
            "/api/v1/certificates",
            &token,
            json!({"credential_ids": credentials}),
        )
        .expect(201);
    let certificates = generated["items"].as_array().unwrap();
    assert_eq!(certificates.len(), 3, "{generated}");
    let keys = s3.keys();
    assert_eq!(keys.len(), 4, "the logo and three PDFs: {keys:?}");
    for c in certificates {
        let pdf = server.get(
            &format!("/api/v1/certificates/{}/pdf", c["id"].as_str().unwrap()),
            &token,
        );
        assert_eq!(pdf.status, 200);
        assert_eq!(pdf.header("content-type"), Some("application/pdf"));
        assert!(pdf.body.starts_with(b"%PDF-"));
        assert!(
            keys.iter().any(|k| s3.object(k) == pdf.body),
            "the PDF served is the object stored"
        );
    }
    let merged = server.post(
        "/api/v1/certificates/merge",
        &token,
        json!({"certificate_ids": certificates.iter().map(|c| c["id"].clone()).collect::<Vec<_>>()}),
    );
    assert_eq!(
        merged.status,
        200,
        "{}",
        String::from_utf8_lossy(&merged.body)
    );
    assert!(merged.body.starts_with(b"%PDF-"));
    let rows = |d: &Deployment| {
        (
            d.count("SELECT COUNT(*) FROM files"),
            d.count("SELECT COUNT(*) FROM certificates"),
        )
    };
    let before = rows(&deployment);
    assert_eq!(before, (4, 3));

    // The storage server goes down: uploads, new certificates and downloads answer 503 with
    // words that say what is wrong, soon, and nothing is half-written.
    s3.stop();
    for (what, response) in [
        (
            "a logo upload",
            timed(|| {
                server.send(
                    "PUT",
                    "/api/v1/agency/logo",
                    &token,
                    Some(Body::multipart(&[], "logo.png", &RED_PNG)),
                )
            }),
        ),
        (
            "generating certificates",
            timed(|| {
                server.post(
                    "/api/v1/certificates",
                    &token,
                    json!({"credential_ids": credentials}),
                )
            }),
        ),
        (
            "a certificate download",
            timed(|| {
                server.get(
                    &format!(
                        "/api/v1/certificates/{}/pdf",
                        certificates[0]["id"].as_str().unwrap()
                    ),
                    &token,
                )
            }),
        ),
        (
            "the logo",
            timed(|| server.get("/api/v1/agency/logo", &token)),
        ),
    ] {
        assert_eq!(
            response.status,
            503,
            "{what}: {}\n{}",
            String::from_utf8_lossy(&response.body),
            server.log_text()
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json"),
            "{what}"
        );
        let problem = response.json();
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("the file storage could not be reached"),
            "{what}: {problem}"
        );
    }
    assert_eq!(
        rows(&deployment),
        before,
        "no row names a file that was not stored"
    );
    // The server itself stays up and answers what needs no file.
    server.get("/api/v1/certificates", &token).expect(200);
}

/// Runs a request and checks that it was answered within 20 s.
fn timed(f: impl FnOnce() -> crate::support::Resp) -> crate::support::Resp {
    let started = Instant::now();
    let r = f();
    eprintln!(
        "storage down: answered {} in {:?}",
        r.status,
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "answered after {:?}",
        started.elapsed()
    );
    r
}
