//! The web application's guard rails: sessions, CSRF, login rate limits, roles.

use axum::body::Body;
use axum::http::{header, Method, Request};
use credence_app::Role;
use serde_json::json;

use crate::both_databases;
use crate::harness::{Resp, TestApp};

pub(crate) fn cookie_of(resp: &Resp, name: &str) -> Option<String> {
    resp.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or("").to_string())
        })
}

pub(crate) async fn form(t: &TestApp, path: &str, cookie: &str, body: &str) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(body.to_string()))
        .unwrap();
    t.send_request(req).await
}

/// The page a redirect leads to, fetched as a browser would: with the session and the flash
/// cookie the redirect set.
pub(crate) async fn follow(t: &TestApp, redirect: &Resp, session: &str) -> Resp {
    let location = redirect.headers["location"].to_str().unwrap().to_string();
    let cookie = match cookie_of(redirect, "credence_flash") {
        Some(flash) => format!("{session}; credence_flash={flash}"),
        None => session.to_string(),
    };
    page(t, &location, &cookie).await
}

pub(crate) async fn page(t: &TestApp, path: &str, cookie: &str) -> Resp {
    let req = Request::builder()
        .uri(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    t.send_request(req).await
}

/// A multipart form with a file and a CSRF token, as the templates page sends it.
async fn upload_form(t: &TestApp, path: &str, cookie: &str, csrf: &str, bytes: &[u8]) -> Resp {
    upload_form_to(t, path, cookie, csrf, bytes, None).await
}

/// [`upload_form`] with the page to come `back` to, as the settings page sends it.
pub(crate) async fn upload_form_to(
    t: &TestApp,
    path: &str,
    cookie: &str,
    csrf: &str,
    bytes: &[u8],
    back: Option<&str>,
) -> Resp {
    let boundary = "credence-page-boundary";
    let back = back
        .map(|b| {
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"back\"\r\n\r\n{b}\r\n")
        })
        .unwrap_or_default();
    let mut body = format!(
        "{back}--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"logo.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap();
    t.send_request(req).await
}

/// Signs in through the login form; returns the session cookie.
pub(crate) async fn sign_in(t: &TestApp, email: &str, password: &str) -> Result<String, Resp> {
    let login = page(t, "/login", "").await;
    let csrf = cookie_of(&login, "credence_login").unwrap();
    let resp = form(
        t,
        "/login",
        &format!("credence_login={csrf}"),
        &format!(
            "email={email}&password={}&csrf={csrf}",
            password.replace(' ', "+")
        ),
    )
    .await;
    match cookie_of(&resp, "credence_session") {
        Some(s) if resp.status == 303 => Ok(format!("credence_session={s}")),
        _ => Err(resp),
    }
}

both_databases! {
    async fn pages_need_a_session_and_forms_need_the_csrf_token(t) {
        let r = page(t, "/credentials", "").await;
        assert_eq!(r.status, 303);
        assert_eq!(r.headers["location"], "/login?next=%2Fcredentials");
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();

        // A login form posted from elsewhere (no matching cookie) is refused.
        let forged = form(t, "/login", "", "email=chief@test.example&password=a+long+enough+password&csrf=guess").await;
        assert!(forged.text.contains("The form expired"));
        assert!(cookie_of(&forged, "credence_session").is_none());

        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let home = page(t, "/", &session).await;
        assert_eq!(home.status, 200);
        assert!(home.text.contains("Compliance by credential type"));
        for path in ["/credentials", "/credential-types", "/credential-types/new", "/renewals", "/credentials/assign"] {
            assert_eq!(page(t, path, &session).await.status, 200, "{path}");
        }
        // A state-changing form without the session's token changes nothing.
        let r = form(t, "/credential-types", &session, "code=X&name=X").await;
        assert_eq!(r.status, 400);
        assert_eq!(t.get("/api/v1/credential-types").await.expect(200)["items"], json!([]));
        // Signing out ends the session everywhere.
        let csrf = home.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        assert_eq!(form(t, "/logout", &session, &format!("csrf={csrf}")).await.status, 303);
        assert_eq!(page(t, "/", &session).await.status, 303);
    }

    async fn repeated_failed_logins_are_refused_for_a_while(t) {
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        for _ in 0..5 {
            let r = sign_in(t, "chief@test.example", "wrong").await.unwrap_err();
            assert!(r.text.contains("do not match"));
        }
        let r = sign_in(t, "chief@test.example", "a long enough password").await.unwrap_err();
        assert!(r.text.contains("too many failed attempts"), "even the right password waits");
    }

    async fn a_member_sees_only_their_own_pages(t) {
        let station = t.post("/api/v1/groups", json!({"name": "Station 7", "kind": "station"})).await.expect(201);
        let m = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "email": "ava@test.example",
            "group_ids": [station["id"]]})).await.expect(201);
        let other = t.post("/api/v1/members", json!({"first_name": "Liam", "last_name": "Brown"})).await.expect(201);
        let mid = m["id"].as_str().unwrap().parse::<credence_app::ids::MemberId>().ok();
        t.app.create_user(t.agency_id, "ava.login@test.example", Role::Member, "a long enough password", mid).await.unwrap();
        let session = sign_in(t, "ava.login@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        assert_eq!(page(t, "/me", &session).await.status, 200);
        for path in ["/credentials", "/credential-types", "/renewals", "/credentials/assign", "/settings", "/outbox", "/audit"] {
            assert_eq!(page(t, path, &session).await.status, 403, "{path}");
        }
        assert_eq!(page(t, &format!("/members/{}", other["id"].as_str().unwrap()), &session).await.status, 404);
        let own = page(t, &format!("/members/{}", m["id"].as_str().unwrap()), &session).await;
        assert_eq!(own.status, 200);
        assert!(own.text.contains("Station 7"), "a member sees the names of their own groups");
    }
}

both_databases! {
    async fn uploads_are_checked_by_content_and_approval_records_training(t) {
        use credence_app::training::submissions::{Review, Upload};
        let m = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith"})).await.expect(201);
        let mid = m["id"].as_str().unwrap().parse::<credence_app::ids::MemberId>().ok();
        // Actors come only from authentication, as in the server.
        let token = t.app.create_token(t.agency_id, Role::Member, mid, None).await.unwrap();
        let member = t.app.authenticate_token(&token).await.unwrap();
        let upload = |name: &str, bytes: &[u8]| Upload {
            file_name: name.into(), bytes: bytes.to_vec(), course_id: None, completed_on: "2026-02-20".parse().unwrap(),
            hours: Some(4.0), category: Some("CE".into()), note: None,
        };
        let field = |e: credence_app::AppError| match e { credence_app::AppError::Invalid(i) => i.errors[0].message.clone(), other => panic!("{other}") };
        assert!(field(t.app.submit_external(&member, upload("empty.pdf", b"")).await.unwrap_err()).contains("empty"));
        assert!(field(t.app.submit_external(&member, upload("virus.pdf", b"MZ\x90\x00")).await.unwrap_err()).contains("PDF, PNG or JPEG"));
        assert!(field(t.app.submit_external(&member, upload("card.png", b"%PDF-1.4 x")).await.unwrap_err()).contains("does not say"));
        let big = vec![b'%'; credence_app::training::submissions::MAX_UPLOAD_BYTES + 1];
        assert!(field(t.app.submit_external(&member, upload("big.pdf", &big)).await.unwrap_err()).contains("larger"));
        let ok = t.app.submit_external(&member, upload("../../etc/card.pdf", b"%PDF-1.4 fine")).await.unwrap();
        assert_eq!(ok.file_name, "card.pdf", "no path a user can influence");
        let token = t.app.create_token(t.agency_id, Role::Admin, None, None).await.unwrap();
        let admin = t.app.authenticate_token(&token).await.unwrap();
        assert_eq!(t.app.submissions(&admin).await.unwrap().len(), 1);
        assert!(member.officer().is_err(), "a member cannot review");
        let officer = admin.officer().unwrap();
        // #18.7: a rejection says why (the member reads it); an approval invents no score.
        let second = t.app.submit_external(&member, upload("second.pdf", b"%PDF-1.4 two")).await.unwrap();
        let silent = Review::Reject { reason: "  ".into() };
        assert!(field(t.app.review_submission(&officer, second.id, silent).await.unwrap_err()).contains("say why"));
        let bad_score = Review::Approve { score: Some(140.0) };
        assert!(field(t.app.review_submission(&officer, second.id, bad_score).await.unwrap_err()).contains("between 0 and 100"));
        let reason = "The certificate is not signed";
        t.app.review_submission(&officer, second.id, Review::Reject { reason: reason.into() }).await.unwrap();
        let mine = t.app.submissions(&member).await.unwrap();
        let rejected = mine.iter().find(|s| s.id == second.id).unwrap();
        assert_eq!((rejected.status.as_str(), rejected.review_reason.as_deref()), ("rejected", Some(reason)));

        t.app.review_submission(&officer, ok.id, Review::Approve { score: None }).await.unwrap();
        let again = Review::Reject { reason: "late".into() };
        assert!(t.app.review_submission(&officer, ok.id, again).await.is_err(), "reviewed once");
        let records = t.get(&format!("/api/v1/training-records?member_id={}", m["id"].as_str().unwrap())).await.expect(200);
        assert_eq!(records["items"].as_array().unwrap().len(), 1, "only the approved one is recorded");
        assert_eq!((records["items"][0]["source"].as_str(), records["items"][0]["hours"].as_f64()), (Some("external"), Some(4.0)));
        assert!(records["items"][0]["score"].is_null(), "no score was invented");
        let (_, content_type, bytes) = t.app.submission_file(&member, ok.id).await.unwrap();
        assert_eq!((content_type.as_str(), bytes.as_slice()), ("application/pdf", b"%PDF-1.4 fine".as_slice()));
        let other = t.post("/api/v1/members", json!({"first_name": "Liam", "last_name": "Brown"})).await.expect(201);
        let token = t.app.create_token(t.agency_id, Role::Member, other["id"].as_str().unwrap().parse::<credence_app::ids::MemberId>().ok(), None).await.unwrap();
        let stranger = t.app.authenticate_token(&token).await.unwrap();
        assert!(t.app.submission_file(&stranger, ok.id).await.is_err(), "another member cannot read it");
    }

    async fn notices_show_only_what_the_server_stored_for_this_session(t) {
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        t.app.create_user(t.agency_id, "deputy@test.example", Role::Admin, "another long password", None).await.unwrap();
        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let other = sign_in(t, "deputy@test.example", "another long password").await.map_err(|r| r.text).unwrap();

        // A link cannot put words on a Credence page.
        let linked = page(t, "/users?notice=Your+account+is+locked.+Call+555-0100&error=Re-enter+your+password", &session).await;
        assert_eq!(linked.status, 200);
        assert!(!linked.text.contains("555-0100") && !linked.text.contains("Re-enter"), "{}", linked.text);

        // A message the server stored shows once, on the next page of this session only.
        let templates = page(t, "/certificate-templates", &session).await;
        let csrf = templates.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let saved = upload_form(t, "/agency/logo", &session, &csrf, &crate::certificates::RED_PNG).await;
        let flash = cookie_of(&saved, "credence_flash").expect("the redirect stores the message");
        let shown = follow(t, &saved, &session).await;
        assert!(shown.text.contains("Logo saved"), "{}", shown.text);
        assert_eq!(cookie_of(&shown, "credence_flash").as_deref(), Some(""), "cleared once shown");
        let stolen = page(t, "/certificate-templates", &format!("{other}; credence_flash={flash}")).await;
        assert!(!stolen.text.contains("Logo saved"), "another session's message is not shown");
        let forged = page(t, "/certificate-templates", &format!("{session}; credence_flash=n.4869.00")).await;
        assert_eq!(forged.status, 200);
        assert!(!forged.text.contains("class=\"notice\""));
    }

    async fn the_templates_page_uploads_shows_and_removes_the_agency_logo(t) {
        use crate::certificates::RED_PNG;
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let before = page(t, "/certificate-templates", &session).await;
        assert!(before.text.contains("Agency logo") && before.text.contains("No logo yet"), "{}", before.text);
        let csrf = before.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();

        let forged = upload_form(t, "/agency/logo", &session, "guess", &RED_PNG).await;
        assert!(follow(t, &forged, &session).await.text.contains("the form expired"));
        assert_eq!(page(t, "/agency/logo", &session).await.status, 404, "nothing saved");
        let bad = upload_form(t, "/agency/logo", &session, &csrf, b"not an image").await;
        assert!(follow(t, &bad, &session).await.text.contains("must be a PNG or JPEG image"));

        let saved = upload_form(t, "/agency/logo", &session, &csrf, &RED_PNG).await;
        assert_eq!(saved.status, 303);
        assert_eq!(saved.headers["location"], "/certificate-templates", "the address carries no message");
        assert!(follow(t, &saved, &session).await.text.contains("Logo saved"));
        let image = page(t, "/agency/logo", &session).await;
        assert_eq!((image.headers[header::CONTENT_TYPE].to_str().unwrap(), image.bytes.as_slice()), ("image/png", RED_PNG.as_slice()));
        let after = page(t, "/certificate-templates", &session).await;
        assert!(after.text.contains("<img src=\"/agency/logo?v=file_") && after.text.contains("Remove"), "{}", after.text);

        let removed = form(t, "/agency/logo/remove", &session, &format!("csrf={csrf}")).await;
        assert!(follow(t, &removed, &session).await.text.contains("Logo removed."));
        assert_eq!(page(t, "/agency/logo", &session).await.status, 404);
        assert_eq!(page(t, "/agency/logo", "").await.status, 303, "a session is needed");
    }
}

both_databases! {
    async fn the_credentials_export_has_every_row_with_names_and_no_formulas(t) {
        let ty = crate::credential_types::emt_type(t).await;
        let ty_id = ty["id"].as_str().unwrap();
        t.post(&format!("/api/v1/credential-types/{ty_id}/publish"), json!({})).await.expect(200);
        // More members than one export page (500), one whose name a spreadsheet would run.
        let mut ids = Vec::new();
        for i in 0..520 {
            let (first, last) = if i == 0 { ("Risky".to_string(), "=HYPERLINK(\"x\")") } else { (format!("Member{i:03}"), "Export") };
            let m = t.post("/api/v1/members", json!({"first_name": first, "last_name": last})).await.expect(201);
            ids.push(m["id"].as_str().unwrap().to_string());
        }
        t.post("/api/v1/assignments", json!({"credential_type_id": ty_id, "mode": "completion_period",
            "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": ids})).await.expect(200);
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let csv = page(t, &format!("/credentials.csv?credential_type_id={ty_id}"), &session).await;
        assert_eq!(csv.status, 200);
        assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        let lines: Vec<&str> = csv.text.lines().collect();
        assert_eq!(lines[0], "member,employee_number,groups,credential_type,status,lapsed,progress,issue_date,expiration_date,credential_number,issuing_officer,status_reason,period_start,period_end,due_date,member_id,credential_id");
        assert_eq!(lines.len(), 521, "a header and every credential, across pages");
        assert!(lines.iter().any(|l| l.starts_with("\"Export, Member001\",,,EMT-Basic,Not Started,no,0,,,,,,2026-01-01,2026-12-31,2026-12-31,mem_")), "{}", lines[1]);
        assert!(csv.text.contains("\"'=HYPERLINK(\"\"x\"\"), Risky\",,,EMT-Basic"), "a cell a spreadsheet would run is neutralised");
    }
}

both_databases! {
    async fn admins_revoke_tokens_from_the_users_page(t) {
        let scheduler = t.app.create_token(t.agency_id, Role::Auditor, None, Some("<b>scheduler</b>")).await.unwrap();
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        t.app.create_user(t.agency_id, "officer@test.example", Role::Officer, "a long enough password", None).await.unwrap();
        let officer = sign_in(t, "officer@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        assert_eq!(page(t, "/users", &officer).await.status, 403, "admins only");
        assert!(!page(t, "/", &officer).await.text.contains("href=\"/users\""), "no link for others");

        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let users = page(t, "/users", &session).await;
        assert_eq!(users.status, 200);
        assert!(users.text.contains("scheduler") && !users.text.contains("<b>scheduler"), "names are escaped: {}", users.text.split("<table>").nth(1).unwrap_or(""));
        let id = users.text.split("/users/tokens/").nth(1).unwrap().split('/').next().unwrap().to_string();
        let csrf = users.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        // Without the form's token nothing changes.
        assert_eq!(form(t, &format!("/users/tokens/{id}/revoke"), &session, "").await.status, 400);
        t.send(Method::GET, "/api/v1/courses", Some(&scheduler), None).await.expect(200);
        let done = form(t, &format!("/users/tokens/{id}/revoke"), &session, &format!("csrf={csrf}")).await;
        assert_eq!(done.status, 303);
        t.send(Method::GET, "/api/v1/courses", Some(&scheduler), None).await.problem(401);
    }
}

/// `password` set on a new login, answered as the API would answer the app's error.
async fn new_login_answer(t: &TestApp, email: &str, password: &str) -> Resp {
    let result = t
        .app
        .create_user(t.agency_id, email, Role::Admin, password, None)
        .await;
    let problem =
        credence_web::problem::Problem::from(result.expect_err("the password is refused"));
    let response = axum::response::IntoResponse::into_response(problem);
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    Resp {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap(),
        text: String::from_utf8_lossy(&bytes).into(),
        bytes: bytes.to_vec(),
    }
}

async fn stored_session_seen(t: &TestApp, session: &str) -> Option<String> {
    let secret = session.strip_prefix("credence_session=").unwrap();
    let mut db = t.app.store.read().await.unwrap();
    credence_store::query("SELECT last_seen_at FROM sessions WHERE id = $1")
        .arg(credence_app::auth::token_hash(secret))
        .scalar::<Option<chrono::DateTime<chrono::Utc>>>(&mut db)
        .await
        .unwrap()
        .map(|t| t.to_rfc3339())
}

async fn set_session_seen(t: &TestApp, session: &str, minutes_ago: i64) {
    let secret = session.strip_prefix("credence_session=").unwrap();
    let mut tx = t.app.store.begin().await.unwrap();
    credence_store::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
        .arg(credence_app::auth::token_hash(secret))
        .arg(chrono::Utc::now() - chrono::Duration::minutes(minutes_ago))
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

both_databases! {
    async fn common_and_overlong_passwords_are_refused(t) {
        for (password, message) in [
            ("Password123", "is one of the most common passwords; choose one that is harder to guess"),
            ("QWERTYUIOP", "is one of the most common passwords; choose one that is harder to guess"),
            (&"x".repeat(129), "must be at most 128 characters"),
            ("too short", "must be at least 10 characters"),
        ] {
            let body = new_login_answer(t, "chief@test.example", password).await.problem(422);
            assert_eq!(body["errors"], json!([{"field": "password", "message": message}]), "{password}");
        }
        // Nothing was created: the e-mail is still free, and a 128-character passphrase is fine.
        assert!(sign_in(t, "chief@test.example", "Password123").await.is_err());
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, &"x".repeat(128), None).await.unwrap();
    }

    async fn a_session_unused_for_the_idle_timeout_is_signed_out(t) {
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let started = stored_session_seen(t, &session).await;
        assert!(started.is_some());
        assert_eq!(page(t, "/", &session).await.status, 200);
        assert_eq!(stored_session_seen(t, &session).await, started, "a use within the minute writes nothing");

        // Used five minutes ago: still signed in, and the use is recorded.
        set_session_seen(t, &session, 5).await;
        assert_eq!(page(t, "/", &session).await.status, 200);
        let seen: chrono::DateTime<chrono::Utc> = stored_session_seen(t, &session).await.unwrap().parse().unwrap();
        assert!(chrono::Utc::now() - seen < chrono::Duration::minutes(1));

        // Unused for 31 minutes (the default idle timeout is 30): signed out.
        set_session_seen(t, &session, 31).await;
        let r = page(t, "/", &session).await;
        assert_eq!(r.status, 303);
        assert!(r.headers["location"].to_str().unwrap().starts_with("/login"));
    }
}

both_databases! {
    // #18.11: the dashboard's numbers follow every change at once, not up to 30 s later.
    async fn the_dashboard_counts_a_change_on_the_next_view(t) {
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let tracked = |html: &str| html.split("<b>").nth(1).and_then(|s| s.split("</b>").next()).unwrap().to_string();
        assert_eq!(tracked(&page(t, "/", &session).await.text), "0");

        let ty = crate::fixtures::CredentialTypeBuilder::new("CPR").publish(t).await;
        crate::fixtures::Track::of(&ty).build(t).await;
        assert_eq!(tracked(&page(t, "/", &session).await.text), "1", "the assignment shows at once");
        crate::fixtures::Track::of(&ty).for_member("Liam").build(t).await;
        assert_eq!(tracked(&page(t, "/", &session).await.text), "2");
    }

    // #22: where counting is slow (a large agency), a view after a change shows the last
    // counts, says so, and recounts once in the background; the next view has the change.
    async fn a_slow_dashboard_shows_its_last_counts_while_it_recounts(t) {
        t.app.count_in_background_from(std::time::Duration::ZERO);
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let tracked = |html: &str| html.split("<b>").nth(1).and_then(|s| s.split("</b>").next()).unwrap().to_string();
        let first = page(t, "/", &session).await.text;
        assert_eq!(tracked(&first), "0", "the first view counts");
        assert!(!first.contains("being counted"));

        let ty = crate::fixtures::CredentialTypeBuilder::new("CPR").publish(t).await;
        crate::fixtures::Track::of(&ty).build(t).await;
        let stale = page(t, "/", &session).await.text;
        assert_eq!(tracked(&stale), "0", "the last counts, at once");
        assert!(stale.contains("newer changes are being counted"), "{stale}");
        let mut now = String::new();
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            now = page(t, "/", &session).await.text;
            if !now.contains("being counted") {
                break;
            }
        }
        assert_eq!(tracked(&now), "1", "the recount shows: {now}");
        assert!(!now.contains("being counted"));
    }
}
