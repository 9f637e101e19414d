//! Two-factor sign-in (#21): enrolling on `/account` with the key the page shows, the code
//! step after the password (not a session, bound to the browser, minutes long, throttled),
//! reused codes, recovery codes, turning it off, and admins made to enrol when the agency
//! requires it. Codes are computed here from the key shown on the page, as an app would.

use axum::body::Body;
use axum::http::{header, Method, Request};
use credence_app::Role;
use credence_domain::totp;

use crate::both_databases;
use crate::harness::{Resp, TestApp};
use crate::web_pages::{cookie_of, follow, form, page, sign_in};

const PASSWORD: &str = "a long enough password";

/// The value of the first field `name` in a page.
fn field(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

/// The recovery codes a page lists.
fn recovery_codes(html: &str) -> Vec<String> {
    html.split("<li><code>")
        .skip(1)
        .map(|s| s.split("</code>").next().unwrap().to_string())
        .collect()
}

/// An authenticator's view of time: the code of a step the server will take after the
/// last one used (the current step, else the next), waiting for a new step when both are
/// spent.
struct Authenticator {
    key: Vec<u8>,
    last: i64,
}

impl Authenticator {
    fn now() -> i64 {
        totp::step_at(chrono::Utc::now().timestamp())
    }

    async fn code(&mut self) -> String {
        loop {
            let now = Self::now();
            let step = (self.last + 1).max(now);
            if step <= now + 1 {
                self.last = step;
                return totp::format_code(totp::code_for_step(&self.key, step));
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }

    /// Six digits that are no code of the window.
    fn wrong(&self) -> String {
        let now = Self::now();
        let near: Vec<u32> = (now - 2..=now + 2)
            .map(|s| totp::code_for_step(&self.key, s))
            .collect();
        (0..)
            .map(|n| 100_000 + n * 7919)
            .find(|c| !near.contains(c))
            .map(totp::format_code)
            .unwrap()
    }
}

/// The password step: the challenge cookie (`credence_pending=…`) and where it leads.
async fn password_step(t: &TestApp, email: &str) -> (String, String) {
    let r = sign_in(t, email, PASSWORD)
        .await
        .expect_err("a second step is due");
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(
        cookie_of(&r, "credence_session").is_none(),
        "no session before the second step"
    );
    let pending = cookie_of(&r, "credence_pending").expect("a challenge cookie");
    let set = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("credence_pending="))
        .unwrap();
    assert!(
        set.contains("Path=/login")
            && set.contains("HttpOnly")
            && set.contains("SameSite=Strict")
            && set.contains("Max-Age=300"),
        "{set}"
    );
    (
        format!("credence_pending={pending}"),
        r.headers["location"].to_str().unwrap().to_string(),
    )
}

/// Answers the code step with `body` (the page's CSRF token is added).
async fn answer(t: &TestApp, pending: &str, body: &str) -> Resp {
    let step = page(t, "/login/two-factor", pending).await;
    assert_eq!(step.status, 200, "{}", step.text);
    let csrf = field(&step.text, "csrf");
    form(
        t,
        "/login/two-factor",
        pending,
        &format!("csrf={csrf}&{body}"),
    )
    .await
}

fn session_of(r: &Resp) -> String {
    format!(
        "credence_session={}",
        cookie_of(r, "credence_session").unwrap_or_else(|| panic!("no session: {}", r.text))
    )
}

/// A login that turned two-factor sign-in on from `/account`: its session, authenticator and
/// recovery codes.
async fn enrolled(t: &TestApp, email: &str, role: Role) -> (String, Authenticator, Vec<String>) {
    t.app
        .create_user(t.agency_id, email, role, PASSWORD, None)
        .await
        .unwrap();
    let session = sign_in(t, email, PASSWORD)
        .await
        .map_err(|r| r.text)
        .unwrap();
    let account = page(t, "/account", &session).await;
    let key = totp::base32_decode(&field(&account.text, "secret")).unwrap();
    let mut app = Authenticator { key, last: 0 };
    let code = app.code().await;
    let on = form(
        t,
        "/account/two-factor",
        &session,
        &format!(
            "csrf={}&secret={}&code={code}",
            field(&account.text, "csrf"),
            field(&account.text, "secret")
        ),
    )
    .await;
    assert_eq!(on.status, 200, "{}", on.text);
    let codes = recovery_codes(&on.text);
    assert_eq!(codes.len(), 10);
    (session, app, codes)
}

async fn audit_actions(t: &TestApp, user: &str) -> (Vec<String>, String) {
    let audit = t
        .get(&format!("/api/v1/audit-events?subject_id={user}&limit=100"))
        .await
        .expect(200);
    let actions = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    (actions, audit.to_string())
}

both_databases! {
    async fn enrolling_then_signing_in_with_a_code_and_reused_or_wrong_codes_are_refused(t) {
        let user = t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, PASSWORD, None).await.unwrap();
        let session = sign_in(t, "chief@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        let account = page(t, "/account", &session).await;
        assert_eq!(account.status, 200);
        assert!(account.text.contains("Two-factor sign-in") && account.text.contains("data:image/svg+xml;base64,"), "a QR code");
        let secret = field(&account.text, "secret");
        let key = totp::base32_decode(&secret).unwrap();
        assert_eq!(key.len(), 20);
        assert!(account.text.contains(&secret.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ")),
            "the key is shown as text to type");
        assert_ne!(field(&page(t, "/account", &session).await.text, "secret"), secret, "a fresh key on each visit");
        let csrf = field(&account.text, "csrf");
        let mut app = Authenticator { key, last: 0 };

        // Without the session's CSRF token nothing is turned on.
        let code = app.code().await;
        assert_eq!(form(t, "/account/two-factor", &session, &format!("secret={secret}&code={code}")).await.status, 400);
        // Bad input: not six digits, a wrong code, a key the page did not show.
        for (body, words) in [
            (format!("secret={secret}&code=12345"), "6 digits"),
            (format!("secret={secret}&code={}", app.wrong()), "is not the one your app shows now"),
            (format!("secret=NOT-A-KEY&code={code}"), "reload the page"),
            (format!("secret={secret}"), "6 digits"),
        ] {
            let r = form(t, "/account/two-factor", &session, &format!("csrf={csrf}&{body}")).await;
            assert_eq!(r.status, 422, "{body}");
            assert!(r.text.contains(words), "{body}: {}", r.text);
        }
        assert_eq!(field(&form(t, "/account/two-factor", &session, &format!("csrf={csrf}&secret={secret}&code=1")).await.text, "secret"),
            secret, "after a wrong code the key scanned stays on the page");
        assert!(sign_in(t, "chief@test.example", PASSWORD).await.is_ok(), "still off");

        let on = form(t, "/account/two-factor", &session, &format!("csrf={csrf}&secret={secret}&code={code}")).await;
        assert_eq!(on.status, 200, "{}", on.text);
        let codes = recovery_codes(&on.text);
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|c| totp::parse_recovery_code(c).is_some()), "{codes:?}");
        // Never shown again, nor audited.
        let later = page(t, "/account", &session).await;
        assert!(later.text.contains("On since") && !later.text.contains(&secret) && !later.text.contains("data:image/svg"));
        assert!(!later.text.contains(&codes[0]), "recovery codes are shown once");
        let (actions, audit) = audit_actions(t, &user.to_string()).await;
        assert!(actions.contains(&"enable_two_factor".to_string()), "{actions:?}");
        assert!(!audit.contains(&secret) && !audit.contains(&codes[0]) && !audit.contains(&code), "{audit}");
        assert_eq!(form(t, "/account/two-factor", &session, &format!("csrf={csrf}&secret={secret}&code={}", app.wrong())).await.status, 303,
            "already on: back to the page with a message");

        // The password alone now leads to the code step, which is no session.
        let (pending, location) = password_step(t, "chief@test.example").await;
        assert_eq!(location, "/login/two-factor");
        let token = pending.trim_start_matches("credence_pending=");
        for cookie in [pending.clone(), format!("credence_session={token}")] {
            let home = page(t, "/", &cookie).await;
            assert_eq!((home.status.as_u16(), home.headers["location"].to_str().unwrap()), (303, "/login?next=%2F"), "{cookie}");
            assert_eq!(page(t, "/account", &cookie).await.status, 303);
        }
        let req = Request::builder().uri("/api/v1/members").header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::COOKIE, &pending).body(Body::empty()).unwrap();
        assert_eq!(t.send_request(req).await.status, 401);
        let req = Request::builder().method(Method::GET).uri("/api/v1/members").header(header::COOKIE, format!("credence_session={token}")).body(Body::empty()).unwrap();
        assert_eq!(t.send_request(req).await.status, 401);

        let step = page(t, "/login/two-factor", &pending).await;
        assert!(step.text.contains("Enter your code") && step.text.contains("chief@test.example"));
        // The step's forms carry its own CSRF token.
        let forged = form(t, "/login/two-factor", &pending, &format!("code={}", app.wrong())).await;
        assert_eq!(forged.status, 400);
        assert!(cookie_of(&forged, "credence_session").is_none());
        let wrong = answer(t, &pending, &format!("code={}", app.wrong())).await;
        assert_eq!(wrong.status, 422);
        assert!(wrong.text.contains("is not the one your app shows now"), "{}", wrong.text);
        let malformed = answer(t, &pending, "code=12ab56").await;
        assert_eq!(malformed.status, 422);
        assert!(malformed.text.contains("6 digits"));
        let code = app.code().await;
        let ok = answer(t, &pending, &format!("code={}+{}", &code[..3], &code[3..])).await;
        assert_eq!((ok.status.as_u16(), ok.headers["location"].to_str().unwrap()), (303, "/"));
        let signed_in = session_of(&ok);
        assert_eq!(page(t, "/", &signed_in).await.status, 200);
        assert_eq!(page(t, "/login/two-factor", &pending).await.status, 303, "the step is spent");

        // The same code again, within its window, is refused.
        let (again, _) = password_step(t, "chief@test.example").await;
        let reused = answer(t, &again, &format!("code={code}")).await;
        assert_eq!(reused.status, 422);
        assert!(reused.text.contains("This code was already used; wait for the next one"), "{}", reused.text);
        assert!(cookie_of(&reused, "credence_session").is_none());
        let (actions, _) = audit_actions(t, &user.to_string()).await;
        assert!(actions.iter().filter(|a| *a == "sign_in_failed").count() >= 2, "{actions:?}");
        assert!(actions.contains(&"sign_in_pending".to_string()));
    }

    async fn a_recovery_code_signs_in_once_and_new_ones_replace_the_old(t) {
        let (session, mut app, codes) = enrolled(t, "ava@test.example", Role::Officer).await;
        let (pending, _) = password_step(t, "ava@test.example").await;
        let bad = answer(t, &pending, "recovery_code=xyz").await;
        assert_eq!(bad.status, 422);
        assert!(bad.text.contains("12 letters and digits"), "{}", bad.text);
        // Typed in capitals with spaces, it still reads.
        let typed = codes[0].to_uppercase().replace('-', "+");
        let ok = answer(t, &pending, &format!("code=&recovery_code={typed}")).await;
        assert_eq!(ok.status, 303, "{}", ok.text);
        assert_eq!(page(t, "/", &session_of(&ok)).await.status, 200);

        let (pending, _) = password_step(t, "ava@test.example").await;
        let spent = answer(t, &pending, &format!("recovery_code={}", codes[0])).await;
        assert_eq!(spent.status, 422);
        assert!(spent.text.contains("not one of your unused recovery codes"));
        let account = page(t, "/account", &session).await;
        assert!(account.text.contains("9 of 10 recovery codes unused"), "{}", account.text);

        // New codes need a current code and the form's token; the old ones stop working.
        let csrf = field(&account.text, "csrf");
        assert_eq!(form(t, "/account/two-factor/recovery-codes", &session, &format!("code={}", app.wrong())).await.status, 400);
        let refused = form(t, "/account/two-factor/recovery-codes", &session, &format!("csrf={csrf}&code={}", app.wrong())).await;
        assert_eq!(refused.status, 422);
        let fresh = form(t, "/account/two-factor/recovery-codes", &session, &format!("csrf={csrf}&code={}", app.code().await)).await;
        assert_eq!(fresh.status, 200, "{}", fresh.text);
        let new_codes = recovery_codes(&fresh.text);
        assert_eq!(new_codes.len(), 10);
        assert!(new_codes.iter().all(|c| !codes.contains(c)));
        assert_eq!(answer(t, &pending, &format!("recovery_code={}", codes[1])).await.status, 422, "old codes are gone");
        assert_eq!(answer(t, &pending, &format!("recovery_code={}", new_codes[1])).await.status, 303);

        let user = t.get("/api/v1/users").await.expect(200)["items"].as_array().unwrap().iter()
            .find(|u| u["email"] == "ava@test.example").unwrap()["id"].as_str().unwrap().to_string();
        let (actions, audit) = audit_actions(t, &user).await;
        for action in ["use_recovery_code", "regenerate_recovery_codes"] {
            assert!(actions.contains(&action.to_string()), "{action}: {actions:?}");
        }
        assert!(!audit.contains(&new_codes[0]) && !audit.contains(&codes[0]));
        assert!(audit.contains("\"recovery_codes_left\":9"), "{audit}");
    }

    async fn turning_it_off_needs_the_password_and_a_current_code(t) {
        let (session, mut app, _) = enrolled(t, "ava@test.example", Role::Auditor).await;
        let csrf = field(&page(t, "/account", &session).await.text, "csrf");
        let code = app.code().await;
        assert_eq!(form(t, "/account/two-factor/disable", &session, &format!("password=a+long+enough+password&code={code}")).await.status, 400);
        let both = form(t, "/account/two-factor/disable", &session, &format!("csrf={csrf}&password=wrong&code={}", app.wrong())).await;
        assert_eq!(both.status, 422);
        assert!(both.text.contains("is not your current password") && both.text.contains("is not the one your app shows now"), "{}", both.text);
        let no_code = form(t, "/account/two-factor/disable", &session, &format!("csrf={csrf}&password=a+long+enough+password&code=")).await;
        assert_eq!(no_code.status, 422);
        let no_password = form(t, "/account/two-factor/disable", &session, &format!("csrf={csrf}&password=nope&code={code}")).await;
        assert_eq!(no_password.status, 422, "a right code without the password does nothing");
        assert!(page(t, "/account", &session).await.text.contains("On since"));

        let off = form(t, "/account/two-factor/disable", &session, &format!("csrf={csrf}&password=a+long+enough+password&code={code}")).await;
        assert_eq!(off.status, 303, "{}", off.text);
        assert!(follow(t, &off, &session).await.text.contains("Two-factor sign-in is off"));
        assert!(page(t, "/account", &session).await.text.contains("data:image/svg+xml"), "a new key to enrol again");
        assert!(sign_in(t, "ava@test.example", PASSWORD).await.is_ok(), "the password alone signs in again");
        let user = t.get("/api/v1/users").await.expect(200)["items"].as_array().unwrap().iter()
            .find(|u| u["email"] == "ava@test.example").unwrap()["id"].as_str().unwrap().to_string();
        assert!(audit_actions(t, &user).await.0.contains(&"disable_two_factor".to_string()));
    }

    async fn admins_enrol_at_sign_in_when_the_agency_requires_it(t) {
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, PASSWORD, None).await.unwrap();
        t.app.create_user(t.agency_id, "olly@test.example", Role::Officer, PASSWORD, None).await.unwrap();
        let admin = sign_in(t, "chief@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        // Turned on from /settings (admins only), with the form's token.
        let settings = page(t, "/settings", &admin).await;
        assert!(settings.text.contains("Require two-factor sign-in for admins"));
        let csrf = field(&settings.text, "csrf");
        let body = "version=1&name=Test+Fire+District&time_zone=America%2FChicago&expiring_soon_days=60&reminder_days=90%2C60%2C30%2C7&require_admin_two_factor=true";
        assert_eq!(form(t, "/settings", &admin, body).await.status, 400);
        let officer = sign_in(t, "olly@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        let officer_csrf = field(&page(t, "/", &officer).await.text, "csrf");
        assert_eq!(form(t, "/settings", &officer, &format!("csrf={officer_csrf}&{body}")).await.status, 403);
        assert_eq!(form(t, "/settings", &admin, &format!("csrf={csrf}&{body}")).await.status, 303);
        assert_eq!(t.get("/api/v1/agency").await.expect(200)["require_admin_two_factor"], true);
        assert!(sign_in(t, "olly@test.example", PASSWORD).await.is_ok(), "officers are not required to");

        // The admin's next sign-in goes to enrolment before anything else.
        let (pending, location) = password_step(t, "chief@test.example").await;
        assert_eq!(location, "/login/enrol");
        assert_eq!(page(t, "/", &pending).await.status, 303);
        assert_eq!(page(t, "/login/two-factor", &pending).await.headers["location"], "/login/enrol");
        let enrol = page(t, "/login/enrol", &pending).await;
        assert_eq!(enrol.status, 200);
        assert!(enrol.text.contains("Set up two-factor sign-in") && enrol.text.contains("data:image/svg+xml;base64,"));
        let secret = field(&enrol.text, "secret");
        let csrf = field(&enrol.text, "csrf");
        let mut app = Authenticator { key: totp::base32_decode(&secret).unwrap(), last: 0 };
        let code = app.code().await;
        let forged = form(t, "/login/enrol", &pending, &format!("secret={secret}&code={code}")).await;
        assert_eq!(forged.status, 400);
        let wrong = form(t, "/login/enrol", &pending, &format!("csrf={csrf}&secret={secret}&code={}", app.wrong())).await;
        assert_eq!(wrong.status, 422);
        assert_eq!(field(&wrong.text, "secret"), secret, "the key scanned stays");
        assert!(cookie_of(&wrong, "credence_session").is_none());
        let done = form(t, "/login/enrol", &pending, &format!("csrf={csrf}&secret={secret}&code={code}")).await;
        assert_eq!(done.status, 200, "{}", done.text);
        assert_eq!(recovery_codes(&done.text).len(), 10);
        assert!(done.text.contains("href=\"/\""), "continue home");
        assert_eq!(page(t, "/", &session_of(&done)).await.status, 200);

        // From now on the code is asked for, and it cannot be turned off while required.
        let (_, location) = password_step(t, "chief@test.example").await;
        assert_eq!(location, "/login/two-factor");
        let session = session_of(&done);
        let account = page(t, "/account", &session).await;
        assert!(account.text.contains("cannot be turned off"));
        let off = form(t, "/account/two-factor/disable", &session,
            &format!("csrf={}&password=a+long+enough+password&code={}", field(&account.text, "csrf"), app.wrong())).await;
        assert_eq!(off.status, 303);
        assert!(follow(t, &off, &session).await.text.contains("requires two-factor sign-in for admins"));
        assert!(page(t, "/account", &session).await.text.contains("On since"));
    }

    async fn the_code_step_expires_belongs_to_its_browser_and_is_throttled(t) {
        let (_, mut app, _) = enrolled(t, "ava@test.example", Role::Officer).await;
        // Another browser (no cookie, or a made-up one) has no step to answer.
        for cookie in ["", "credence_pending=made-up"] {
            let r = page(t, "/login/two-factor", cookie).await;
            assert_eq!(r.headers["location"], "/login?done=expired");
            let r = form(t, "/login/two-factor", cookie, &format!("csrf=x&code={}", app.wrong())).await;
            assert_eq!(r.headers["location"], "/login?done=expired");
        }
        assert!(page(t, "/login?done=expired", "").await.text.contains("not finished within 5 minutes"));

        // After five minutes even the right code is too late.
        let (pending, _) = password_step(t, "ava@test.example").await;
        let csrf = field(&page(t, "/login/two-factor", &pending).await.text, "csrf");
        let mut tx = t.app.store.begin().await.unwrap();
        credence_store::query("UPDATE sign_in_challenges SET expires_at = $1")
            .arg(chrono::Utc::now() - chrono::Duration::seconds(1)).execute(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        let right = app.code().await;
        let late = form(t, "/login/two-factor", &pending, &format!("csrf={csrf}&code={right}")).await;
        assert_eq!((late.status.as_u16(), late.headers["location"].to_str().unwrap()), (303, "/login?done=expired"));
        assert!(cookie_of(&late, "credence_session").is_none());

        // Wrong codes count as wrong passwords do: after five, even the right one waits.
        let (pending, _) = password_step(t, "ava@test.example").await;
        for _ in 0..5 {
            assert_eq!(answer(t, &pending, &format!("code={}", app.wrong())).await.status, 422);
        }
        let throttled = answer(t, &pending, &format!("code={right}")).await;
        assert_eq!(throttled.status, 429);
        assert!(throttled.text.contains("too many failed attempts"), "{}", throttled.text);
    }

    async fn an_admin_turns_off_a_lost_second_factor(t) {
        let (ava, _, _) = enrolled(t, "ava@test.example", Role::Officer).await;
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, PASSWORD, None).await.unwrap();
        let admin = sign_in(t, "chief@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        let users = page(t, "/users", &admin).await;
        let id = t.get("/api/v1/users").await.expect(200)["items"].as_array().unwrap().iter()
            .find(|u| u["email"] == "ava@test.example").unwrap()["id"].as_str().unwrap().to_string();
        assert!(users.text.contains("Two-factor</span>") && users.text.contains(&format!("/users/{id}/two-factor/reset")));
        let csrf = field(&users.text, "csrf");
        let (pending, _) = password_step(t, "ava@test.example").await;

        let path = format!("/users/{id}/two-factor/reset");
        assert_eq!(form(t, &path, &admin, "").await.status, 400, "the form's token is needed");
        let ava_csrf = field(&page(t, "/account", &ava).await.text, "csrf");
        assert_eq!(form(t, &path, &ava, &format!("csrf={ava_csrf}")).await.status, 403, "admins only");
        // Another agency's login, or none, is not found; one without two-factor says so.
        let other = t.app.create_agency("Other County EMS", None, "UTC").await.unwrap();
        let theirs = t.app.create_user(other.id, "them@other.example", Role::Admin, PASSWORD, None).await.unwrap();
        for missing in [format!("/users/{theirs}/two-factor/reset"), "/users/usr_999999/two-factor/reset".into(), "/users/nope/two-factor/reset".into()] {
            let r = form(t, &missing, &admin, &format!("csrf={csrf}")).await;
            let shown = if r.status == 303 { follow(t, &r, &admin).await.text } else { r.text };
            assert!(shown.contains("nothing here") || shown.contains("not found"), "{missing}: {shown}");
        }
        let chief = t.get("/api/v1/users").await.expect(200)["items"].as_array().unwrap().iter()
            .find(|u| u["email"] == "chief@test.example").unwrap()["id"].as_str().unwrap().to_string();
        let none = form(t, &format!("/users/{chief}/two-factor/reset"), &admin, &format!("csrf={csrf}")).await;
        assert!(follow(t, &none, &admin).await.text.contains("does not use two-factor sign-in"));

        let done = form(t, &path, &admin, &format!("csrf={csrf}")).await;
        assert_eq!(done.status, 303);
        assert!(follow(t, &done, &admin).await.text.contains("Two-factor sign-in is off for ava@test.example"));
        assert_eq!(page(t, "/login/two-factor", &pending).await.headers["location"], "/login?done=expired", "a waiting sign-in ends");
        assert!(sign_in(t, "ava@test.example", PASSWORD).await.is_ok(), "the password alone signs in");
        assert!(audit_actions(t, &id).await.0.contains(&"reset_two_factor".to_string()));
    }
}

/// An `/api/v1/account/two-factor…` call with a session cookie and, when given, the CSRF
/// header.
async fn account_api(
    t: &TestApp,
    method: Method,
    path: &str,
    session: &str,
    csrf: Option<&str>,
    body: Option<serde_json::Value>,
) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/api/v1/account/two-factor{path}"))
        .header(header::COOKIE, session);
    if let Some(csrf) = csrf {
        req = req.header("x-csrf-token", csrf);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    t.send_request(req).await
}

fn codes_of(body: &serde_json::Value) -> Vec<String> {
    body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

both_databases! {
    async fn the_api_enrols_regenerates_codes_and_disables_with_current_codes_only(t) {
        let user = t.app.create_user(t.agency_id, "ava@test.example", Role::Officer, PASSWORD, None).await.unwrap();
        let session = sign_in(t, "ava@test.example", PASSWORD).await.map_err(|r| r.text).unwrap();
        let status = account_api(t, Method::GET, "", &session, None, None).await.expect(200);
        assert_eq!((status["enabled"].as_bool(), status["recovery_codes_left"].as_i64(), status["required"].as_bool()), (Some(false), Some(0), Some(false)));
        let csrf = status["csrf_token"].as_str().unwrap().to_string();
        let csrf = Some(csrf.as_str());

        // Changes need the session's CSRF token, not only the cookie.
        let forged = account_api(t, Method::POST, "/enrolment", &session, None, None).await.problem(403);
        assert!(forged["detail"].as_str().unwrap().contains("X-CSRF-Token"));
        assert_eq!(account_api(t, Method::POST, "/enrolment", &session, Some("wrong"), None).await.status, 403);
        let enrolment = account_api(t, Method::POST, "/enrolment", &session, csrf, None).await.expect(200);
        let secret = enrolment["secret"].as_str().unwrap().to_string();
        let uri = enrolment["otpauth_uri"].as_str().unwrap();
        assert!(uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")) && uri.contains("ava%40test.example"), "{uri}");
        let mut app = Authenticator { key: totp::base32_decode(&secret).unwrap(), last: 0 };

        // Bad input: each a 422 naming its field, and two-factor stays off.
        let code = app.code().await;
        for (body, field_name) in [
            (serde_json::json!({"secret": secret, "code": "12345"}), "code"),
            (serde_json::json!({"secret": secret, "code": app.wrong()}), "code"),
            (serde_json::json!({"secret": "NOT-A-KEY", "code": code}), "secret"),
        ] {
            assert_eq!(account_api(t, Method::POST, "", &session, csrf, Some(body.clone())).await.invalid_fields(), [field_name], "{body}");
        }
        account_api(t, Method::POST, "", &session, csrf, Some(serde_json::json!({"secret": secret, "code": code, "extra": 1}))).await.problem(422);
        assert_eq!(account_api(t, Method::GET, "", &session, None, None).await.expect(200)["enabled"], false);

        // Confirmed with a current code: on, with ten recovery codes shown this once.
        let on = account_api(t, Method::POST, "", &session, csrf, Some(serde_json::json!({"secret": secret, "code": code}))).await.expect(201);
        let first_codes = codes_of(&on);
        assert_eq!(first_codes.len(), 10);
        let status = account_api(t, Method::GET, "", &session, None, None).await.expect(200);
        assert_eq!((status["enabled"].as_bool(), status["recovery_codes_left"].as_i64()), (Some(true), Some(10)));
        account_api(t, Method::POST, "/enrolment", &session, csrf, None).await.problem(409);

        // The code that confirmed is spent: reused within its window it is refused.
        let reused = account_api(t, Method::POST, "/recovery-codes", &session, csrf, Some(serde_json::json!({"code": code}))).await.problem(422);
        assert!(reused["errors"][0]["message"].as_str().unwrap().contains("already used"), "{reused}");
        let fresh = app.code().await;
        let regenerated = codes_of(&account_api(t, Method::POST, "/recovery-codes", &session, csrf, Some(serde_json::json!({"code": fresh}))).await.expect(200));
        assert_eq!(regenerated.len(), 10);
        assert!(regenerated.iter().all(|c| !first_codes.contains(c)), "new codes replace the old");

        // Disabling needs the password and an unspent code.
        let next = app.code().await;
        let refused = account_api(t, Method::POST, "/disable", &session, csrf, Some(serde_json::json!({"password": "not it", "code": fresh}))).await;
        let mut fields = refused.invalid_fields();
        fields.sort();
        assert_eq!(fields, ["code", "password"]);
        assert_eq!(account_api(t, Method::GET, "", &session, None, None).await.expect(200)["enabled"], true);
        let off = account_api(t, Method::POST, "/disable", &session, csrf, Some(serde_json::json!({"password": PASSWORD, "code": next}))).await.expect(200);
        assert_eq!(off["enabled"], false);
        account_api(t, Method::POST, "/recovery-codes", &session, csrf, Some(serde_json::json!({"code": app.code().await}))).await.problem(409);

        let (actions, _) = audit_actions(t, &user.to_string()).await;
        for action in ["enable_two_factor", "regenerate_recovery_codes", "disable_two_factor"] {
            assert!(actions.contains(&action.to_string()), "{action} in {actions:?}");
        }
    }

    async fn every_roles_login_uses_the_account_api_and_tokens_cannot(t) {
        let member = t.post("/api/v1/members", serde_json::json!({"first_name": "Noah", "last_name": "Lee"})).await.expect(201);
        let member_id: credence_app::ids::MemberId = member["id"].as_str().unwrap().parse().unwrap();
        for (email, role, of) in [
            ("admin@test.example", Role::Admin, None),
            ("officer@test.example", Role::Officer, None),
            ("auditor@test.example", Role::Auditor, None),
            ("noah@test.example", Role::Member, Some(member_id)),
        ] {
            t.app.create_user(t.agency_id, email, role, PASSWORD, of).await.unwrap();
            let session = sign_in(t, email, PASSWORD).await.map_err(|r| r.text).unwrap();
            let status = account_api(t, Method::GET, "", &session, None, None).await.expect(200);
            let csrf = status["csrf_token"].as_str().unwrap().to_string();
            let enrolment = account_api(t, Method::POST, "/enrolment", &session, Some(&csrf), None).await.expect(200);
            assert!(enrolment["otpauth_uri"].as_str().unwrap().contains(&email.replace('@', "%40")), "{role:?}");
        }
        // No session: 401; a token of any role: 403, it is no login.
        account_api(t, Method::GET, "", "credence_session=nope", None, None).await.problem(401);
        assert_eq!(t.send(Method::GET, "/api/v1/account/two-factor", None, None).await.status, 401);
        let forbidden = t.send(Method::POST, "/api/v1/account/two-factor/enrolment", Some(&t.admin), None).await.problem(403);
        assert!(forbidden["detail"].as_str().unwrap().contains("API token"));
    }
}
