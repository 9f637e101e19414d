//! The property DESIGN.md asks for: after any sequence of operations, every credential's
//! stored status, progress and `expiring_soon` equal the pure domain functions applied to
//! its history. Random but reproducible sequences (fixed seeds) run on both databases.

use chrono::NaiveDate;
use credence_domain::progress;
use credence_domain::status::{self, CredentialFacts, IssuanceFacts, PeriodFacts};
use serde_json::{json, Value};

use crate::both_databases;
use crate::harness::{TestApp, TODAY};
use crate::members::create_member;

/// A small deterministic generator (xorshift64*), so failures replay exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn date(days_before_today: u64) -> NaiveDate {
    TODAY.parse::<NaiveDate>().unwrap() - chrono::Days::new(days_before_today)
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

struct World {
    members: Vec<String>,
    types: Vec<String>,
    courses: Vec<String>,
}

async fn world(t: &TestApp) -> World {
    let cpr = id(&t.post("/api/v1/courses", json!({"code": "CPR", "name": "CPR", "hours": 4, "category": "Medical", "passing_grade": 80})).await.expect(201));
    let haz = id(&t
        .post(
            "/api/v1/courses",
            json!({"code": "HAZ", "name": "Hazmat", "hours": 8, "category": "Hazmat"}),
        )
        .await
        .expect(201));
    let specs = [
        json!({"code": "AUTO", "name": "Auto renew", "validity_months": 12, "renewal_window_days": 60, "grace_period_days": 10,
               "requirements": [{"kind": "course", "course_id": cpr}, {"kind": "hours", "hours": 6, "category": "CE"}]}),
        json!({"code": "SELF", "name": "Auto issue", "validity_months": 6, "auto_issue": true,
               "requirements": [{"kind": "course", "course_id": haz}]}),
        json!({"code": "MAN", "name": "Manual", "validity_months": 24, "renewal": "manual",
               "requirements": [{"kind": "checklist", "title": "Skills"}, {"kind": "course", "course_id": cpr}]}),
    ];
    let mut types = Vec::new();
    for spec in specs {
        let ty = id(&t.post("/api/v1/credential-types", spec).await.expect(201));
        t.post(&format!("/api/v1/credential-types/{ty}/publish"), json!({}))
            .await
            .expect(200);
        types.push(ty);
    }
    let mut members = Vec::new();
    for (f, l) in [
        ("Ava", "Smith"),
        ("Liam", "Brown"),
        ("Noah", "Lee"),
        ("Emma", "Garcia"),
    ] {
        members.push(id(&create_member(t, f, l).await));
    }
    World {
        members,
        types,
        courses: vec![cpr, haz],
    }
}

async fn credentials(t: &TestApp) -> Vec<Value> {
    t.get("/api/v1/credentials?limit=500").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn step(t: &TestApp, w: &World, rng: &mut Rng) {
    let creds = credentials(t).await;
    match rng.below(9) {
        0 | 1 => {
            let mode = if rng.below(3) == 0 {
                "active_with_period"
            } else {
                "completion_period"
            };
            let body = if mode == "completion_period" {
                json!({"credential_type_id": rng.pick(&w.types), "mode": mode, "period_start": date(rng.below(200) as u64), "period_end": date(0) + chrono::Days::new(rng.below(300) as u64), "member_ids": [rng.pick(&w.members)]})
            } else {
                json!({"credential_type_id": rng.pick(&w.types), "mode": mode, "issue_date": date(rng.below(700) as u64), "member_ids": [rng.pick(&w.members)]})
            };
            t.post("/api/v1/assignments", body).await.expect(200);
        }
        2 | 3 => {
            let body = if rng.below(2) == 0 {
                json!({"member_id": rng.pick(&w.members), "course_id": rng.pick(&w.courses), "completed_on": date(rng.below(150) as u64), "score": 60 + rng.below(41)})
            } else {
                json!({"member_id": rng.pick(&w.members), "completed_on": date(rng.below(150) as u64), "hours": 1 + rng.below(4), "category": "CE"})
            };
            t.post("/api/v1/training-records", body).await.expect(201);
        }
        4 | 8 if !creds.is_empty() => {
            let c = rng.pick(&creds);
            let detail = t
                .get(&format!("/api/v1/credentials/{}", id(c)))
                .await
                .expect(200);
            if let Some(req) = detail["requirements"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["kind"] == "checklist")
            {
                let r = t
                    .post(
                        &format!(
                            "/api/v1/credentials/{}/requirements/{}/sign-off",
                            id(c),
                            req["requirement_id"].as_str().unwrap()
                        ),
                        json!({"signed_on": date(rng.below(100) as u64), "evaluator": "Lt. Test"}),
                    )
                    .await;
                assert!(matches!(r.status.as_u16(), 200 | 409), "{}", r.text);
            }
        }
        5 if !creds.is_empty() => {
            let c = rng.pick(&creds);
            let r = t
                .post(
                    &format!("/api/v1/credentials/{}/issue", id(c)),
                    json!({"issue_date": date(rng.below(30) as u64)}),
                )
                .await;
            assert!(matches!(r.status.as_u16(), 200 | 422), "{}", r.text);
        }
        6 if !creds.is_empty() => {
            let c = rng.pick(&creds);
            let r = t
                .post(
                    &format!("/api/v1/credentials/{}/revoke", id(c)),
                    json!({"reason": "test"}),
                )
                .await;
            assert!(matches!(r.status.as_u16(), 200 | 409), "{}", r.text);
        }
        _ => {
            let r = t.post("/api/v1/renewals", json!({"credential_type_id": w.types[2], "member_ids": [rng.pick(&w.members)],
                "period_start": date(rng.below(60) as u64), "period_end": date(0) + chrono::Days::new(90)})).await;
            r.expect(200);
        }
    }
}

/// Recomputes every credential from its history with the domain functions.
async fn assert_consistent(t: &TestApp) {
    let today: NaiveDate = TODAY.parse().unwrap();
    // The batched details a member page reads equal each credential read alone.
    let actor = t.app.authenticate_token(&t.admin).await.unwrap();
    let batch = t
        .app
        .credential_details(&actor, &Default::default(), 500)
        .await
        .unwrap();
    for d in &batch {
        let alone = t.app.credential(&actor, d.credential.id).await.unwrap();
        assert_eq!(
            serde_json::to_value(d).unwrap(),
            serde_json::to_value(&alone).unwrap()
        );
    }
    for c in credentials(t).await {
        let d = t
            .get(&format!("/api/v1/credentials/{}", id(&c)))
            .await
            .expect(200);
        let date = |v: &Value| v.as_str().map(|s| s.parse::<NaiveDate>().unwrap());
        let latest = d["issuances"]
            .as_array()
            .unwrap()
            .last()
            .map(|i| IssuanceFacts {
                issue_date: date(&i["issue_date"]).unwrap(),
                expiration_date: date(&i["expiration_date"]),
                revoked: i["revoked"].as_bool().unwrap(),
            });
        let open = d["periods"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|p| p["closed"] == false);
        let fractions: Vec<f64> = d["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["fraction"].as_f64().unwrap())
            .collect();
        let expected_progress = match open {
            Some(_) => progress::progress(&fractions),
            None => progress::progress_without_period(latest.is_some_and(|i| !i.revoked)),
        };
        let facts = CredentialFacts {
            latest_issuance: latest,
            unclosed_period: open.map(|p| PeriodFacts {
                start: date(&p["start"]).unwrap(),
                end: date(&p["end"]).unwrap(),
            }),
            progress: expected_progress,
            auto_issue: false,
        };
        let context = serde_json::to_string_pretty(&d).unwrap();
        assert_eq!(
            d["progress"].as_i64().unwrap(),
            i64::from(expected_progress),
            "{context}"
        );
        assert_eq!(
            d["status"].as_str().unwrap(),
            status::status(&facts, today).as_str(),
            "{context}"
        );
        assert_eq!(
            d["expiring_soon"].as_bool().unwrap(),
            status::expiring_soon(&facts, today, 60),
            "{context}"
        );
        // A valid issuance is never reported as Expired.
        if latest.is_some_and(|i| i.is_valid_on(today)) {
            assert_ne!(d["status"], "expired", "{context}");
        }
    }
}

both_databases! {
    async fn stored_status_always_equals_the_pure_function(t) {
        let w = world(t).await;
        for seed in [0x9e37_79b9_7f4a_7c15u64, 42, 7_777_777] {
            let mut rng = Rng(seed);
            for _ in 0..45 {
                step(t, &w, &mut rng).await;
            }
            assert_consistent(t).await;
        }
    }
}
