//! Running an agency from the browser (#16): its settings through the API and `/settings`,
//! a credential type's own reminder thresholds, the outbox's retry and page, and the audit
//! log's filters, page and each credential's history.

use axum::http::Method;
use credence_app::{App, Clock, Role};
use serde_json::{json, Value};

use crate::both_databases;
use crate::harness::TestApp;
use crate::keeping_current::SmtpServer;
use crate::web_pages::{form, page, sign_in};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A published type valid two years, with `reminder_days` of its own when given.
async fn card(t: &TestApp, code: &str, reminder_days: Option<Value>) -> String {
    let mut body = json!({"code": code, "name": format!("{code} card"), "validity_months": 24, "renewal": "manual"});
    if let Some(days) = reminder_days {
        body["reminder_days"] = days;
    }
    let ty = t.post("/api/v1/credential-types", body).await.expect(201);
    t.post(
        &format!("/api/v1/credential-types/{}/publish", id(&ty)),
        json!({}),
    )
    .await
    .expect(200);
    id(&ty)
}

/// A new member (with an e-mail) holding the type from 2024-01-01 to `expiration`; answers
/// the credential id.
async fn holding(t: &TestApp, ty: &str, first_name: &str, expiration: &str) -> String {
    let m = t
        .post(
            "/api/v1/members",
            json!({"first_name": first_name, "last_name": "Smith",
        "email": format!("{}@station1.test", first_name.to_lowercase())}),
        )
        .await
        .expect(201);
    t.post(
        "/api/v1/assignments",
        json!({"credential_type_id": ty, "mode": "active_with_period",
        "issue_date": "2024-01-01", "expiration_date": expiration, "member_ids": [id(&m)]}),
    )
    .await
    .expect(200)["created"][0]
        .as_str()
        .unwrap()
        .to_string()
}

fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

async fn admin_session(t: &TestApp) -> String {
    t.app
        .create_user(
            t.agency_id,
            "chief@test.example",
            Role::Admin,
            "a long enough password",
            None,
        )
        .await
        .unwrap();
    sign_in(t, "chief@test.example", "a long enough password")
        .await
        .map_err(|r| r.text)
        .unwrap()
}

both_databases! {
    async fn readers_see_the_settings_and_admins_change_them_audited(t) {
        let settings = t.get("/api/v1/agency").await.expect(200);
        assert_eq!(settings, json!({"id": settings["id"], "slug": "test", "name": "Test Fire District",
            "time_zone": "America/Chicago", "expiring_soon_days": 60, "reminder_days": [90, 60, 30, 7],
            "copy_supervisors": false, "require_admin_two_factor": false, "version": 1}));
        let auditor = t.token(Role::Auditor, None).await;
        assert_eq!(t.send(Method::GET, "/api/v1/agency", Some(&auditor), None).await.expect(200), settings);
        t.send(Method::PATCH, "/api/v1/agency", Some(&auditor), Some(json!({"version": 1, "name": "X"}))).await.problem(403);

        let changed = t.patch("/api/v1/agency", json!({"version": 1, "name": "  Station 9 Fire ", "time_zone": "America/Denver",
            "reminder_days": [7, 30, 0], "copy_supervisors": true})).await.expect(200);
        assert_eq!((&changed["name"], &changed["time_zone"], &changed["reminder_days"], &changed["copy_supervisors"], &changed["version"]),
            (&json!("Station 9 Fire"), &json!("America/Denver"), &json!([30, 7, 0]), &json!(true), &json!(2)));
        assert_eq!(changed["expiring_soon_days"], 60, "what was not sent stays");
        assert_eq!(t.get("/api/v1/agency").await.expect(200), changed);

        // A stale version changes nothing.
        t.patch("/api/v1/agency", json!({"version": 1, "name": "Late"})).await.problem(409);
        assert_eq!(t.get("/api/v1/agency").await.expect(200)["name"], "Station 9 Fire");

        let events = t.get(&format!("/api/v1/audit-events?subject_id={}", id(&settings))).await.expect(200);
        let items = events["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!((&items[0]["action"], &items[0]["subject_type"]), (&json!("update"), &json!("agency")));
        assert_eq!((&items[0]["before"]["name"], &items[0]["after"]["name"]), (&json!("Test Fire District"), &json!("Station 9 Fire")));

        // Another agency reads and writes only its own settings.
        let other = t.other_agency_admin().await;
        let theirs = t.send(Method::GET, "/api/v1/agency", Some(&other), None).await.expect(200);
        assert_eq!((&theirs["name"], &theirs["time_zone"]), (&json!("Other County EMS"), &json!("UTC")));
        assert_ne!(theirs["id"], settings["id"]);
        t.send(Method::PATCH, "/api/v1/agency", Some(&other), Some(json!({"version": 1, "name": "Other County Fire"}))).await.expect(200);
        assert_eq!(t.get("/api/v1/agency").await.expect(200)["name"], "Station 9 Fire");
    }

    async fn bad_settings_answer_422_naming_each_field_and_write_nothing(t) {
        let fields = t.patch("/api/v1/agency", json!({"version": 1, "name": " ", "time_zone": "Mars/Olympus",
            "expiring_soon_days": -5, "reminder_days": [30, -1]})).await.invalid_fields();
        assert_eq!(fields, ["name", "time_zone", "expiring_soon_days", "reminder_days"]);
        for (body, field) in [
            (json!({"version": 1, "expiring_soon_days": 731}), "expiring_soon_days"),
            (json!({"version": 1, "reminder_days": [30, 30]}), "reminder_days"),
            (json!({"version": 1, "reminder_days": [731]}), "reminder_days"),
            (json!({"version": 1, "reminder_days": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}), "reminder_days"),
            (json!({"version": 1, "time_zone": "america/chicago"}), "time_zone"),
        ] {
            assert_eq!(t.patch("/api/v1/agency", body.clone()).await.invalid_fields(), [field], "{body}");
        }
        // Not even the right types, or a field the resource does not have.
        t.patch("/api/v1/agency", json!({"version": 1, "expiring_soon_days": "soon"})).await.problem(422);
        t.patch("/api/v1/agency", json!({"version": 1, "slug": "mine"})).await.problem(422);
        let after = t.get("/api/v1/agency").await.expect(200);
        assert_eq!((&after["name"], &after["version"], &after["expiring_soon_days"]), (&json!("Test Fire District"), &json!(1), &json!(60)));
        let events = t.get(&format!("/api/v1/audit-events?subject_id={}", id(&after))).await.expect(200);
        assert_eq!(events["items"], json!([]), "nothing written, nothing audited");
    }

    async fn a_new_expiring_soon_window_applies_to_every_credential_at_once(t) {
        let ty = card(t, "CPR", None).await;
        let in_75_days = holding(t, &ty, "Ava", "2026-05-15").await;
        let in_20_days = holding(t, &ty, "Liam", "2026-03-21").await;
        let soon = |c: Value| c["expiring_soon"].as_bool().unwrap();
        let get = |c: &str| format!("/api/v1/credentials/{c}");
        assert!(!soon(t.get(&get(&in_75_days)).await.expect(200)) && soon(t.get(&get(&in_20_days)).await.expect(200)));

        t.patch("/api/v1/agency", json!({"version": 1, "expiring_soon_days": 90})).await.expect(200);
        assert!(soon(t.get(&get(&in_75_days)).await.expect(200)), "75 days is within the new 90");
        let listed = t.get("/api/v1/credentials?expiring_within_days=365").await.expect(200);
        assert!(listed["items"].as_array().unwrap().iter().all(|c| c["expiring_soon"] == true));

        t.patch("/api/v1/agency", json!({"version": 2, "expiring_soon_days": 10})).await.expect(200);
        assert!(!soon(t.get(&get(&in_75_days)).await.expect(200)) && !soon(t.get(&get(&in_20_days)).await.expect(200)));
        // The next change moved with the window: the sweep on 2026-03-11 (10 days before)
        // marks Liam's, and only his.
        let later = App::new(t.app.store.clone(), Clock::fixed("2026-03-11".parse().unwrap()));
        later.sweep_agency(t.agency_id).await.unwrap();
        assert!(soon(t.get(&get(&in_20_days)).await.expect(200)) && !soon(t.get(&get(&in_75_days)).await.expect(200)));
    }

    async fn a_credential_types_own_reminder_days_win_over_the_agencys(t) {
        let own = card(t, "HAZ", Some(json!([14]))).await;
        let plain = card(t, "CPR", None).await;
        let far = card(t, "ACLS", Some(json!([120, 30]))).await;
        let shape = t.get(&format!("/api/v1/credential-types/{own}")).await.expect(200);
        assert_eq!((&shape["reminder_days"], &t.get(&format!("/api/v1/credential-types/{plain}")).await.expect(200)["reminder_days"]),
            (&json!([14]), &Value::Null));
        holding(t, &own, "Ava", "2026-03-20").await;     // 19 days: past the agency's 30, not the type's 14
        holding(t, &own, "Emma", "2026-03-10").await;    // 9 days: the type's 14
        holding(t, &plain, "Liam", "2026-03-20").await;  // 19 days: the agency's 30
        holding(t, &far, "Noah", "2026-06-25").await;    // 116 days: beyond the agency's 90, within the type's 120
        t.app.create_user(t.agency_id, "chief@station1.test", Role::Admin, "a long enough password", None).await.unwrap();

        assert_eq!(t.app.queue_reminders(t.agency_id).await.unwrap(), 4, "three members and the digest");
        let outbox = t.get("/api/v1/outbox").await.expect(200);
        let mut sent: Vec<String> = outbox["items"].as_array().unwrap().iter()
            .map(|m| format!("{} | {}", m["to"].as_str().unwrap(), m["subject"].as_str().unwrap())).collect();
        sent.sort();
        assert_eq!(sent, [
            "chief@station1.test | Credential reminders for 2026-03-01",
            "emma@station1.test | HAZ card expires on 2026-03-10",
            "liam@station1.test | CPR card expires on 2026-03-20",
            "noah@station1.test | ACLS card expires on 2026-06-25",
        ]);

        // Going back to the agency's thresholds, Ava's 30-day reminder is due.
        t.patch(&format!("/api/v1/credential-types/{own}"), json!({"version": shape["version"], "reminder_days": null})).await.expect(200);
        assert_eq!(t.get(&format!("/api/v1/credential-types/{own}")).await.expect(200)["reminder_days"], Value::Null);
        assert_eq!(t.app.queue_reminders(t.agency_id).await.unwrap(), 2, "Ava's and Emma's 30-day reminders (the day's digest went already)");
        let queued = t.get("/api/v1/outbox?limit=2").await.expect(200);
        let mut to: Vec<&str> = queued["items"].as_array().unwrap().iter().map(|m| m["to"].as_str().unwrap()).collect();
        to.sort();
        assert_eq!(to, ["ava@station1.test", "emma@station1.test"]);
        let fields = t.patch(&format!("/api/v1/credential-types/{own}"), json!({"version": 3, "reminder_days": [-3]})).await.invalid_fields();
        assert_eq!(fields, ["reminder_days"]);
        let fields = t.post("/api/v1/credential-types", json!({"code": "BAD", "name": "Bad", "reminder_days": [800]})).await.invalid_fields();
        assert_eq!(fields, ["reminder_days"]);
    }

    async fn a_failed_message_is_retried_and_others_are_refused(t) {
        let ty = card(t, "CPR", None).await;
        holding(t, &ty, "Ava", "2026-03-20").await;
        holding(t, &ty, "Liam", "2026-03-25").await;
        assert_eq!(t.app.queue_reminders(t.agency_id).await.unwrap(), 2);
        let items = t.get("/api/v1/outbox").await.expect(200)["items"].as_array().unwrap().clone();
        let (failed, sent) = (id(&items[0]), id(&items[1]));
        // One given up after its attempts, one sent.
        let mut tx = t.app.store.begin().await.unwrap();
        credence_store::query("UPDATE outbox SET status = 'failed', attempts = 10, last_error = 'mailbox unavailable' WHERE id = $1")
            .arg(failed.trim_start_matches("msg_").parse::<i64>().unwrap()).execute(&mut tx).await.unwrap();
        credence_store::query("UPDATE outbox SET status = 'sent', attempts = 1, sent_at = created_at WHERE id = $1")
            .arg(sent.trim_start_matches("msg_").parse::<i64>().unwrap()).execute(&mut tx).await.unwrap();
        tx.commit().await.unwrap();

        let auditor = t.token(Role::Auditor, None).await;
        t.send(Method::POST, &format!("/api/v1/outbox/{failed}/retry"), Some(&auditor), None).await.problem(403);
        let other = t.other_agency_admin().await;
        t.send(Method::POST, &format!("/api/v1/outbox/{failed}/retry"), Some(&other), None).await.problem(404);
        t.post(&format!("/api/v1/outbox/{sent}/retry"), json!({})).await.problem(409);
        t.post("/api/v1/outbox/msg_999999/retry", json!({})).await.problem(404);

        let officer = t.token(Role::Officer, None).await;
        let retried = t.send(Method::POST, &format!("/api/v1/outbox/{failed}/retry"), Some(&officer), None).await.expect(200);
        assert_eq!((&retried["status"], &retried["attempts"], &retried["last_error"]), (&json!("queued"), &json!(10), &json!("mailbox unavailable")));
        t.post(&format!("/api/v1/outbox/{failed}/retry"), json!({})).await.problem(409);
        let events = t.get(&format!("/api/v1/audit-events?subject_id={failed}")).await.expect(200);
        assert_eq!(events["items"][0]["action"], "retry");
        assert_eq!((&events["items"][0]["before"]["status"], &events["items"][0]["after"]["status"]), (&json!("failed"), &json!("queued")));

        // It goes with the next delivery.
        let smtp = SmtpServer::start();
        let mailer = credence_app::notify::reminders::Mailer::from_url(&format!("smtp://127.0.0.1:{}", smtp.port), "credence@test.example").unwrap();
        let sender = App::new(t.app.store.clone(), Clock::fixed("2026-03-01".parse().unwrap())).with_mailer(mailer);
        assert_eq!(sender.deliver_outbox().await.unwrap(), 1);
        let now_sent = t.get("/api/v1/outbox?status=sent").await.expect(200);
        assert!(now_sent["items"].as_array().unwrap().iter().any(|m| m["id"] == failed.as_str()));
    }

    async fn the_audit_log_filters_by_actor_subject_and_action(t) {
        let ty = card(t, "CPR", None).await;
        let officer = t.token(Role::Officer, None).await;
        let m = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith"})).await.expect(201);
        t.send(Method::POST, "/api/v1/assignments", Some(&officer), Some(json!({"credential_type_id": ty,
            "mode": "completion_period", "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": [id(&m)]}))).await.expect(200);
        let all = t.get("/api/v1/audit-events?limit=500").await.expect(200)["items"].as_array().unwrap().clone();
        let actor_of = |action: &str| all.iter().find(|e| e["action"] == action).unwrap()["actor"].as_str().unwrap().to_string();
        let (officer_label, admin_label) = (actor_of("assign"), actor_of("publish"));
        assert_ne!(officer_label, admin_label);

        let by = |actor: &str| format!("/api/v1/audit-events?actor={}", actor.replace(':', "%3A"));
        let theirs = t.get(&by(&officer_label)).await.expect(200)["items"].as_array().unwrap().clone();
        assert!(!theirs.is_empty() && theirs.iter().all(|e| e["actor"] == officer_label.as_str()));
        let mine = t.get(&by(&admin_label)).await.expect(200)["items"].as_array().unwrap().clone();
        assert!(mine.iter().all(|e| e["actor"] == admin_label.as_str()));
        let actions: Vec<&str> = mine.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["create", "publish", "create"], "the member, the type's publication and creation");

        let published = t.get("/api/v1/audit-events?action=publish").await.expect(200);
        assert_eq!(published["items"].as_array().unwrap().len(), 1);
        assert_eq!(published["items"][0]["subject_id"], ty.as_str());
        let none = t.get(&format!("{}&action=publish", by(&officer_label))).await.expect(200);
        assert_eq!(none["items"], json!([]), "filters combine");
        let about = t.get(&format!("/api/v1/audit-events?subject_id={ty}&action=create")).await.expect(200);
        assert_eq!(about["items"].as_array().unwrap().len(), 1);
        // Paging keeps the filter.
        let first = t.get(&format!("{}&limit=1", by(&admin_label))).await.expect(200);
        let next = t.get(&format!("{}&limit=1&cursor={}", by(&admin_label), first["next_cursor"].as_str().unwrap())).await.expect(200);
        assert_eq!(next["items"][0]["actor"], admin_label.as_str());
        assert_ne!(next["items"][0]["id"], first["items"][0]["id"]);
        assert_eq!(t.get("/api/v1/audit-events?subject_id=not-an-id").await.invalid_fields(), ["subject_id"]);
        // Another agency's log has none of these.
        let other = t.other_agency_admin().await;
        let foreign = t.send(Method::GET, &format!("/api/v1/audit-events?subject_id={ty}"), Some(&other), None).await.expect(200);
        assert_eq!(foreign["items"], json!([]));
    }
}

both_databases! {
    async fn the_settings_page_saves_and_keeps_what_was_typed_on_errors(t) {
        let session = admin_session(t).await;
        let shown = page(t, "/settings", &session).await;
        assert_eq!(shown.status, 200);
        for html in [r#"name="name" value="Test Fire District""#, r#"value="America/Chicago""#, r#"value="90, 60, 30, 7""#,
            r#"<option value="Pacific/Auckland">"#, r#"action="/agency/logo""#, r#"name="back" value="/settings""#, r#"href="/settings" class="on""#] {
            assert!(shown.text.contains(html), "{html}");
        }
        let csrf = csrf_of(&shown.text);

        // Without the session's token nothing changes.
        assert_eq!(form(t, "/settings", &session, "version=1&name=Forged&time_zone=UTC&expiring_soon_days=60&reminder_days=").await.status, 400);

        // Errors: the form comes back as typed, each error named, nothing saved.
        let body = format!("csrf={csrf}&version=1&name=%3Cb%3ENorth%3C%2Fb%3E&time_zone=Mars%2FOlympus&expiring_soon_days=-5&reminder_days=30%2C+7&copy_supervisors=true");
        let refused = form(t, "/settings", &session, &body).await;
        assert_eq!(refused.status, 422);
        let html = &refused.text;
        for typed in [r#"value="&#60;b&#62;North&#60;/b&#62;""#, r#"value="Mars/Olympus""#, r#"value="-5""#, r#"value="30, 7""#, r#"value="true" checked"#] {
            assert!(html.contains(typed), "{typed} kept: {}", html.split("<form method=\"post\" action=\"/settings\"").nth(1).unwrap_or(html));
        }
        assert!(html.contains("must be an IANA time zone") && html.contains("must be a number of days from 0 to 730"));
        assert!(html.contains(r##"<a href="#f-time_zone">Time zone</a>"##));
        assert!(!html.contains("<b>North"), "what was typed is escaped");
        let words = form(t, "/settings", &session, &format!("csrf={csrf}&version=1&name=North&time_zone=UTC&expiring_soon_days=soon&reminder_days=30%2C+weekly")).await;
        assert_eq!(words.status, 422);
        assert!(words.text.contains("&#34;soon&#34; is not a whole number") && words.text.contains("&#34;weekly&#34; is not a whole number"), "{}", words.text);
        assert!(words.text.contains(r#"value="30, weekly""#));
        let unchanged = t.get("/api/v1/agency").await.expect(200);
        assert_eq!((&unchanged["name"], &unchanged["version"]), (&json!("Test Fire District"), &json!(1)));

        let saved = form(t, "/settings", &session, &format!("csrf={csrf}&version=1&name=North+Fire&time_zone=America%2FDenver&expiring_soon_days=45&reminder_days=60%2C+14%2C+0")).await;
        assert_eq!((saved.status.as_u16(), saved.headers["location"].to_str().unwrap()), (303, "/settings"));
        let after = t.get("/api/v1/agency").await.expect(200);
        assert_eq!((&after["name"], &after["time_zone"], &after["expiring_soon_days"], &after["reminder_days"], &after["copy_supervisors"]),
            (&json!("North Fire"), &json!("America/Denver"), &json!(45), &json!([60, 14, 0]), &json!(false)));
        // A stale form says so and keeps what was typed.
        let stale = form(t, "/settings", &session, &format!("csrf={csrf}&version=1&name=Stale+Name&time_zone=UTC&expiring_soon_days=45&reminder_days=")).await;
        assert_eq!(stale.status, 422);
        assert!(stale.text.contains("changed by someone else") && stale.text.contains(r#"value="Stale Name""#));

        // The logo uploads from here and comes back here.
        let logo = crate::web_pages::upload_form_to(t, "/agency/logo", &session, &csrf, &crate::certificates::RED_PNG, Some("/settings")).await;
        assert_eq!(logo.headers["location"], "/settings");
        assert!(page(t, "/settings", &session).await.text.contains(r#"<img src="/agency/logo?v=file_"#));
        let removed = form(t, "/agency/logo/remove", &session, &format!("csrf={csrf}&back=%2Fsettings")).await;
        assert_eq!(removed.headers["location"], "/settings");

        // Officers neither see nor open it.
        t.app.create_user(t.agency_id, "officer@test.example", Role::Officer, "a long enough password", None).await.unwrap();
        let officer = sign_in(t, "officer@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        assert_eq!(page(t, "/settings", &officer).await.status, 403);
        assert_eq!(form(t, "/settings", &officer, &format!("csrf={}&version=2&name=X", csrf_of(&page(t, "/", &officer).await.text))).await.status, 403);
        let home = page(t, "/", &officer).await;
        assert!(!home.text.contains(r#"href="/settings""#) && home.text.contains(r#"href="/outbox""#) && home.text.contains(r#"href="/audit""#));
    }

    async fn admins_are_told_mail_is_only_queued_without_a_mail_server(t) {
        let session = admin_session(t).await;
        let home = page(t, "/", &session).await;
        assert!(home.text.contains("No mail server is configured") && home.text.contains(r#"<a href="/outbox">See the outbox</a>"#));
        t.app.create_user(t.agency_id, "officer@test.example", Role::Officer, "a long enough password", None).await.unwrap();
        let officer = sign_in(t, "officer@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        assert!(!page(t, "/", &officer).await.text.contains("No mail server is configured"), "only admins can act on it");
        // With a mail server configured there is no banner.
        let mailer = credence_app::notify::reminders::Mailer::from_url("smtp://127.0.0.1:2525", "credence@test.example").unwrap();
        let with_mail = credence_web::router(t.app.clone().with_mailer(mailer), None, &credence_web::HttpOptions::default());
        let req = axum::http::Request::builder().uri("/").header("cookie", &session).body(axum::body::Body::empty()).unwrap();
        let resp = tower::ServiceExt::oneshot(with_mail, req).await.unwrap();
        let bytes = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("Dashboard") && !text.contains("No mail server is configured"));
    }

    async fn the_outbox_page_lists_filters_and_retries(t) {
        let ty = card(t, "CPR", None).await;
        holding(t, &ty, "Ava", "2026-03-20").await;
        holding(t, &ty, "Liam", "2026-03-25").await;
        t.app.queue_reminders(t.agency_id).await.unwrap();
        let mut tx = t.app.store.begin().await.unwrap();
        credence_store::query("UPDATE outbox SET status = 'failed', attempts = 10, last_error = '<550> no such user' WHERE recipient = 'ava@station1.test'")
            .execute(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        t.app.create_user(t.agency_id, "officer@test.example", Role::Officer, "a long enough password", None).await.unwrap();
        let officer = sign_in(t, "officer@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let all = page(t, "/outbox", &officer).await;
        assert_eq!(all.status, 200);
        assert!(all.text.contains("ava@station1.test") && all.text.contains("liam@station1.test") && all.text.contains("CPR card expires on 2026-03-20"));
        assert!(all.text.contains("Last error: &#60;550&#62; no such user"), "errors are shown, escaped");
        assert_eq!(all.text.matches(">Retry</button>").count(), 1, "only the failed one");
        let failed = page(t, "/outbox?status=failed", &officer).await;
        assert!(failed.text.contains("ava@station1.test") && !failed.text.contains("liam@station1.test"));
        assert!(failed.text.contains(r#"<option value="failed" selected>"#));
        let action = failed.text.split("<form method=\"post\" action=\"").nth(2).unwrap().split('"').next().unwrap().to_string();
        assert!(action.starts_with("/outbox/msg_") && action.ends_with("/retry"), "{action}");
        assert_eq!(form(t, &action, &officer, "back=%2Foutbox").await.status, 400, "the CSRF token is needed");
        let done = form(t, &action, &officer, &format!("csrf={}&back=%2Foutbox%3Fstatus%3Dfailed", csrf_of(&failed.text))).await;
        assert_eq!((done.status.as_u16(), done.headers["location"].to_str().unwrap()), (303, "/outbox?status=failed"));
        assert!(!page(t, "/outbox?status=failed", &officer).await.text.contains("ava@station1.test"));
        assert!(page(t, "/outbox?status=queued", &officer).await.text.contains("ava@station1.test"));

        // An auditor reads it without a Retry button.
        t.app.create_user(t.agency_id, "auditor@test.example", Role::Auditor, "a long enough password", None).await.unwrap();
        let auditor = sign_in(t, "auditor@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let mut tx = t.app.store.begin().await.unwrap();
        credence_store::query("UPDATE outbox SET status = 'failed'").execute(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        let read = page(t, "/outbox", &auditor).await;
        assert_eq!(read.status, 200);
        assert!(read.text.contains("ava@station1.test") && !read.text.contains(">Retry</button>"));
        assert!(page(t, "/outbox?status=bogus", &auditor).await.text.contains("must be queued, sending, sent or failed"));
    }

    async fn the_audit_page_names_people_and_credentials_and_each_credential_shows_its_history(t) {
        let ty = card(t, "CPR", None).await;
        let m = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith"})).await.expect(201);
        let mid = m["id"].as_str().unwrap().parse::<credence_app::ids::MemberId>().ok();
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", mid).await.unwrap();
        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let other = t.post("/api/v1/members", json!({"first_name": "Liam", "last_name": "Brown"})).await.expect(201);
        let crd = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period",
            "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": [id(&other)]})).await.expect(200)["created"][0]
            .as_str().unwrap().to_string();
        // A change through the page, by the signed-in admin (a login linked to Ava).
        let settings = page(t, "/settings", &session).await;
        form(t, "/settings", &session, &format!("csrf={}&version=1&name=North+Fire&time_zone=UTC&expiring_soon_days=30&reminder_days=30",
            csrf_of(&settings.text))).await;

        let audit = page(t, "/audit", &session).await;
        assert_eq!(audit.status, 200);
        let html = &audit.text;
        assert!(html.contains("Brown, Liam — CPR card"), "a credential is named by member and type");
        assert!(html.contains("Smith, Ava (chief@test.example)"), "a login is named by its member");
        assert!(html.contains(">API token "), "tokens are named too");
        assert!(html.contains(r#"<option value="user:chief@test.example">Smith, Ava (chief@test.example)</option>"#));
        assert!(html.contains(r#"<option value="publish">publish</option>"#));
        assert!(html.contains(r#"name="csrf" value=""#), "the page's forms carry the token");

        let mine = page(t, "/audit?actor=user%3Achief%40test.example", &session).await.text;
        assert!(mine.contains("North Fire") && !mine.contains("Brown, Liam — CPR card"));
        assert!(mine.contains(r#"<option value="user:chief@test.example" selected>"#));
        assert!(mine.contains("expiring_soon_days, name"), "what changed is named");
        let about = page(t, &format!("/audit?subject_id={crd}"), &session).await.text;
        assert!(about.contains("Brown, Liam — CPR card") && !about.contains("North Fire"));
        let creates = page(t, "/audit?action=create", &session).await.text;
        assert!(!creates.contains(">publish</a>"));
        let bad = page(t, "/audit?subject_id=nonsense", &session).await;
        assert_eq!(bad.status, 200);
        assert!(bad.text.contains("is not an id"));

        let detail = page(t, &format!("/credentials/{crd}"), &session).await.text;
        let history = detail.split("Who changed this").nth(1).expect("the credential page has its history");
        assert!(history.contains(">assign<"), "{history}");
        assert!(history.contains("API token"), "who assigned it");

        // Members see their credential without the log; auditors read it.
        let own = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period",
            "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": [id(&m)]})).await.expect(200)["created"][0]
            .as_str().unwrap().to_string();
        t.app.create_user(t.agency_id, "ava@test.example", Role::Member, "a long enough password", mid).await.unwrap();
        let member = sign_in(t, "ava@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let theirs = page(t, &format!("/credentials/{own}"), &member).await;
        assert_eq!(theirs.status, 200);
        assert!(!theirs.text.contains("Who changed this"));
        assert_eq!(page(t, "/audit", &member).await.status, 403);
    }
}
