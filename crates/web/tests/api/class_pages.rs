//! The courses and classes pages (#17): adding, searching and retiring courses; scheduling a
//! class, filling its roster from a group, typing results in one go and completing it, with a
//! refused result shown beside its row and nothing written; roles as the API has them, CSRF
//! on every form, and another agency's class answering 404.

use credence_app::Role;
use serde_json::{json, Value};

use crate::both_databases;
use crate::classes::{drill, schedule};
use crate::people_pages::{body, session};
use crate::web_pages::{follow, form, page};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

type MatrixRow = (String, Option<Vec<(&'static str, String)>>, [bool; 4]);

both_databases! {
    async fn courses_are_added_searched_edited_and_retired_on_pages(t) {
        let (cookie, csrf) = session(t, "chief@test.example", Role::Admin, None).await;
        let added = form(t, "/courses", &cookie, &body(&csrf, &[("code", "CPR-BLS"), ("name", "CPR / BLS"), ("hours", "4"),
            ("category", "Medical"), ("passing_grade", "80")])).await;
        assert_eq!(added.status, 303, "{}", added.text);
        assert!(follow(t, &added, &cookie).await.text.contains("CPR / BLS (CPR-BLS) was added"));
        form(t, "/courses", &cookie, &body(&csrf, &[("code", "HAZ"), ("name", "Hazmat Awareness"), ("hours", "8")])).await;
        // A refused course keeps what was typed, with the error beside its field.
        let refused = form(t, "/courses", &cookie, &body(&csrf, &[("code", "EVOC"), ("name", "Driving <b>"), ("hours", "many")])).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text.contains("Hours must be a number.") && refused.text.contains("value=\"Driving &#60;b&#62;\""));
        let refused = form(t, "/courses", &cookie, &body(&csrf, &[("code", "EVOC"), ("name", "Driving"), ("passing_grade", "120")])).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text.contains("Passing grade must be between 0 and 100."), "{}", refused.text);
        assert_eq!(t.get("/api/v1/courses").await.expect(200)["items"].as_array().unwrap().len(), 2);

        let list = page(t, "/courses?q=hazmat", &cookie).await;
        assert!(list.text.contains("Hazmat Awareness</a>") && !list.text.contains("CPR / BLS</a>"));
        let cpr = t.get("/api/v1/courses?q=cpr").await.expect(200)["items"][0].clone();
        let edit = page(t, &format!("/courses/{}", id(&cpr)), &cookie).await;
        assert!(edit.text.contains("value=\"CPR-BLS\"") && edit.text.contains("Retire course"));
        let saved = form(t, &format!("/courses/{}", id(&cpr)), &cookie, &body(&csrf, &[("version", "1"), ("code", "CPR-BLS"),
            ("name", "CPR / BLS Provider"), ("hours", "4.5"), ("category", "Medical"), ("graded", "on"), ("passing_grade", "84")])).await;
        assert_eq!(saved.status, 303, "{}", saved.text);
        let c = t.get(&format!("/api/v1/courses/{}", id(&cpr))).await.expect(200);
        assert_eq!((c["name"].as_str(), c["hours"].as_f64(), c["passing_grade"].as_f64()), (Some("CPR / BLS Provider"), Some(4.5), Some(84.0)));

        let retired = form(t, &format!("/courses/{}/retire", id(&cpr)), &cookie, &body(&csrf, &[("version", "2")])).await;
        assert_eq!(retired.status, 303);
        assert!(follow(t, &retired, &cookie).await.text.contains("is retired"));
        assert!(!page(t, "/courses", &cookie).await.text.contains("CPR / BLS Provider</a>"), "hidden by default");
        assert!(page(t, "/courses?retired=1", &cookie).await.text.contains("CPR / BLS Provider</a>"));
        // Hidden from the pickers: a class cannot be scheduled for it.
        assert!(!page(t, "/classes", &cookie).await.text.contains(&format!("value=\"{}\"", id(&cpr))));
        // Without the session's token nothing happens.
        assert_eq!(form(t, "/courses", &cookie, "code=X&name=Y").await.status, 400);
        assert_eq!(form(t, &format!("/courses/{}/retire", id(&cpr)), &cookie, "version=3").await.status, 400);
    }

    async fn a_drill_is_run_from_the_class_page(t) {
        let (cookie, csrf) = session(t, "chief@test.example", Role::Admin, None).await;
        let d = drill(t, false).await;
        let scheduled = form(t, "/classes", &cookie, &body(&csrf, &[("course_id", &d.course), ("held_on", "2026-02-20"),
            ("instructor", "Capt. Ruiz"), ("location", "Station 2 bay"), ("capacity", "")])).await;
        assert_eq!(scheduled.status, 303, "{}", scheduled.text);
        let path = scheduled.headers["location"].to_str().unwrap().to_string();
        let k = path.trim_start_matches("/classes/").to_string();
        assert!(follow(t, &scheduled, &cookie).await.text.contains("is scheduled"));
        // A refused class keeps what was typed.
        let refused = form(t, "/classes", &cookie, &body(&csrf, &[("course_id", &d.course), ("held_on", "2026-02-20"),
            ("instructor", ""), ("location", "Bay 1"), ("capacity", "0")])).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text.contains("Instructor must not be empty.") && refused.text.contains("value=\"Bay 1\""));

        let added = form(t, &format!("{path}/roster/add"), &cookie, &body(&csrf, &[("group_ids", &d.group)])).await;
        assert_eq!(added.status, 303);
        let shown = follow(t, &added, &cookie).await;
        assert!(shown.text.contains("3 members joined the roster."));
        assert!(shown.text.contains("Brown, Liam") && shown.text.contains("Smith, Ava"));
        let removed = form(t, &format!("{path}/roster/remove"), &cookie, &body(&csrf, &[("member_ids", &d.members[2])])).await;
        assert!(follow(t, &removed, &cookie).await.text.contains("1 member left the roster."));

        // The grid: one row per member, results typed in one go. A bad score comes back
        // beside its row with what was typed, and nothing is recorded.
        let [ava, liam] = [&d.members[0], &d.members[1]];
        let grid = |ava_score: &str| body(&csrf, &[("member_id", ava), ("attended", ava), ("score", ava_score), ("hours", ""),
            ("member_id", liam), ("score", ""), ("hours", "")]);
        let refused = form(t, &format!("{path}/complete"), &cookie, &grid("920")).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text.contains("Score must be between 0 and 100.") && refused.text.contains("value=\"920\""), "{}", refused.text);
        let refused = form(t, &format!("{path}/complete"), &cookie, &grid("ninety")).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text.contains("Score must be a number."));
        assert_eq!(t.get("/api/v1/training-records").await.expect(200)["items"], json!([]));

        let done = form(t, &format!("{path}/complete"), &cookie, &grid("92")).await;
        assert_eq!(done.status, 303, "{}", done.text);
        let shown = follow(t, &done, &cookie).await;
        assert!(shown.text.contains("Completed: 1 training record(s) written"), "{}", shown.text);
        assert!(shown.text.contains("Recorded") && shown.text.contains("Reopen class") && shown.text.contains("Generate certificates"));
        let recs = t.get("/api/v1/training-records").await.expect(200);
        assert_eq!(recs["items"].as_array().unwrap().len(), 1);
        assert_eq!((recs["items"][0]["member_id"].as_str(), recs["items"][0]["source"].as_str()), (Some(ava.as_str()), Some("class")));
        let member = page(t, &format!("/members/{ava}"), &cookie).await;
        assert!(member.text.contains("100%"), "the progress bar moved");

        let reopened = form(t, &format!("{path}/reopen"), &cookie, &body(&csrf, &[("reason", "Liam was there")])).await;
        assert!(follow(t, &reopened, &cookie).await.text.contains("Reopened"));
        assert_eq!(t.get(&format!("/api/v1/classes/{k}")).await.expect(200)["status"], "scheduled");
        // CSRF on every form of the class page.
        for action in ["roster/add", "roster/remove", "complete", "reopen"] {
            assert_eq!(form(t, &format!("{path}/{action}"), &cookie, &format!("member_ids={ava}")).await.status, 400, "{action}");
        }
        assert_eq!(form(t, "/classes", &cookie, "course_id=x").await.status, 400);
    }

    async fn certificates_are_generated_and_merged_from_the_class_page(t) {
        let (cookie, csrf) = session(t, "chief@test.example", Role::Admin, None).await;
        let d = drill(t, true).await;
        let k = schedule(t, &d.course, "2026-02-20", None).await;
        t.post(&format!("/api/v1/classes/{k}/roster/add"), json!({"group_ids": [d.group]})).await.expect(200);
        t.post(&format!("/api/v1/classes/{k}/complete"), json!({"results": [
            {"member_id": d.members[0], "attended": true, "score": 92},
            {"member_id": d.members[1], "attended": true, "score": 40},
        ]})).await.expect(200);
        let made = form(t, "/certificates/request", &cookie, &body(&csrf, &[("class_id", &k), ("back", &format!("/classes/{k}"))])).await;
        assert_eq!(made.status, 303, "{}", made.text);
        assert_eq!(made.headers["location"], format!("/classes/{k}").as_str());
        let shown = follow(t, &made, &cookie).await;
        assert!(shown.text.contains("1 certificate(s) generated"), "{}", shown.text);
        assert!(shown.text.contains("Merge 1 for printing") && shown.text.contains("Ava Smith"));
        let cert = t.get(&format!("/api/v1/certificates?class_id={k}")).await.expect(200)["items"][0]["id"].as_str().unwrap().to_string();
        let merged = form(t, "/certificates/action", &cookie, &body(&csrf, &[("action", "merge"), ("certificate_id", &cert)])).await;
        assert_eq!(merged.status, 200);
        assert!(merged.bytes.starts_with(b"%PDF"));
        let register = page(t, &format!("/certificates?class_id={k}"), &cookie).await;
        assert!(register.text.contains("One class&#39;s certificates") || register.text.contains("One class's certificates"));
    }

    async fn another_agencys_class_is_404_on_pages(t) {
        let (cookie, csrf) = session(t, "chief@test.example", Role::Admin, None).await;
        let other = t.other_agency_admin().await;
        let post = axum::http::Method::POST;
        let course = t.send(post.clone(), "/api/v1/courses", Some(&other), Some(json!({"code": "X", "name": "Theirs"}))).await.expect(201);
        let k = t.send(post, "/api/v1/classes", Some(&other), Some(json!({"course_id": course["id"], "held_on": "2026-02-20",
            "instructor": "A", "location": "B"}))).await.expect(201);
        let (cid, kid) = (id(&course), id(&k));
        let ours = crate::members::create_member(t, "Ava", "Smith").await;
        for path in [format!("/courses/{cid}"), format!("/classes/{kid}")] {
            assert_eq!(page(t, &path, &cookie).await.status, 404, "{path}");
        }
        for (path, fields) in [
            (format!("/courses/{cid}"), vec![("version", "1"), ("code", "Y"), ("name", "Mine")]),
            (format!("/courses/{cid}/retire"), vec![]),
            (format!("/classes/{kid}/roster/add"), vec![("member_ids", ours["id"].as_str().unwrap())]),
            (format!("/classes/{kid}/roster/remove"), vec![("member_ids", ours["id"].as_str().unwrap())]),
            (format!("/classes/{kid}/complete"), vec![("member_id", ours["id"].as_str().unwrap())]),
            (format!("/classes/{kid}/reopen"), vec![]),
            (format!("/classes/{kid}/sign-off"), vec![("requirement_id", "req_999999"), ("signed_on", "2026-02-20"), ("evaluator", "A")]),
        ] {
            assert_eq!(form(t, &path, &cookie, &body(&csrf, &fields)).await.status, 404, "{path}");
        }
        assert!(!page(t, "/classes", &cookie).await.text.contains(&kid));
        let scheduled = form(t, "/classes", &cookie, &body(&csrf, &[("course_id", &cid), ("held_on", "2026-02-20"), ("instructor", "A"), ("location", "B")])).await;
        assert_eq!(scheduled.status, 422, "their course is not ours to schedule");
    }

    async fn class_pages_answer_each_role_as_the_api_does(t) {
        let d = drill(t, false).await;
        let k = schedule(t, &d.course, "2026-02-20", None).await;
        let spare = schedule(t, &d.course, "2026-02-21", None).await;
        let mid = d.members[0].clone();
        let sessions = [
            session(t, "admin@test.example", Role::Admin, None).await,
            session(t, "officer@test.example", Role::Officer, None).await,
            session(t, "auditor@test.example", Role::Auditor, None).await,
            session(t, "member@test.example", Role::Member, Some(&mid)).await,
        ];
        let read_all = [true, true, true, false];
        let officers = [true, true, false, false];
        let admin_only = [true, false, false, false];
        let course = d.course.clone();
        let rows: Vec<MatrixRow> = vec![
            ("/courses".into(), None, read_all),
            ("/courses?q=cpr&retired=1".into(), None, read_all),
            (format!("/courses/{course}"), None, read_all),
            ("/classes".into(), None, read_all),
            (format!("/classes/{k}"), None, read_all),
            ("/courses".into(), Some(vec![("code", "N1".into()), ("name", "New".into()), ("hours", "1".into())]), admin_only),
            (format!("/courses/{course}"), Some(vec![("version", "1".into()), ("code", "CPR-BLS".into()), ("name", "CPR".into()), ("hours", "4".into())]), admin_only),
            ("/classes".into(), Some(vec![("course_id", course.clone()), ("held_on", "2026-02-22".into()), ("instructor", "A".into()), ("location", "B".into())]), officers),
            (format!("/classes/{k}/roster/add"), Some(vec![("group_ids", d.group.clone())]), officers),
            (format!("/classes/{k}/roster/remove"), Some(vec![("member_ids", d.members[2].clone())]), officers),
            (format!("/classes/{spare}/roster/add"), Some(vec![("member_ids", d.members[1].clone())]), officers),
            (format!("/classes/{spare}/complete"), Some(vec![("member_id", d.members[1].clone()), ("attended", d.members[1].clone()), ("score", "90".into()), ("hours", "".into())]), officers),
            (format!("/classes/{spare}/reopen"), Some(vec![]), officers),
            (format!("/classes/{k}/sign-off"), Some(vec![("requirement_id", "req_999999".into()), ("signed_on", "2026-02-20".into()), ("evaluator", "A".into())]), officers),
            (format!("/courses/{course}/retire"), Some(vec![]), admin_only),
        ];
        for (path, fields, allowed) in rows {
            for (i, (cookie, csrf)) in sessions.iter().enumerate().rev() {
                let r = match &fields {
                    None => page(t, &path, cookie).await,
                    Some(f) => {
                        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                        form(t, &path, cookie, &body(csrf, &pairs)).await
                    }
                };
                let status = r.status.as_u16();
                if allowed[i] {
                    assert!(matches!(status, 200 | 303), "role {i} should be allowed {path}, got {status}: {}", r.text);
                } else {
                    assert_eq!(status, 403, "role {i} on {path}: {}", r.text);
                }
            }
        }
        // The navigation's Training menu shows Classes and Courses to those who read them.
        for (i, (cookie, _)) in sessions.iter().enumerate() {
            let home = page(t, if i == 3 { "/me" } else { "/" }, cookie).await;
            assert_eq!(home.text.contains("href=\"/classes\""), i < 3, "role {i}");
            assert_eq!(home.text.contains("href=\"/courses\""), i < 3, "role {i}");
        }
    }
}
