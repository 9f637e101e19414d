//! Sign-in through an agency's identity provider (#21), against a real OpenID provider: npm's
//! `oidc-provider`, started by each test on loopback (`e2e/oidc-provider.mjs`) with one client
//! and a few people whose login and consent it completes at once. The browser's side —
//! following redirects, keeping the provider's cookies — is done here over plain HTTP; the
//! server's side (discovery, keys, the code exchange) is Credence's own.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use credence_app::Role;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both_databases;
use crate::harness::{Resp, TestApp};
use crate::people_pages::{body, session};
use crate::web_pages::{cookie_of, form, page};

const CLIENT_SECRET: &str = "credence-test-secret";
/// The harness serves at https://credence.test.
const CALLBACK: &str = "https://credence.test/login/oidc/callback";

/// The provider, stopped on drop.
pub(crate) struct Provider {
    child: Child,
    port: u16,
    /// Kept open: node dies of a broken pipe if what it prints has nowhere to go.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Provider {
    pub(crate) fn start() -> Provider {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../e2e/oidc-provider.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .arg(port.to_string())
            .arg(CALLBACK)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node is needed for the OpenID Connect tests");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "oidc-provider did not start; run `npm ci` in e2e/ (bin/test does)"
        );
        Provider {
            child,
            port,
            _stdout: stdout,
        }
    }

    pub(crate) fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sets the agency's provider through the API.
pub(crate) async fn configure(t: &TestApp, p: &Provider, create_accounts: bool) -> Resp {
    t.put(
        "/api/v1/agency/sign-in",
        json!({"name": "Test SSO", "issuer": p.issuer(), "client_id": "credence",
               "client_secret": CLIENT_SECRET, "create_accounts": create_accounts}),
    )
    .await
}

/// A GET to the provider as a browser: answers the status and `Location`, keeping cookies.
async fn provider_get(url: &str, jar: &mut Vec<(String, String)>) -> (u16, Option<String>) {
    let rest = url
        .strip_prefix("http://")
        .expect("the provider is on http");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let cookies: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\nConnection: close\r\n\r\n",
        cookies.join("; ")
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut location = None;
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "location" if value.starts_with('/') => {
                location = Some(format!("http://{host}{value}"))
            }
            "location" => location = Some(value.to_string()),
            "set-cookie" => {
                let pair = value.split(';').next().unwrap_or_default();
                if let Some((k, v)) = pair.split_once('=') {
                    jar.retain(|(name, _)| name != k);
                    if !v.is_empty() {
                        jar.push((k.to_string(), v.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    (status, location)
}

/// Starts a sign-in at Credence: the start's answer and the browser's binding cookie.
async fn start(t: &TestApp, path: &str) -> (Resp, String) {
    let r = page(t, path, "").await;
    assert_eq!(r.status, 303, "{}", r.text);
    let binding = cookie_of(&r, "credence_oidc").expect("the start binds the browser");
    (r, format!("credence_oidc={binding}"))
}

/// Follows the start's redirect through the provider as `who`; answers the callback's path
/// and query at Credence.
async fn through_provider(start: &Resp, who: &str) -> String {
    let mut url = start.headers["location"].to_str().unwrap().to_string();
    let mut jar = Vec::new();
    for _ in 0..8 {
        if let Some(callback) = url.strip_prefix("https://credence.test") {
            return callback.to_string();
        }
        if url.contains("/interaction/") {
            url.push_str(&format!("?as={who}"));
        }
        let (status, location) = provider_get(&url, &mut jar).await;
        url = location.unwrap_or_else(|| panic!("the provider answered {status} at {url}"));
    }
    panic!("the provider never sent the browser back");
}

/// The whole sign-in of `who`, from the start to Credence's answer to the callback.
async fn sign_in_as(t: &TestApp, who: &str) -> Resp {
    let (started, binding) = start(t, "/login/oidc/test").await;
    let callback = through_provider(&started, who).await;
    page(t, &callback, &binding).await
}

fn refusal_text(r: &Resp) -> String {
    r.text
        .split("role=\"alert\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no error on the page: {}", r.text))
        .to_string()
}

async fn audit_actions(t: &TestApp) -> Vec<String> {
    t.get("/api/v1/audit-events?limit=200").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

both_databases! {
    async fn signing_in_through_the_provider_opens_a_session_for_the_matching_login(t) {
        let p = Provider::start();
        // No provider yet: the sign-in page offers passwords only.
        assert!(!page(t, "/login", "").await.text.contains("Sign in with"));
        let saved = configure(t, &p, false).await.expect(200);
        assert_eq!(saved["client_secret_set"], true);
        assert!(saved.get("client_secret").is_none(), "the secret is never shown: {saved}");
        assert_eq!(saved["redirect_uri"], CALLBACK);
        let login = page(t, "/login?next=/credentials", "").await;
        assert!(login.text.contains("Sign in with Test SSO"), "{}", login.text);
        assert!(login.text.contains("href=\"/login/oidc/test?next=%2Fcredentials\""), "{}", login.text);

        // The provider spells alice's address Alice@Test.Example: matched without regard to case.
        t.app.create_user(t.agency_id, "alice@test.example", Role::Officer, "a long enough password", None).await.unwrap();
        let (started, binding) = start(t, "/login/oidc/test?next=/credentials").await;
        let to = started.headers["location"].to_str().unwrap().to_string();
        assert!(to.starts_with(&format!("{}/auth?", p.issuer())), "{to}");
        for part in ["response_type=code", "client_id=credence", "code_challenge_method=S256", "code_challenge=", "state=", "nonce=", "scope=openid+email+profile"] {
            assert!(to.contains(part), "{part} in {to}");
        }
        let callback = through_provider(&started, "alice").await;
        let done = page(t, &callback, &binding).await;
        assert_eq!(done.status, 303, "{}", done.text);
        assert_eq!(done.headers["location"], "/credentials");
        let session = format!("credence_session={}", cookie_of(&done, "credence_session").unwrap());
        let home = page(t, "/", &session).await;
        assert_eq!(home.status, 200);
        assert!(home.text.contains("alice@test.example"), "{}", home.text);

        let events = t.get("/api/v1/audit-events?limit=200").await.expect(200);
        let sign_in = events["items"].as_array().unwrap().iter()
            .find(|e| e["action"] == "sign_in").expect("a sign-in event");
        assert_eq!(sign_in["after"]["method"], "oidc");
        assert_eq!(sign_in["after"]["issuer"], p.issuer());
        assert_eq!(sign_in["actor"], "user:alice@test.example");
        assert!(audit_actions(t).await.contains(&"configure_sign_in".to_string()));

        // The same callback again: the sign-in was used, so nothing opens.
        let again = page(t, &callback, &binding).await;
        assert_eq!(again.status, 403);
        assert!(refusal_text(&again).contains("already used"), "{}", again.text);
        assert!(cookie_of(&again, "credence_session").is_none());
    }

    async fn refused_sign_ins_say_why_and_open_no_session(t) {
        let p = Provider::start();
        configure(t, &p, false).await.expect(200);
        t.app.create_user(t.agency_id, "alice@test.example", Role::Officer, "a long enough password", None).await.unwrap();
        let refused = |r: &Resp| {
            assert_eq!(r.status, 403, "{}", r.text);
            assert!(cookie_of(r, "credence_session").is_none());
            refusal_text(r)
        };

        // A state nobody issued.
        let (started, binding) = start(t, "/login/oidc/test").await;
        let callback = through_provider(&started, "alice").await;
        let forged = callback.replace("state=", "state=forged");
        assert!(refused(&page(t, &forged, &binding).await).contains("state does not match"));

        // The right state from another browser (no binding cookie): refused, and used up.
        assert!(refused(&page(t, &callback, "").await).contains("another browser"));
        assert!(refused(&page(t, &callback, &binding).await).contains("already used"));

        // A code already exchanged, brought back with a new sign-in's state: the provider
        // refuses it.
        let (first, first_binding) = start(t, "/login/oidc/test").await;
        let first_callback = through_provider(&first, "alice").await;
        assert_eq!(page(t, &first_callback, &first_binding).await.status, 303);
        let (second, second_binding) = start(t, "/login/oidc/test").await;
        let second_callback = through_provider(&second, "alice").await;
        let code = |c: &str| c.split("code=").nth(1).unwrap().split('&').next().unwrap().to_string();
        let replayed = second_callback.replace(&code(&second_callback), &code(&first_callback));
        let r = page(t, &replayed, &second_binding).await;
        assert!(refused(&r).contains("refused to exchange the sign-in code (invalid_grant"), "{}", r.text);

        // An ID token with another nonce than this sign-in's.
        let (started, binding) = start(t, "/login/oidc/test").await;
        let callback = through_provider(&started, "alice").await;
        let mut tx = t.app.store.begin().await.unwrap();
        credence_store::query("UPDATE oidc_sign_ins SET nonce = 'not-the-one-sent'").execute(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        assert!(refused(&page(t, &callback, &binding).await).contains("nonce does not match"));

        // An address the provider has not verified.
        assert!(refused(&sign_in_as(t, "una").await).contains("has not verified the e-mail address una@test.example"));
        // A verified address without a login, and the agency does not create them.
        assert!(refused(&sign_in_as(t, "stranger").await).contains("no login for stranger@test.example"));

        // The provider's own refusal (the person cancelled).
        let (started, binding) = start(t, "/login/oidc/test").await;
        let location = started.headers["location"].to_str().unwrap();
        let state = location.split("state=").nth(1).unwrap().split('&').next().unwrap();
        let cancelled = format!("/login/oidc/callback?error=access_denied&error_description=End-User+aborted&state={state}");
        assert!(refused(&page(t, &cancelled, &binding).await).contains("did not sign you in (access_denied: End-User aborted)"));

        let actions = audit_actions(t).await;
        assert!(actions.iter().filter(|a| *a == "sign_in_refused").count() >= 5, "{actions:?}");
        assert_eq!(actions.iter().filter(|a| *a == "sign_in").count(), 1, "only the one good sign-in");
    }

    async fn an_agency_that_allows_it_gets_member_logins_for_its_members_addresses(t) {
        let p = Provider::start();
        configure(t, &p, true).await.expect(200);
        let member = t.post("/api/v1/members", json!({"first_name": "Mem", "last_name": "Ber", "email": "Member@Test.example"})).await.expect(201);
        let done = sign_in_as(t, "member").await;
        assert_eq!(done.status, 303, "{}", done.text);
        assert_eq!(done.headers["location"], "/me");
        let users = t.get("/api/v1/users").await.expect(200);
        let made = users["items"].as_array().unwrap().iter()
            .find(|u| u["email"] == "member@test.example").expect("a login was made");
        assert_eq!(made["role"], "member");
        assert_eq!(made["member_id"], member["id"]);
        // A second sign-in uses that login.
        assert_eq!(sign_in_as(t, "member").await.status, 303);
        assert_eq!(t.get("/api/v1/users").await.expect(200)["items"].as_array().unwrap().len(), users["items"].as_array().unwrap().len());

        // No member has the stranger's address: still no login.
        let r = sign_in_as(t, "stranger").await;
        assert_eq!(r.status, 403);
        assert!(refusal_text(&r).contains("no member of this agency has that e-mail address"), "{}", r.text);

        // The address is another agency's login: not this agency's to use or copy, even for
        // a member with that address here.
        let other = t.app.create_agency("Other County EMS", Some("other"), "UTC").await.unwrap();
        t.app.create_user(other.id, "stranger@test.example", Role::Officer, "a long enough password", None).await.unwrap();
        t.post("/api/v1/members", json!({"first_name": "Stran", "last_name": "Ger", "email": "stranger@test.example"})).await.expect(201);
        let r = sign_in_as(t, "stranger").await;
        assert_eq!(r.status, 403);
        assert!(refusal_text(&r).contains("no login for stranger@test.example at this agency"), "{}", r.text);
    }

    async fn a_provider_that_cannot_be_reached_is_a_clear_error(t) {
        let mut p = Provider::start();
        configure(t, &p, false).await.expect(200);
        p.stop();
        let r = page(t, "/login/oidc/test", "").await;
        assert_eq!(r.status, 503, "{}", r.text);
        let why = refusal_text(&r);
        assert!(why.contains("the discovery document at") && why.contains("could not be reached"), "{why}");
        assert!(r.text.contains("name=\"password\""), "passwords still work from the same page");
        // Saving a provider that cannot be reached is refused on its issuer, and changes nothing.
        let before = t.get("/api/v1/agency/sign-in").await.expect(200);
        let bad = t.put("/api/v1/agency/sign-in", json!({"name": "Other", "issuer": "http://127.0.0.1:9", "client_id": "x", "client_secret": "y"})).await;
        assert_eq!(bad.invalid_fields(), ["issuer"]);
        assert_eq!(t.get("/api/v1/agency/sign-in").await.expect(200), before);
        // An agency nobody has, and one without a provider.
        assert_eq!(page(t, "/login/oidc/nowhere", "").await.status, 404);
        t.delete("/api/v1/agency/sign-in").await;
        let r = page(t, "/login/oidc/test", "").await;
        assert_eq!(r.status, 403);
        assert!(refusal_text(&r).contains("does not sign in through an identity provider"));
    }

    async fn the_provider_settings_check_their_fields_and_never_show_the_secret(t) {
        assert_eq!(t.get("/api/v1/agency/sign-in").await.status, 404);
        let p = Provider::start();
        let bad = t.put("/api/v1/agency/sign-in", json!({"name": "", "issuer": "http://login.example.org", "client_id": "", "client_secret": ""})).await;
        assert_eq!(bad.invalid_fields(), ["name", "issuer", "client_id", "client_secret"]);
        let unknown = t.put("/api/v1/agency/sign-in", json!({"name": "x", "issuer": p.issuer(), "client_id": "c", "client_secret": "s", "admin": true})).await;
        assert_eq!(unknown.status, 422);
        // The provider names itself without the trailing slash typed here.
        let slash = t.put("/api/v1/agency/sign-in", json!({"name": "x", "issuer": format!("{}/", p.issuer()), "client_id": "c", "client_secret": "s"})).await;
        assert!(slash.problem(422).to_string().contains("names itself"));
        assert_eq!(t.get("/api/v1/agency/sign-in").await.status, 404, "nothing was saved");

        let saved = configure(t, &p, false).await.expect(200);
        // Changing the name keeps the stored secret; a stale version is a 409.
        let renamed = t.put("/api/v1/agency/sign-in", json!({"version": saved["version"], "name": "County SSO", "issuer": p.issuer(), "client_id": "credence"})).await.expect(200);
        assert_eq!(renamed["name"], "County SSO");
        assert_eq!(renamed["client_secret_set"], true);
        let stale = t.put("/api/v1/agency/sign-in", json!({"version": saved["version"], "name": "Again", "issuer": p.issuer(), "client_id": "credence"})).await;
        assert_eq!(stale.status, 409);
        // The secret kept still signs in.
        t.app.create_user(t.agency_id, "alice@test.example", Role::Officer, "a long enough password", None).await.unwrap();
        assert_eq!(sign_in_as(t, "alice").await.status, 303);
        let events = t.get("/api/v1/audit-events?limit=200").await.expect(200);
        let text = events.to_string();
        assert!(!text.contains(CLIENT_SECRET), "the secret is not in the audit log");
        assert!(text.contains("\"client_secret_changed\":false"));
        assert_eq!(t.delete("/api/v1/agency/sign-in").await.status, 204);
        assert_eq!(t.delete("/api/v1/agency/sign-in").await.status, 404);
        assert!(audit_actions(t).await.contains(&"remove_sign_in".to_string()));
    }

    async fn admins_set_the_provider_on_its_page_with_the_csrf_token(t) {
        let p = Provider::start();
        let (cookie, csrf) = session(t, "chief@test.example", Role::Admin, None).await;
        let empty = page(t, "/settings/sign-in", &cookie).await;
        assert_eq!(empty.status, 200);
        assert!(empty.text.contains(CALLBACK), "the redirect URI to register");
        let issuer = p.issuer();
        let fields = [("name", "County <SSO>"), ("issuer", issuer.as_str()), ("client_id", "credence"), ("client_secret", CLIENT_SECRET)];
        // Without the session's token nothing is saved.
        let forged = form(t, "/settings/sign-in", &cookie, &body("forged", &fields)).await;
        assert_eq!(forged.status, 400);
        assert_eq!(t.get("/api/v1/agency/sign-in").await.status, 404);
        // A field in error comes back as typed, the secret not.
        let bad = form(t, "/settings/sign-in", &cookie, &body(&csrf, &[("name", "County SSO"), ("issuer", "http://login.example.org"), ("client_id", "credence"), ("client_secret", CLIENT_SECRET)])).await;
        assert_eq!(bad.status, 422);
        assert!(bad.text.contains("must use https") && bad.text.contains("value=\"http://login.example.org\""));
        assert!(!bad.text.contains(CLIENT_SECRET));
        let saved = form(t, "/settings/sign-in", &cookie, &body(&csrf, &fields)).await;
        assert_eq!(saved.status, 303, "{}", saved.text);
        let shown = page(t, "/settings/sign-in", &cookie).await;
        assert!(shown.text.contains("County &#60;SSO&#62;"), "escaped: {}", shown.text);
        assert!(!shown.text.contains(CLIENT_SECRET), "the secret is never shown");
        assert!(shown.text.contains("A secret is stored"));
        assert!(page(t, "/login", "").await.text.contains("Sign in with County &#60;SSO&#62;"));
        // Other roles may not change it (the page's role matrix is in people_pages.rs).
        let (officer, officer_csrf) = session(t, "officer@test.example", Role::Officer, None).await;
        assert_eq!(form(t, "/settings/sign-in", &officer, &body(&officer_csrf, &fields)).await.status, 403);
        assert_eq!(page(t, "/settings/sign-in", &officer).await.status, 403);
        let removed = form(t, "/settings/sign-in/remove", &cookie, &body(&csrf, &[])).await;
        assert_eq!(removed.status, 303);
        assert_eq!(t.get("/api/v1/agency/sign-in").await.status, 404);
    }
}
