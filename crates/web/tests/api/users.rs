//! Logins from the browser (#16): invitations and password resets by one-time link through
//! the outbox, changing one's own password, deactivation ending access at once, the last
//! admin kept, and e-mails compared without regard to case.

use axum::http::Method;
use credence_app::Role;
use serde_json::json;

use crate::both_databases;
use crate::harness::{Resp, TestApp};
use crate::web_pages::{cookie_of, follow, form, page, sign_in};

const PASSWORD: &str = "a long enough password";
const NEW_PASSWORD: &str = "correct horse battery staple";

/// The outbox rows of the test agency, newest first, bodies included.
async fn outbox(t: &TestApp) -> Vec<credence_store::notify::outbox::Message> {
    let mut db = t.app.store.read().await.unwrap();
    credence_store::notify::outbox::messages_page(&mut db, t.agency_id, None, None, 100)
        .await
        .unwrap()
}

/// The path of the one-time link (`/invitations/…`) in the newest message of `kind`.
async fn link_in_outbox(t: &TestApp, kind: &str, prefix: &str) -> String {
    let messages = outbox(t).await;
    let message = messages
        .iter()
        .find(|m| m.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} message in the outbox"));
    let at = message
        .body
        .find(&format!("https://credence.test{prefix}"))
        .unwrap_or_else(|| panic!("no link in {:?}", message.body));
    let rest = &message.body[at + "https://credence.test".len()..];
    rest.split_whitespace().next().unwrap().to_string()
}

/// Posts the set-password form of a link page as a browser would: the page first (its form
/// token cookie), then the form.
async fn set_password(t: &TestApp, path: &str, password: &str, confirm: &str) -> Resp {
    let shown = page(t, path, "").await;
    let csrf = cookie_of(&shown, "credence_link").expect("the page sets its form token");
    form(
        t,
        path,
        &format!("credence_link={csrf}"),
        &format!(
            "csrf={csrf}&password={}&confirm={}",
            password.replace(' ', "+"),
            confirm.replace(' ', "+")
        ),
    )
    .await
}

fn csrf_of(r: &Resp) -> String {
    r.text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

async fn expire_links(t: &TestApp) {
    let mut tx = t.app.store.begin().await.unwrap();
    credence_store::query("UPDATE one_time_links SET expires_at = $1")
        .arg(chrono::Utc::now() - chrono::Duration::minutes(1))
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

const DEAD_LINK: &str = "This link does not work";

both_databases! {
    async fn an_invitation_link_sets_the_password_once_and_the_login_signs_in(t) {
        let invited = t.post("/api/v1/users", json!({"email": " Ada.Lovelace@Test.example ", "role": "officer"})).await.expect(201);
        assert_eq!(invited["email"], "Ada.Lovelace@Test.example", "stored as typed (trimmed)");
        assert_eq!((invited["role"].as_str(), invited["active"].as_bool(), invited["password_set"].as_bool()), (Some("officer"), Some(true), Some(false)));
        assert!(invited["last_sign_in_at"].is_null());
        let id = invited["id"].as_str().unwrap().to_string();

        // The outbox holds the message, with the link; the API's outbox names the login.
        let messages = outbox(t).await;
        assert_eq!(messages.len(), 1);
        assert_eq!((messages[0].recipient.as_str(), messages[0].kind.as_str()), ("Ada.Lovelace@Test.example", "invitation"));
        assert!(messages[0].subject.contains("Test Fire District"), "{}", messages[0].subject);
        let listed = t.get("/api/v1/outbox").await.expect(200);
        assert_eq!((listed["items"][0]["kind"].as_str(), listed["items"][0]["subject_id"].as_str()), (Some("invitation"), Some(id.as_str())));
        let link = link_in_outbox(t, "invitation", "/invitations/").await;
        let secret = link.trim_start_matches("/invitations/");
        assert!(secret.len() >= 43, "256 random bits: {secret}");
        // Only the hash is stored.
        let mut db = t.app.store.read().await.unwrap();
        let stored: Vec<String> = credence_store::query("SELECT token_hash FROM one_time_links").scalars(&mut db).await.unwrap();
        drop(db);
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0], secret);
        assert!(!stored[0].contains(secret));

        // No password yet: nothing signs in.
        assert!(sign_in(t, "ada.lovelace@test.example", "").await.is_err());

        let shown = page(t, &link, "").await;
        assert_eq!(shown.status, 200);
        assert!(shown.text.contains("Welcome to Credence") && shown.text.contains("Ada.Lovelace@Test.example"));
        assert_eq!(shown.headers["referrer-policy"], "no-referrer", "the secret does not leave in a Referer");

        // Bad passwords show the form again, naming the problem; the link still works.
        let weak = set_password(t, &link, "short", "short").await;
        assert_eq!(weak.status, 422);
        assert!(weak.text.contains("at least 10 characters"), "{}", weak.text);
        let common = set_password(t, &link, "password123", "password123").await;
        assert!(common.text.contains("most common passwords"), "{}", common.text);
        let differ = set_password(t, &link, NEW_PASSWORD, "correct horse battery stapler").await;
        assert!(differ.text.contains("does not match"), "{}", differ.text);
        // Without the form's token cookie nothing is set.
        let forged = form(t, &link, "", &format!("csrf=guess&password={0}&confirm={0}", NEW_PASSWORD.replace(' ', "+"))).await;
        assert!(forged.text.contains("did not come from this site"), "{}", forged.text);

        let done = set_password(t, &link, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(done.status, 303, "{}", done.text);
        assert_eq!(done.headers["location"], "/login?done=password");
        assert!(page(t, "/login?done=password", "").await.text.contains("Your password is set"));
        assert!(!page(t, "/login?done=Call+555-0100", "").await.text.contains("555-0100"), "only the server's words");

        // The link works once.
        let again = page(t, &link, "").await;
        assert_eq!(again.status, 404);
        assert!(again.text.contains(DEAD_LINK) && !again.text.contains("Ada.Lovelace"), "{}", again.text);
        let reuse = set_password(t, &link, "another fine password", "another fine password").await;
        assert_eq!(reuse.status, 404);
        assert!(reuse.text.contains(DEAD_LINK));

        // The invited login signs in with the password it chose, in any case.
        let session = sign_in(t, "ADA.LOVELACE@test.example", NEW_PASSWORD).await.map_err(|r| r.text).unwrap();
        assert_eq!(page(t, "/", &session).await.status, 200);
        assert!(sign_in(t, "ada.lovelace@test.example", "another fine password").await.is_err());
        let list = t.get("/api/v1/users").await.expect(200);
        assert_eq!(list["items"][0]["password_set"], true);
        assert!(list["items"][0]["last_sign_in_at"].is_string());

        // Unknown links, made-up or malformed, get the same page.
        for path in ["/invitations/nope", "/invitations/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/password-reset/%3Cscript%3E"] {
            let r = page(t, path, "").await;
            assert_eq!(r.status, 404, "{path}");
            assert!(r.text.contains(DEAD_LINK), "{path}");
        }
    }

    async fn links_stop_working_after_72_hours(t) {
        let invited = t.post("/api/v1/users", json!({"email": "late@test.example", "role": "auditor"})).await.expect(201);
        let mut db = t.app.store.read().await.unwrap();
        let expires: chrono::DateTime<chrono::Utc> = credence_store::query("SELECT expires_at FROM one_time_links").scalar(&mut db).await.unwrap();
        drop(db);
        let hours = (expires - chrono::Utc::now()).num_minutes() as f64 / 60.0;
        assert!((71.9..=72.0).contains(&hours), "valid for 72 hours, not {hours}");
        let link = link_in_outbox(t, "invitation", "/invitations/").await;
        assert_eq!(page(t, &link, "").await.status, 200);
        expire_links(t).await;
        let late = page(t, &link, "").await;
        assert_eq!(late.status, 404);
        assert!(late.text.contains(DEAD_LINK) && !late.text.contains("late@test.example"));
        assert_eq!(set_password(t, &link, NEW_PASSWORD, NEW_PASSWORD).await.status, 404);

        // A new link (a reset) works again; the expired one stays dead.
        let id = invited["id"].as_str().unwrap();
        t.post(&format!("/api/v1/users/{id}/password-reset"), json!({})).await.expect(200);
        let reset = link_in_outbox(t, "password_reset", "/password-reset/").await;
        assert_eq!(set_password(t, &reset, NEW_PASSWORD, NEW_PASSWORD).await.status, 303);
        assert!(sign_in(t, "late@test.example", NEW_PASSWORD).await.is_ok());
    }

    async fn a_password_reset_link_replaces_the_password_and_signs_everyone_out(t) {
        let user = t.app.create_user(t.agency_id, "chief@test.example", Role::Officer, PASSWORD, None).await.unwrap();
        let session = sign_in(t, "chief@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        let reset = t.post(&format!("/api/v1/users/{user}/password-reset"), json!({})).await.expect(200);
        assert_eq!(reset["id"], user.to_string());
        let first = link_in_outbox(t, "password_reset", "/password-reset/").await;
        // The old password works until a new one is chosen.
        assert!(sign_in(t, "chief@test.example", PASSWORD).await.is_ok());
        // A second link replaces the first.
        t.post(&format!("/api/v1/users/{user}/password-reset"), json!({})).await.expect(200);
        let second = link_in_outbox(t, "password_reset", "/password-reset/").await;
        assert_ne!(first, second);
        assert_eq!(page(t, &first, "").await.status, 404, "only the newest link works");
        // A reset link is not an invitation link.
        let as_invitation = second.replace("/password-reset/", "/invitations/");
        assert_eq!(page(t, &as_invitation, "").await.status, 404);

        let shown = page(t, &second, "").await;
        assert!(shown.text.contains("Choose a new password"), "{}", shown.text);
        assert_eq!(set_password(t, &second, NEW_PASSWORD, NEW_PASSWORD).await.status, 303);
        assert!(sign_in(t, "chief@test.example", PASSWORD).await.is_err(), "the old password is gone");
        assert!(sign_in(t, "chief@test.example", NEW_PASSWORD).await.is_ok());
        let old = page(t, "/", &session).await;
        assert_eq!(old.status, 303, "sessions from before the reset end");
        assert!(old.headers["location"].to_str().unwrap().starts_with("/login"));
        let audit = t.get(&format!("/api/v1/audit-events?subject_id={user}")).await.expect(200);
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"set_password") && actions.contains(&"send_password_reset"), "{actions:?}");
        assert!(!audit.to_string().contains(second.trim_start_matches("/password-reset/")), "no secret in the audit log");
    }

    async fn changing_ones_own_password_needs_the_current_one(t) {
        t.app.create_user(t.agency_id, "ava@test.example", Role::Auditor, PASSWORD, None).await.unwrap();
        let here = sign_in(t, "ava@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        let elsewhere = sign_in(t, "ava@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        let account = page(t, "/account", &here).await;
        assert_eq!(account.status, 200);
        assert!(account.text.contains("Change your password") && account.text.contains("ava@test.example"));
        let csrf = csrf_of(&account);
        let body = |current: &str, new: &str, confirm: &str| format!("csrf={csrf}&current_password={}&password={}&confirm={}",
            current.replace(' ', "+"), new.replace(' ', "+"), confirm.replace(' ', "+"));

        assert_eq!(form(t, "/account/password", &here, &body(PASSWORD, NEW_PASSWORD, NEW_PASSWORD).replace(&csrf, "guess")).await.status, 400);
        let wrong = form(t, "/account/password", &here, &body("not my password", NEW_PASSWORD, NEW_PASSWORD)).await;
        assert_eq!(wrong.status, 422);
        assert!(wrong.text.contains("is not your current password"), "{}", wrong.text);
        let weak = form(t, "/account/password", &here, &body(PASSWORD, "short", "short")).await;
        assert!(weak.text.contains("at least 10 characters"));
        let differ = form(t, "/account/password", &here, &body(PASSWORD, NEW_PASSWORD, "something else entirely")).await;
        assert!(differ.text.contains("does not match"));
        assert!(sign_in(t, "ava@test.example", PASSWORD).await.is_ok(), "nothing changed yet");

        let done = form(t, "/account/password", &here, &body(PASSWORD, NEW_PASSWORD, NEW_PASSWORD)).await;
        assert_eq!(done.status, 303);
        assert!(follow(t, &done, &here).await.text.contains("Your password is changed"));
        assert_eq!(page(t, "/account", &here).await.status, 200, "this session stays");
        assert_eq!(page(t, "/account", &elsewhere).await.status, 303, "the other session ends");
        assert!(sign_in(t, "ava@test.example", PASSWORD).await.is_err());
        assert!(sign_in(t, "ava@test.example", NEW_PASSWORD).await.is_ok());
        assert_eq!(page(t, "/account", "").await.status, 303, "a session is needed");
    }

    async fn guessing_the_current_password_is_throttled_like_signing_in(t) {
        t.app.create_user(t.agency_id, "cy@test.example", Role::Auditor, PASSWORD, None).await.unwrap();
        let here = sign_in(t, "cy@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        let csrf = csrf_of(&page(t, "/account", &here).await);
        let guess = |n: u32| format!("csrf={csrf}&current_password=guess+{n}&password=a+brand+new+password&confirm=a+brand+new+password");
        for n in 0..credence_domain::sign_in::FREE_FAILURES as u32 {
            assert_eq!(form(t, "/account/password", &here, &guess(n)).await.status, 422);
        }
        let refused = form(t, "/account/password", &here, &guess(99)).await;
        assert_eq!(refused.status, 429, "{}", refused.text);
        assert!(refused.text.contains("too many failed attempts"), "{}", refused.text);
        // The guesses count against signing in too: even the right password waits now.
        assert!(sign_in(t, "cy@test.example", PASSWORD).await.is_err());
    }

    async fn deactivating_a_login_ends_its_sessions_and_tokens_at_once(t) {
        let m = crate::members::create_member(t, "Liam", "Brown").await;
        let mid = m["id"].as_str().unwrap();
        let user = t.app.create_user(t.agency_id, "liam@test.example", Role::Officer, PASSWORD, mid.parse().ok()).await.unwrap();
        let token = t.token(Role::Member, Some(mid)).await;
        t.send(Method::GET, &format!("/api/v1/members/{mid}"), Some(&token), None).await.expect(200);
        let session = sign_in(t, "liam@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        assert_eq!(page(t, "/credentials", &session).await.status, 200);

        let off = t.patch(&format!("/api/v1/users/{user}"), json!({"active": false})).await.expect(200);
        assert_eq!((off["active"].as_bool(), off["member_name"].as_str()), (Some(false), Some("Liam Brown")));
        let r = page(t, "/credentials", &session).await;
        assert_eq!(r.status, 303);
        assert!(r.headers["location"].to_str().unwrap().starts_with("/login"));
        t.send(Method::GET, &format!("/api/v1/members/{mid}"), Some(&token), None).await.problem(401);
        assert!(sign_in(t, "liam@test.example", PASSWORD).await.is_err());
        // No reset link for a deactivated login.
        t.post(&format!("/api/v1/users/{user}/password-reset"), json!({})).await.problem(409);

        let on = t.patch(&format!("/api/v1/users/{user}"), json!({"active": true})).await.expect(200);
        assert_eq!(on["active"], true);
        assert!(sign_in(t, "liam@test.example", PASSWORD).await.is_ok());
        t.send(Method::GET, &format!("/api/v1/members/{mid}"), Some(&token), None).await.problem(401);
        let audit = t.get(&format!("/api/v1/audit-events?subject_id={user}")).await.expect(200);
        assert!(audit["items"].as_array().unwrap().iter().any(|e| e["action"] == "update" && e["after"]["active"] == false));
    }

    async fn deactivating_an_invited_login_kills_its_link(t) {
        let invited = t.post("/api/v1/users", json!({"email": "new@test.example", "role": "officer"})).await.expect(201);
        let link = link_in_outbox(t, "invitation", "/invitations/").await;
        t.patch(&format!("/api/v1/users/{}", invited["id"].as_str().unwrap()), json!({"active": false})).await.expect(200);
        t.patch(&format!("/api/v1/users/{}", invited["id"].as_str().unwrap()), json!({"active": true})).await.expect(200);
        assert_eq!(page(t, &link, "").await.status, 404, "deactivation spent the link for good");
    }

    async fn the_last_active_admin_login_stays(t) {
        let chief = t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, PASSWORD, None).await.unwrap();
        for change in [json!({"role": "officer"}), json!({"active": false})] {
            let p = t.patch(&format!("/api/v1/users/{chief}"), change.clone()).await.problem(409);
            assert!(p["detail"].as_str().unwrap().contains("last active admin"), "{change}");
        }
        let deputy = t.app.create_user(t.agency_id, "deputy@test.example", Role::Admin, PASSWORD, None).await.unwrap();
        t.patch(&format!("/api/v1/users/{chief}"), json!({"role": "auditor"})).await.expect(200);
        t.patch(&format!("/api/v1/users/{deputy}"), json!({"active": false})).await.problem(409);

        // From the page: the deputy cannot demote themselves either, and is told why.
        let session = sign_in(t, "deputy@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        let users = page(t, "/users", &session).await;
        let csrf = csrf_of(&users);
        let refused = form(t, &format!("/users/{deputy}/role"), &session, &format!("csrf={csrf}&role=officer")).await;
        assert_eq!(refused.status, 303);
        assert!(follow(t, &refused, &session).await.text.contains("last active admin"));
        let refused = form(t, &format!("/users/{deputy}/active"), &session, &format!("csrf={csrf}&active=false")).await;
        assert!(follow(t, &refused, &session).await.text.contains("last active admin"));
        assert_eq!(t.get("/api/v1/users").await.expect(200)["items"][1]["role"], "admin");

        // With another admin, the deputy may step down.
        t.patch(&format!("/api/v1/users/{chief}"), json!({"role": "admin"})).await.expect(200);
        let stepped = form(t, &format!("/users/{deputy}/role"), &session, &format!("csrf={csrf}&role=officer")).await;
        assert_eq!(stepped.headers["location"], "/account", "an admin who stepped down cannot see /users");
        assert!(follow(t, &stepped, &session).await.text.contains("You are now officer"));
        assert_eq!(page(t, "/users", &session).await.status, 403, "the new role applies at once");
        // The chief deactivates their own login: signed out at once.
        let chief_session = sign_in(t, "chief@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        t.app.create_user(t.agency_id, "third@test.example", Role::Admin, PASSWORD, None).await.unwrap();
        let csrf = csrf_of(&page(t, "/users", &chief_session).await);
        let gone = form(t, &format!("/users/{chief}/active"), &chief_session, &format!("csrf={csrf}&active=false")).await;
        assert_eq!(gone.headers["location"], "/login");
        assert_eq!(page(t, "/users", &chief_session).await.status, 303);
    }

    async fn emails_are_compared_without_regard_to_case(t) {
        t.app.create_user(t.agency_id, "Chief@Test.example", Role::Admin, PASSWORD, None).await.unwrap();
        let list = t.get("/api/v1/users").await.expect(200);
        assert_eq!(list["items"][0]["email"], "Chief@Test.example", "stored as typed");
        assert!(sign_in(t, "chief@test.example", PASSWORD).await.is_ok());
        assert!(sign_in(t, "CHIEF@TEST.EXAMPLE", PASSWORD).await.is_ok());
        assert_eq!(t.post("/api/v1/users", json!({"email": "CHIEF@test.EXAMPLE", "role": "officer"})).await.invalid_fields(), ["email"]);
        let again = t.app.create_user(t.agency_id, " chief@test.example", Role::Officer, PASSWORD, None).await;
        assert!(matches!(again, Err(credence_app::AppError::Invalid(_))), "{again:?}");
        // In another agency too: sign-in asks only for the e-mail.
        let other = t.other_agency_admin().await;
        let r = t.send(Method::POST, "/api/v1/users", Some(&other), Some(json!({"email": "chief@TEST.example", "role": "admin"}))).await;
        assert_eq!(r.invalid_fields(), ["email"]);
        assert_eq!(t.get("/api/v1/users").await.expect(200)["items"].as_array().unwrap().len(), 1);
        assert_eq!(outbox(t).await.len(), 0);
    }

    async fn bad_input_is_refused_and_nothing_is_written(t) {
        let other = t.other_agency_admin().await;
        let theirs = t.send(Method::POST, "/api/v1/members", Some(&other), Some(json!({"first_name": "Zoe", "last_name": "Other"}))).await.expect(201);
        let cases = [
            (json!({"email": "not-an-email", "role": "officer"}), "email"),
            (json!({"email": "a@test.example", "role": "root"}), "role"),
            // A missing or unknown field: named by the JSON reader.
            (json!({"email": "a@test.example"}), ""),
            (json!({"email": "a@test.example", "role": "member"}), "member_id"),
            (json!({"email": "a@test.example", "role": "member", "member_id": theirs["id"]}), "member_id"),
            (json!({"email": "a@test.example", "role": "officer", "member_id": "mem_999999"}), "member_id"),
            (json!({"email": "a@test.example", "role": "officer", "member_id": "grp_1"}), "member_id"),
            (json!({"email": "a@test.example", "role": "officer", "password": "x"}), ""),
        ];
        for (body, field) in cases {
            let fields = t.post("/api/v1/users", body.clone()).await.invalid_fields();
            assert!(fields.iter().any(|f| f.starts_with(field)), "{body}: {fields:?}");
        }
        assert_eq!(t.get("/api/v1/users").await.expect(200)["items"], json!([]));
        assert_eq!(outbox(t).await.len(), 0, "no message queued");

        let user = t.app.create_user(t.agency_id, "ava@test.example", Role::Officer, PASSWORD, None).await.unwrap();
        assert_eq!(t.patch(&format!("/api/v1/users/{user}"), json!({"role": "chief"})).await.invalid_fields(), ["role"]);
        assert_eq!(t.patch(&format!("/api/v1/users/{user}"), json!({"role": "member"})).await.invalid_fields(), ["role"], "a member login needs a member");
        assert_eq!(t.patch(&format!("/api/v1/users/{user}"), json!({"active": "no"})).await.invalid_fields(), ["active"]);
        t.patch("/api/v1/users/usr_999999", json!({"active": false})).await.problem(404);
        t.patch("/api/v1/users/mem_1", json!({"active": false})).await.problem(404);
        // Another agency's admin sees none of it.
        t.send(Method::PATCH, &format!("/api/v1/users/{user}"), Some(&other), Some(json!({"active": false}))).await.problem(404);
        t.send(Method::POST, &format!("/api/v1/users/{user}/password-reset"), Some(&other), None).await.problem(404);
        assert_eq!(t.send(Method::GET, "/api/v1/users", Some(&other), None).await.expect(200)["items"], json!([]));
        assert!(sign_in(t, "ava@test.example", PASSWORD).await.is_ok(), "still active");
        t.get("/api/v1/users?cursor=nonsense").await.invalid_fields();
    }

    async fn the_users_list_pages_by_email(t) {
        for e in ["c@test.example", "A@test.example", "b@test.example"] {
            t.post("/api/v1/users", json!({"email": e, "role": "auditor"})).await.expect(201);
        }
        let first = t.get("/api/v1/users?limit=2").await.expect(200);
        let emails: Vec<&str> = first["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        assert_eq!(emails, ["A@test.example", "b@test.example"]);
        let next = t.get(&format!("/api/v1/users?limit=2&cursor={}", first["next_cursor"].as_str().unwrap())).await.expect(200);
        assert_eq!(next["items"][0]["email"], "c@test.example");
        assert!(next["next_cursor"].is_null());
    }

    async fn admins_manage_logins_from_the_users_page(t) {
        let m = crate::members::create_member(t, "Ava", "Smith").await;
        let mid = m["id"].as_str().unwrap().to_string();
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, PASSWORD, None).await.unwrap();
        for (email, role) in [("officer@test.example", Role::Officer), ("auditor@test.example", Role::Auditor), ("member@test.example", Role::Member)] {
            t.app.create_user(t.agency_id, email, role, PASSWORD, mid.parse().ok()).await.unwrap();
            let session = sign_in(t, email, PASSWORD).await.map_err(|r| r.text).unwrap();
            assert_eq!(page(t, "/users", &session).await.status, 403, "{email}");
            let home = page(t, "/account", &session).await;
            assert_eq!(home.status, 200, "{email}");
            assert!(home.text.contains("href=\"/account\"") && !home.text.contains("href=\"/users\""), "{email}");
            let csrf = csrf_of(&home);
            for path in ["/users/invite", "/users/usr_1/role", "/users/usr_1/active", "/users/usr_1/password-reset"] {
                let r = form(t, path, &session, &format!("csrf={csrf}&email=x%40test.example&role=admin&active=false")).await;
                assert_eq!(r.status, 403, "{email} {path}: {}", r.text);
            }
        }
        let session = sign_in(t, "chief@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        let users = page(t, "/users", &session).await;
        assert_eq!(users.status, 200);
        assert!(users.text.contains("Invite a login") && users.text.contains("officer@test.example") && users.text.contains("API tokens"));
        assert!(users.text.contains("href=\"/users\"") && users.text.contains("href=\"/account\""));
        assert!(users.text.contains(&format!("<option value=\"{mid}\"")), "the member picker lists members");
        let csrf = csrf_of(&users);

        // Bad input: the form again, with what was typed and the field named.
        let bad = form(t, "/users/invite", &session, &format!("csrf={csrf}&email=%3Cb%3Enot-an-email&role=officer&member_id=")).await;
        assert_eq!(bad.status, 422);
        assert!(bad.text.contains("must be an e-mail address") && bad.text.contains("value=\"&#60;b&#62;not-an-email\""), "{}", bad.text);
        let bad = form(t, "/users/invite", &session, &format!("csrf={csrf}&email=new%40test.example&role=member&member_id=")).await;
        assert!(bad.text.contains("a member login must name its member"), "{}", bad.text);
        assert!(bad.text.contains("value=\"new@test.example\""));
        let bad = form(t, "/users/invite", &session, &format!("csrf={csrf}&email=new%40test.example&role=root&member_id=")).await;
        assert!(bad.text.contains("choose admin, officer, auditor or member"));
        assert_eq!(form(t, "/users/invite", &session, "email=new%40test.example&role=officer").await.status, 400, "CSRF");
        assert!(outbox(t).await.is_empty());

        let sent = form(t, "/users/invite", &session, &format!("csrf={csrf}&email=New%40Test.example&role=member&member_id={mid}")).await;
        assert_eq!(sent.status, 303, "{}", sent.text);
        let shown = follow(t, &sent, &session).await;
        assert!(shown.text.contains("Invitation sent to New@Test.example"), "{}", shown.text);
        assert!(shown.text.contains("Invited") && shown.text.contains("Ava Smith"));
        assert_eq!(outbox(t).await[0].kind, "invitation");
        let new_id = t.get("/api/v1/users").await.expect(200)["items"].as_array().unwrap().iter()
            .find(|u| u["email"] == "New@Test.example").unwrap()["id"].as_str().unwrap().to_string();

        let changed = form(t, &format!("/users/{new_id}/role"), &session, &format!("csrf={csrf}&role=auditor")).await;
        assert!(follow(t, &changed, &session).await.text.contains("New@Test.example is now auditor"));
        let reset = form(t, &format!("/users/{new_id}/password-reset"), &session, &format!("csrf={csrf}")).await;
        assert!(follow(t, &reset, &session).await.text.contains("A password-reset link was sent"));
        assert_eq!(outbox(t).await[0].kind, "password_reset");
        let off = form(t, &format!("/users/{new_id}/active"), &session, &format!("csrf={csrf}&active=false")).await;
        let shown = follow(t, &off, &session).await;
        assert!(shown.text.contains("is deactivated") && shown.text.contains("Deactivated") && shown.text.contains("Reactivate"));
        let on = form(t, &format!("/users/{new_id}/active"), &session, &format!("csrf={csrf}&active=true")).await;
        assert!(follow(t, &on, &session).await.text.contains("can sign in again"));
        let after = t.get("/api/v1/users").await.expect(200);
        let row = after["items"].as_array().unwrap().iter().find(|u| u["id"] == new_id.as_str()).unwrap();
        assert_eq!((row["role"].as_str(), row["active"].as_bool(), row["member_id"].as_str()), (Some("auditor"), Some(true), Some(mid.as_str())));
    }
}
