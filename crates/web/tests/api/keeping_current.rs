//! Keeping credentials current: the renewal planner of seed 001, reminders delivered to a
//! real SMTP server (aiosmtpd, started here), and the compliance summary.

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::Duration;

use axum::http::Method;
use credence_app::{App, Clock, Role};
use serde_json::{json, Value};

use crate::both_databases;
use crate::harness::TestApp;
use crate::members::create_member;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn emt(t: &TestApp) -> String {
    let ty = t
        .post(
            "/api/v1/credential-types",
            json!({"code": "EMT-B", "name": "EMT-Basic", "validity_months": 24,
        "requirements": [{"kind": "hours", "hours": 24, "category": "CE"}]}),
        )
        .await
        .expect(201);
    t.post(
        &format!("/api/v1/credential-types/{}/publish", id(&ty)),
        json!({}),
    )
    .await
    .expect(200);
    id(&ty)
}

async fn holding(t: &TestApp, ty: &str, member: &str, issue: &str, expiration: &str) -> String {
    t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "active_with_period", "issue_date": issue, "expiration_date": expiration, "member_ids": [member]}))
        .await.expect(200)["created"][0].as_str().unwrap().to_string()
}

/// An SMTP server that stores what it receives in a maildir; stopped on drop.
pub(crate) struct SmtpServer {
    child: Child,
    pub(crate) port: u16,
    maildir: std::path::PathBuf,
}

impl SmtpServer {
    pub(crate) fn start() -> SmtpServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir =
            std::env::temp_dir().join(format!("credence-mail-{port}-{}", rand::random::<u32>()));
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .spawn()
            .expect(
                "python3 with aiosmtpd is needed for the reminder tests (pip install aiosmtpd)",
            );
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return SmtpServer {
                    child,
                    port,
                    maildir,
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not start; install it with: python3 -m pip install aiosmtpd");
    }

    /// The raw text of every message received.
    pub(crate) fn messages(&self) -> Vec<String> {
        std::fs::read_dir(self.maildir.join("new"))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Subject lines of the messages received, sorted.
    pub(crate) fn subjects(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) {
            for e in entries.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let to = text
                    .lines()
                    .find_map(|l| l.strip_prefix("To: "))
                    .unwrap_or("")
                    .to_string();
                let subject = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Subject: "))
                    .unwrap_or("")
                    .to_string();
                out.push(format!("{to} | {subject}"));
            }
        }
        out.sort();
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

both_databases! {
    async fn seed_001_renew_expired_and_expiring_in_one_step(t) {
        let ty = emt(t).await;
        let a = id(&create_member(t, "Ava", "Smith").await);
        let b = id(&create_member(t, "Liam", "Brown").await);
        let c = id(&create_member(t, "Noah", "Lee").await);
        let expired = holding(t, &ty, &a, "2023-12-01", "2025-12-01").await;
        let expiring = holding(t, &ty, &b, "2024-03-31", "2026-03-31").await;
        let later = holding(t, &ty, &c, "2025-09-30", "2026-09-30").await;

        // "Suggestions for new dates": due 14 days before each credential's expiration.
        let path = format!("/api/v1/credential-types/{ty}/renewal-candidates?within_days=90&logic=relative&period_days=90&due_days_before=14");
        let list = t.get(&path).await.expect(200);
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "the one expiring in September is not offered");
        assert_eq!((items[0]["credential_id"].as_str().unwrap(), items[0]["status"].as_str().unwrap()), (expired.as_str(), "overdue"));
        assert_eq!(items[0]["suggested"], json!({"period_start": "2026-03-01", "period_end": "2026-05-30", "due_date": "2026-05-16"}));
        assert_eq!(items[1]["suggested"], json!({"period_start": "2026-03-01", "period_end": "2026-03-31", "due_date": "2026-03-17"}));
        assert!(list["plan_id"].is_null());
        // "Same assignment start/end dates for all".
        let same = t.get(&format!("/api/v1/credential-types/{ty}/renewal-candidates?logic=same_dates&period_start=2026-04-01&period_end=2026-06-30")).await.expect(200);
        assert!(same["items"].as_array().unwrap().iter().all(|i| i["suggested"] == json!({"period_start": "2026-04-01", "period_end": "2026-06-30", "due_date": "2026-06-30"})));

        // Preview, then renew: one accepted as suggested, one edited.
        let body = json!({"credential_type_id": ty, "items": [
            {"credential_id": expired, "period_start": "2026-03-01", "period_end": "2026-05-30", "due_date": "2026-05-16"},
            {"credential_id": expiring, "period_start": "2026-03-01", "period_end": "2026-04-30", "due_date": "2026-04-15"}
        ]});
        let mut preview = body.clone();
        preview["dry_run"] = json!(true);
        let dry = t.post("/api/v1/renewal-plans", preview).await.expect(200);
        assert_eq!((dry["dry_run"].as_bool(), dry["renewed"].as_array().unwrap().len()), (Some(true), 2));
        assert_eq!(t.get(&format!("/api/v1/credentials/{expired}")).await.expect(200)["status"], "overdue", "a dry run writes nothing");

        let plan = t.post("/api/v1/renewal-plans", body).await.expect(201);
        let plan_id = plan["plan_id"].as_str().unwrap().to_string();
        let renewed = t.get(&format!("/api/v1/credentials/{expired}")).await.expect(200);
        assert_eq!(renewed["open_period"], json!({"start": "2026-03-01", "end": "2026-05-30", "due_date": "2026-05-16"}));
        assert_eq!(renewed["status"], "not_started");
        let edited = t.get(&format!("/api/v1/credentials/{expiring}")).await.expect(200);
        assert_eq!((edited["status"].as_str(), edited["open_period"]["due_date"].as_str()), (Some("active_renewal_in_progress"), Some("2026-04-15")));

        // Renewing another credential later joins the same plan.
        let again = t.post("/api/v1/renewal-plans", json!({"credential_type_id": ty, "items": [
            {"credential_id": later, "period_start": "2026-06-01", "period_end": "2026-09-30"}]})).await.expect(201);
        assert_eq!(again["plan_id"], plan_id.as_str());
        let view = t.get(&format!("/api/v1/renewal-plans/{plan_id}")).await.expect(200);
        assert_eq!(view["members"].as_array().unwrap().len(), 3);
        assert_eq!(t.get(&format!("/api/v1/credential-types/{ty}/renewal-candidates")).await.expect(200)["plan_id"], plan_id.as_str());

        // Bad input: due after the end, another type's credential, another agency.
        let fields = t.post("/api/v1/renewal-plans", json!({"credential_type_id": ty, "items": [
            {"credential_id": expired, "period_start": "2026-03-01", "period_end": "2026-05-30", "due_date": "2026-06-30"}]})).await.invalid_fields();
        assert_eq!(fields, ["items[0].due_date"]);
        let other_ty = t.post("/api/v1/credential-types", json!({"code": "X", "name": "X"})).await.expect(201);
        let fields = t.post("/api/v1/renewal-plans", json!({"credential_type_id": id(&other_ty), "items": [
            {"credential_id": expired, "period_start": "2026-03-01", "period_end": "2026-05-30"}]})).await.invalid_fields();
        assert_eq!(fields, ["items[0].credential_id"]);
        let other = t.other_agency_admin().await;
        t.send(Method::GET, &format!("/api/v1/renewal-plans/{plan_id}"), Some(&other), None).await.problem(404);
        t.send(Method::GET, &format!("/api/v1/credential-types/{ty}/renewal-candidates"), Some(&other), None).await.problem(404);
        let fields = t.send(Method::POST, "/api/v1/renewal-plans", Some(&other), Some(json!({"credential_type_id": ty, "items": [
            {"credential_id": expired, "period_start": "2026-03-01", "period_end": "2026-05-30"}]}))).await.invalid_fields();
        assert_eq!(fields, ["credential_type_id"]);
    }

    async fn a_planned_credential_is_renewed_again_only_with_replace(t) {
        let ty = emt(t).await;
        let a = id(&create_member(t, "Ava", "Smith").await);
        let expired = holding(t, &ty, &a, "2023-12-01", "2025-12-01").await;
        let item = |replace: Option<bool>| json!({"credential_type_id": ty, "items": [
            {"credential_id": expired, "period_start": "2026-03-01", "period_end": "2026-05-30", "replace": replace}]});
        t.post("/api/v1/renewal-plans", item(None)).await.expect(201);
        let listed = t.get(&format!("/api/v1/credential-types/{ty}/renewal-candidates")).await.expect(200);
        assert_eq!(listed["items"][0]["planned"], true, "the planner shows it as planned");

        // A second click renews nothing: the period it has stays.
        let again = t.post("/api/v1/renewal-plans", item(None)).await.expect(201);
        assert!(again["renewed"].as_array().unwrap().is_empty());
        assert_eq!(again["skipped"], json!([{"id": expired, "reason": "already_planned"}]));
        let periods = |c: Value| c["periods"].as_array().unwrap().len();
        assert_eq!(periods(t.get(&format!("/api/v1/credentials/{expired}")).await.expect(200)), 2);

        // An explicit replace renews it again.
        let replaced = t.post("/api/v1/renewal-plans", item(Some(true))).await.expect(201);
        assert_eq!(replaced["renewed"], json!([expired]));
        assert_eq!(periods(t.get(&format!("/api/v1/credentials/{expired}")).await.expect(200)), 3);
    }

    async fn the_planner_preview_keeps_every_setting_and_shows_each_row(t) {
        let ty = emt(t).await;
        let a = id(&create_member(t, "Ava", "Smith").await);
        let b = id(&create_member(t, "Liam", "Brown").await);
        let expired = holding(t, &ty, &a, "2023-12-01", "2025-12-01").await;
        let expiring = holding(t, &ty, &b, "2024-03-31", "2026-03-31").await;
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let cookie = crate::web_pages::sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let address = format!("/renewals?credential_type_id={ty}&within_days=120&logic=same_dates&period_start=2026-04-01&period_end=2026-06-30");
        let shown = crate::web_pages::page(t, &address, &cookie).await;
        let csrf = shown.text.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_string();

        // Ava's dates edited, Liam unticked; Preview.
        let back = address.replace('&', "%26").replace('=', "%3D").replace('?', "%3F");
        let body = format!("csrf={csrf}&credential_type_id={ty}&back={back}&mode=preview\
            &chosen={expired}&credential_id={expired}&period_start=2026-04-15&period_end=2026-07-15&due_date=2026-07-01\
            &credential_id={expiring}&period_start=2026-04-01&period_end=2026-06-30&due_date=2026-06-30");
        let preview = crate::web_pages::form(t, "/renewals", &cookie, &body).await;
        assert_eq!(preview.status, 200, "the preview is the page itself, not a redirect");
        let html = &preview.text;
        assert!(html.contains(r#"value="2026-04-15""#) && html.contains(r#"value="2026-07-01""#), "edited dates kept");
        assert!(html.contains(r#"<option value="same_dates" selected>"#), "logic kept");
        assert!(html.contains(r#"value="120""#), "window kept");
        assert!(html.contains("Will be renewed") && html.contains("Not chosen"));
        assert!(!html.contains(&format!(r#"name="chosen" value="{expiring}" checked"#)), "Liam stays unticked");
        assert!(html.contains(&format!(r#"name="chosen" value="{expired}" checked"#)));
        assert!(html.contains("Nothing was changed"));
        assert_eq!(t.get(&format!("/api/v1/credentials/{expired}")).await.expect(200)["status"], "overdue", "a preview writes nothing");

        // Renew: back on the same view; Ava now shows as planned and unticked.
        let renew = crate::web_pages::form(t, "/renewals", &cookie, &body.replace("mode=preview", "mode=renew")).await;
        assert_eq!(renew.status, 303);
        assert_eq!(renew.headers["location"], address.as_str());
        let after = crate::web_pages::page(t, &address, &cookie).await;
        assert!(after.text.contains(r#"<span class="badge soon">Planned</span>"#));
        assert!(!after.text.contains(&format!(r#"name="chosen" value="{expired}" checked"#)));
        let renewed = t.get(&format!("/api/v1/credentials/{expired}")).await.expect(200);
        assert_eq!(renewed["open_period"]["due_date"], "2026-07-01");
    }

    async fn reminders_reach_members_and_admins_once(t) {
        let ty = emt(t).await;
        let ava = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "email": "ava@station1.test"})).await.expect(201);
        let liam = t.post("/api/v1/members", json!({"first_name": "Liam", "last_name": "Brown", "email": "liam@station1.test"})).await.expect(201);
        let noah = t.post("/api/v1/members", json!({"first_name": "Noah", "last_name": "Lee", "email": "noah@station1.test"})).await.expect(201);
        t.app.create_user(t.agency_id, "chief@station1.test", Role::Admin, "a long enough password", None).await.unwrap();
        holding(t, &ty, &id(&ava), "2024-03-31", "2026-03-31").await;          // 30 days out
        holding(t, &ty, &id(&liam), "2024-02-26", "2026-02-26").await;         // lapsed 3 days ago
        holding(t, &ty, &id(&noah), "2025-01-01", "2027-01-01").await;         // far away
        let emma = t.post("/api/v1/members", json!({"first_name": "Emma", "last_name": "Garcia", "email": "emma@station1.test"})).await.expect(201);
        t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-03-08", "member_ids": [id(&emma)]})).await.expect(200);

        assert_eq!(t.app.queue_reminders(t.agency_id).await.unwrap(), 4, "three members and one admin digest");
        assert_eq!(t.app.queue_reminders(t.agency_id).await.unwrap(), 0, "a second pass the same day sends nothing");
        let outbox = t.get("/api/v1/outbox?status=queued").await.expect(200);
        assert_eq!(outbox["items"].as_array().unwrap().len(), 4);

        // An unreachable server: nothing is lost, nothing is sent twice, retried later.
        let down = App::new(t.app.store.clone(), Clock::fixed("2026-03-01".parse().unwrap()))
            .with_mailer(credence_app::notify::reminders::Mailer::from_url("smtp://127.0.0.1:1", "credence@test.example").unwrap());
        assert_eq!(down.deliver_outbox().await.unwrap(), 0);
        let queued = t.get("/api/v1/outbox?status=queued").await.expect(200);
        assert!(queued["items"].as_array().unwrap().iter().any(|m| m["attempts"] == 1 && m["last_error"].is_string()));

        let smtp = SmtpServer::start();
        let mailer = || credence_app::notify::reminders::Mailer::from_url(&format!("smtp://127.0.0.1:{}", smtp.port), "credence@test.example").unwrap();
        let up = App::new(t.app.store.clone(), Clock::fixed("2026-03-01".parse().unwrap())).with_mailer(mailer());
        // Messages that failed wait for their backoff; make them due now.
        let mut tx = t.app.store.begin().await.unwrap();
        credence_store::query("UPDATE outbox SET next_attempt_at = created_at").execute(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(up.deliver_outbox().await.unwrap(), 4);
        assert_eq!(up.deliver_outbox().await.unwrap(), 0, "each message goes once");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(smtp.subjects(), [
            "ava@station1.test | EMT-Basic expires on 2026-03-31",
            "chief@station1.test | Credential reminders for 2026-03-01",
            "emma@station1.test | EMT-Basic training is due on 2026-03-08",
            "liam@station1.test | EMT-Basic has expired",
        ]);
        let sent = t.get("/api/v1/outbox?status=sent").await.expect(200);
        assert_eq!(sent["items"].as_array().unwrap().len(), 4);

        // Three weeks later the 7-day reminder is due for Ava; nothing else repeats.
        let later = App::new(t.app.store.clone(), Clock::fixed("2026-03-25".parse().unwrap())).with_mailer(mailer());
        assert_eq!(later.queue_reminders(t.agency_id).await.unwrap(), 2, "Ava's 7-day reminder and a digest");
        assert_eq!(later.deliver_outbox().await.unwrap(), 2);
    }

    async fn compliance_summary_counts_and_lists_gaps(t) {
        let ty = emt(t).await;
        let station = id(&t.post("/api/v1/groups", json!({"name": "Station 1", "kind": "station"})).await.expect(201));
        let a = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "group_ids": [station]})).await.expect(201);
        let b = t.post("/api/v1/members", json!({"first_name": "Liam", "last_name": "Brown", "group_ids": [station]})).await.expect(201);
        let c = id(&create_member(t, "Noah", "Lee").await);
        holding(t, &ty, &id(&a), "2025-01-01", "2027-01-01").await;
        holding(t, &ty, &id(&b), "2024-01-01", "2026-01-01").await;
        t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period", "period_end": "2026-12-31", "member_ids": [c]})).await.expect(200);

        let report = t.get("/api/v1/reports/compliance").await.expect(200);
        assert_eq!(report["on"], "2026-03-01");
        let rows = report["rows"].as_array().unwrap();
        let station_row = rows.iter().find(|r| r["group_id"] == station.as_str()).unwrap();
        assert_eq!((station_row["total"].as_i64(), station_row["compliant"].as_i64(), station_row["compliant_percent"].as_f64()), (Some(2), Some(1), Some(50.0)));
        assert_eq!(station_row["counts"], json!({"active_renewal_in_progress": 1, "overdue": 1}));
        let no_group = rows.iter().find(|r| r["group_id"].is_null()).unwrap();
        assert_eq!(no_group["counts"], json!({"not_started": 1}));
        let gaps: Vec<&str> = report["non_compliant"].as_array().unwrap().iter().map(|g| g["member_name"].as_str().unwrap()).collect();
        assert_eq!(gaps, ["Brown, Liam", "Lee, Noah"]);

        // As of a later day: Ava's credential has expired too.
        let later = t.get(&format!("/api/v1/reports/compliance?group_id={station}&on=2027-02-01")).await.expect(200);
        assert_eq!(later["rows"][0]["compliant"], 0);
        assert_eq!(later["non_compliant"].as_array().unwrap().len(), 2);

        let csv = t.get("/api/v1/reports/compliance?format=csv").await;
        assert_eq!(csv.status, 200);
        assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert!(csv.text.starts_with("group,credential_type,Revoked,"), "{}", csv.text);
        let members_csv = t.get("/api/v1/reports/compliance?format=csv&view=members").await;
        assert_eq!(members_csv.text.lines().count(), 3);
        assert!(members_csv.text.contains("Brown, Liam"));
        assert_eq!(t.get("/api/v1/reports/compliance?format=pdf").await.invalid_fields(), ["format"]);
        let member_token = t.token(Role::Member, Some(&c)).await;
        t.send(Method::GET, "/api/v1/reports/compliance", Some(&member_token), None).await.problem(403);
    }
}
