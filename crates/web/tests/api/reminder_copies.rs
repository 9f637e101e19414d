//! Reminders copied to supervisors (#16): with the agency's `copy_supervisors` on, each
//! reminder also goes to the member's supervisor, once per credential and threshold whatever
//! the number of passes or instances, at the type's own thresholds when it sets them, and
//! over real SMTP.

use credence_app::{App, Clock};
use serde_json::{json, Value};

use crate::both_databases;
use crate::harness::TestApp;
use crate::keeping_current::SmtpServer;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn published(t: &TestApp, code: &str, reminder_days: Option<Value>) -> String {
    let mut body = json!({"code": code, "name": code, "validity_months": 24, "renewal": "manual"});
    if let Some(days) = reminder_days {
        body["reminder_days"] = days;
    }
    let ty = id(&t.post("/api/v1/credential-types", body).await.expect(201));
    t.post(&format!("/api/v1/credential-types/{ty}/publish"), json!({}))
        .await
        .expect(200);
    ty
}

async fn member(t: &TestApp, first: &str, email: Option<&str>, supervisor: Option<&str>) -> String {
    let m = t
        .post(
            "/api/v1/members",
            json!({"first_name": first, "last_name": "Smith",
        "email": email, "supervisor_member_id": supervisor}),
        )
        .await
        .expect(201);
    id(&m)
}

async fn holding(t: &TestApp, ty: &str, member: &str, expiration: &str) {
    t.post(
        "/api/v1/assignments",
        json!({"credential_type_id": ty, "mode": "active_with_period",
        "issue_date": "2024-01-01", "expiration_date": expiration, "member_ids": [member]}),
    )
    .await
    .expect(200);
}

async fn outbox(t: &TestApp) -> Vec<String> {
    let items = t.get("/api/v1/outbox?limit=500").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone();
    let mut out: Vec<String> = items
        .iter()
        .map(|m| {
            format!(
                "{} | {}",
                m["to"].as_str().unwrap(),
                m["subject"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

both_databases! {
    async fn supervisors_get_one_copy_of_each_reminder_when_the_agency_says_so(t) {
        let cpr = published(t, "CPR", None).await;
        let haz = published(t, "HAZ", Some(json!([14]))).await;
        let sam = member(t, "Sam", Some("sam@station1.test"), None).await;
        let quiet = member(t, "Noor", None, None).await;
        let ava = member(t, "Ava", Some("ava@station1.test"), Some(&sam)).await;
        let emma = member(t, "Emma", None, Some(&sam)).await;
        let liam = member(t, "Liam", Some("liam@station1.test"), Some(&quiet)).await;
        let zoe = member(t, "Zoe", Some("zoe@station1.test"), Some(&sam)).await;
        holding(t, &cpr, &ava, "2026-03-20").await;   // 19 days: the agency's 30
        holding(t, &haz, &emma, "2026-03-10").await;  // 9 days: the type's own 14
        holding(t, &cpr, &liam, "2026-03-20").await;  // a supervisor without an address
        holding(t, &haz, &zoe, "2026-03-20").await;   // 19 days: not yet at the type's 14

        // Off (the default): members only.
        assert_eq!(t.app.queue_reminders(t.agency_id).await.unwrap(), 2);
        assert_eq!(outbox(t).await, [
            "ava@station1.test | CPR expires on 2026-03-20",
            "liam@station1.test | CPR expires on 2026-03-20",
        ]);

        let agency = t.get("/api/v1/agency").await.expect(200);
        t.patch("/api/v1/agency", json!({"version": agency["version"], "copy_supervisors": true})).await.expect(200);
        // The copies of today's reminders, the one of a member without an address too; the
        // members' own are not sent again.
        assert_eq!(t.app.queue_reminders(t.agency_id).await.unwrap(), 2);
        assert_eq!(outbox(t).await, [
            "ava@station1.test | CPR expires on 2026-03-20",
            "liam@station1.test | CPR expires on 2026-03-20",
            "sam@station1.test | Ava Smith: CPR expires on 2026-03-20",
            "sam@station1.test | Emma Smith: HAZ expires on 2026-03-10",
        ]);
        // Once, whatever the number of passes or instances.
        assert_eq!(t.app.queue_reminders(t.agency_id).await.unwrap(), 0);
        let other_instance = App::new(t.app.store.clone(), Clock::fixed("2026-03-01".parse().unwrap()));
        assert_eq!(other_instance.queue_reminders(t.agency_id).await.unwrap(), 0);
        // A new supervisor does not get the same threshold again.
        let ava_now = t.get(&format!("/api/v1/members/{ava}")).await.expect(200);
        t.patch(&format!("/api/v1/members/{ava}"), json!({"version": ava_now["version"], "supervisor_member_id": zoe})).await.expect(200);
        assert_eq!(t.app.queue_reminders(t.agency_id).await.unwrap(), 0);

        let smtp = SmtpServer::start();
        let mailer = credence_app::notify::reminders::Mailer::from_url(&format!("smtp://127.0.0.1:{}", smtp.port), "credence@test.example").unwrap();
        let sender = App::new(t.app.store.clone(), Clock::fixed("2026-03-01".parse().unwrap())).with_mailer(mailer);
        assert_eq!(sender.deliver_outbox().await.unwrap(), 4);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(smtp.subjects(), [
            "ava@station1.test | CPR expires on 2026-03-20",
            "liam@station1.test | CPR expires on 2026-03-20",
            "sam@station1.test | Ava Smith: CPR expires on 2026-03-20",
            "sam@station1.test | Emma Smith: HAZ expires on 2026-03-10",
        ]);
        let copy = smtp.messages().into_iter().find(|m| m.contains("Emma Smith: HAZ")).unwrap();
        assert!(copy.contains("as Emma Smith's supervisor") && copy.contains("Emma Smith's HAZ credential expires on 2026-03-10."), "{copy}");

        // Eleven days later Zoe reaches her type's 14 days: she and her supervisor get one
        // each; Emma's has lapsed.
        let later = App::new(t.app.store.clone(), Clock::fixed("2026-03-12".parse().unwrap()));
        let before = outbox(t).await;
        later.queue_reminders(t.agency_id).await.unwrap();
        let now = outbox(t).await;
        let new: Vec<&str> = now.iter().filter(|m| !before.contains(m)).map(String::as_str).collect();
        assert_eq!(new, [
            "sam@station1.test | Emma Smith: HAZ has expired",
            "sam@station1.test | Zoe Smith: HAZ expires on 2026-03-20",
            "zoe@station1.test | HAZ expires on 2026-03-20",
        ], "Emma's lapse goes to her supervisor only; Ava's 30 days went already, to Sam");
    }
}
