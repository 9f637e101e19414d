//! Security headers on every kind of answer, templates that the Content-Security-Policy can
//! allow (no inline script, handler or style), and agency names that stay text on the
//! dashboard's charts (#19, Medium 3).

use axum::body::Body;
use axum::http::{header, Request};
use credence_app::Role;
use credence_web::HttpOptions;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::both_databases;
use crate::harness::Resp;
use crate::web_pages::{page, sign_in};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HOSTILE: &str = "\"><img src=x onerror=alert(1)>";

#[track_caller]
fn assert_security_headers(r: &Resp, what: &str) {
    let h = |name: header::HeaderName| {
        r.headers
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_string()
    };
    assert_eq!(h(header::CONTENT_SECURITY_POLICY), CSP, "{what}");
    assert_eq!(h(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{what}");
    assert_eq!(h(header::REFERRER_POLICY), "same-origin", "{what}");
    assert_eq!(h(header::X_FRAME_OPTIONS), "DENY", "{what}");
    assert_eq!(h(header::CACHE_CONTROL), "no-store", "{what}");
    assert!(
        !r.headers.contains_key(header::STRICT_TRANSPORT_SECURITY),
        "{what}: HSTS only when configured"
    );
}

both_databases! {
    async fn every_kind_of_answer_carries_the_security_headers(t) {
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let dashboard = page(t, "/", &session).await;
        assert_eq!(dashboard.status, 200);
        assert_security_headers(&dashboard, "/");
        for path in ["/login", "/api/docs", "/verify/x"] {
            assert_security_headers(&page(t, path, "").await, path);
        }
        let api = t.get("/api/v1/members").await;
        assert_eq!(api.status, 200);
        assert_security_headers(&api, "/api/v1/members");
        assert_security_headers(&t.send(axum::http::Method::GET, "/api/v1/members", None, None).await, "401");

        // Assets keep their own long-lived caching: their names change with their content.
        let css = dashboard.text.split("href=\"/assets/app.css").nth(1).unwrap().split('"').next().unwrap();
        let asset = page(t, &format!("/assets/app.css{css}"), "").await;
        assert_eq!(asset.headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert_eq!(asset.headers[header::CONTENT_SECURITY_POLICY], CSP);

        // HSTS when the operator turns it on (Credence is behind HTTPS).
        let router = credence_web::router(t.app.clone(), None, &HttpOptions { hsts: true, ..HttpOptions::default() });
        for path in ["/login", "/api/v1/members"] {
            let r = router.clone().oneshot(Request::builder().uri(path).body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(r.headers()[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000; includeSubDomains", "{path}");
        }
    }

    async fn hostile_names_reach_the_dashboard_charts_as_text(t) {
        let group = t.post("/api/v1/groups", json!({"name": HOSTILE, "kind": "station"})).await.expect(201);
        let member = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "group_ids": [group["id"]]})).await.expect(201);
        let ty = t.post("/api/v1/credential-types", json!({"code": "X", "name": HOSTILE, "validity_months": 24, "renewal": "manual"})).await.expect(201);
        t.post(&format!("/api/v1/credential-types/{}/publish", ty["id"].as_str().unwrap()), json!({})).await.expect(200);
        t.post("/api/v1/assignments", json!({"credential_type_id": ty["id"], "mode": "completion_period",
            "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": [member["id"]]})).await.expect(200);
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();

        let dashboard = page(t, "/", &session).await;
        assert_eq!(dashboard.status, 200);
        assert!(!dashboard.text.contains("<img"), "the name is never markup on the page");
        let charts = chart_data(&dashboard.text);
        assert_eq!(charts.len(), 2, "by type and by group");
        for chart in charts {
            // The library sets axis labels as text: the name as it is.
            assert_eq!(chart["labels"], json!([HOSTILE]));
            // It writes tooltip titles as HTML: the name escaped, shown verbatim.
            assert_eq!(chart["tooltips"], json!(["&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"]));
        }
    }
}

/// The JSON of every `data-chart` attribute on a page.
fn chart_data(html: &str) -> Vec<Value> {
    html.split("data-chart=\"")
        .skip(1)
        .map(|rest| {
            let attribute = rest.split('"').next().unwrap();
            serde_json::from_str(&unescape_attribute(attribute)).unwrap()
        })
        .collect()
}

/// An HTML attribute value as the browser reads it (named and numeric references).
fn unescape_attribute(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let (reference, after) = rest[at + 1..].split_once(';').unwrap();
        out.push(match reference {
            "quot" => '"',
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "apos" => '\'',
            numeric => {
                let n = numeric.strip_prefix('#').unwrap();
                let code = match n.strip_prefix('x') {
                    Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
                    None => n.parse().unwrap(),
                };
                char::from_u32(code).unwrap()
            }
        });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Everything the browser parses as a page: the templates and the API docs page.
fn page_sources() -> Vec<(String, String)> {
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(web.join("templates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(web.join("src/docs.html"));
    files
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

/// An inline event handler attribute: ` on…=` (onclick, onchange, onerror…).
fn has_handler_attribute(source: &str) -> bool {
    let bytes = source.as_bytes();
    source.match_indices(" on").any(|(i, _)| {
        let name: String = source[i + 3..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        !name.is_empty() && bytes.get(i + 3 + name.len()) == Some(&b'=')
    })
}

#[test]
fn pages_carry_no_inline_script_handler_or_style() {
    let sources = page_sources();
    assert!(sources.len() > 10, "the templates were found");
    for (path, source) in sources {
        let lower = source.to_ascii_lowercase();
        assert!(
            !has_handler_attribute(&lower),
            "{path}: an inline on…= handler"
        );
        assert!(!lower.contains("javascript:"), "{path}: a javascript: URL");
        assert!(!lower.contains("<style"), "{path}: an inline <style>");
        assert!(!lower.contains(" style="), "{path}: a style attribute");
        for script in lower.split("<script").skip(1) {
            let (open, rest) = script.split_once('>').unwrap();
            assert!(open.contains(" src="), "{path}: an inline <script> body");
            assert!(
                rest.starts_with("</script>"),
                "{path}: a <script src> with a body"
            );
        }
    }
}

#[test]
fn the_handler_check_sees_handlers() {
    assert!(has_handler_attribute("<input onclick=\"x()\">"));
    assert!(has_handler_attribute("<img src=x onerror=alert(1)>"));
    assert!(!has_handler_attribute("<p>Only one of them</p>"));
}
