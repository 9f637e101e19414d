//! Exports: every list and report as CSV or XLSX, the whole result (every page), naming
//! people (employee number, groups), types, courses and issuing officers.

use axum::http::Method;
use calamine::{Data, Reader as _, Xlsx};
use credence_domain::role::Role;
use serde_json::{json, Value};

use crate::both_databases;
use crate::fixtures::CredentialTypeBuilder;
use crate::harness::{Resp, TestApp};
use crate::web_pages::{page, sign_in};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The first sheet of an XLSX answer, every cell as text (numbers as written, dates as
/// Excel serial numbers turned back into ISO dates).
pub(crate) fn sheet(resp: &Resp) -> Vec<Vec<String>> {
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(
        resp.headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let mut book = Xlsx::new(std::io::Cursor::new(resp.bytes.clone())).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::DateTime(d) => {
                        let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
                        (epoch + chrono::Duration::days(d.as_f64() as i64)).to_string()
                    }
                    Data::Float(f) => f.to_string(),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

fn column(rows: &[Vec<String>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}: {:?}", rows[0]))
}

/// Three members in a group, one of them holding CPR issued by an officer, a course and a
/// training record: answers (CPR type id, Ava's member id).
async fn agency(t: &TestApp) -> (String, String) {
    let ava = t
        .post(
            "/api/v1/members",
            json!({"first_name": "Ava", "last_name": "Smith", "employee_number": "E-7",
        "email": "ava@example.org", "position": "Captain"}),
        )
        .await
        .expect(201);
    let ben = t
        .post(
            "/api/v1/members",
            json!({"first_name": "Ben", "last_name": "Lee",
        "supervisor_member_id": id(&ava)}),
        )
        .await
        .expect(201);
    t.post(
        "/api/v1/members",
        json!({"first_name": "Cy", "last_name": "Okafor"}),
    )
    .await
    .expect(201);
    let station = t
        .post(
            "/api/v1/groups",
            json!({"name": "Station 2", "kind": "station"}),
        )
        .await
        .expect(201);
    t.post(
        &format!("/api/v1/groups/{}/members/add", id(&station)),
        json!({"member_ids": [id(&ava), id(&ben)]}),
    )
    .await
    .expect(200);
    let ty = CredentialTypeBuilder::new("CPR").publish(t).await;
    let assigned = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "completion_period",
        "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": [id(&ava), id(&ben)]})).await.expect(200);
    let ava_cpr = assigned["created"][0].as_str().unwrap();
    t.post(
        &format!("/api/v1/credentials/{ava_cpr}/issue"),
        json!({"issue_date": "2026-02-01",
        "credential_number": "CPR-0001", "issuing_officer": "Chief Ray"}),
    )
    .await
    .expect(200);
    let course = t
        .post(
            "/api/v1/courses",
            json!({"code": "CPR-R", "name": "CPR refresher", "hours": 4, "category": "Medical"}),
        )
        .await
        .expect(201);
    t.post(
        "/api/v1/training-records",
        json!({"member_id": id(&ava), "course_id": id(&course), "completed_on": "2026-02-10",
        "score": 92}),
    )
    .await
    .expect(201);
    (ty, id(&ava))
}

both_databases! {
    async fn credentials_export_names_people_groups_and_officers_in_both_formats(t) {
        let (ty, ava) = agency(t).await;
        let csv = t.get(&format!("/api/v1/credentials?credential_type_id={ty}&format=csv&limit=1")).await;
        assert_eq!(csv.status, 200, "{}", csv.text);
        assert_eq!(csv.headers["content-disposition"], "attachment; filename=\"credentials.csv\"");
        let lines: Vec<&str> = csv.text.lines().collect();
        assert_eq!(lines.len(), 3, "every page, not the first: {}", csv.text);
        let smith = lines.iter().find(|l| l.starts_with("\"Smith, Ava\",E-7,Station 2,CPR card,Active,no,")).expect(&csv.text);
        assert!(smith.contains(",2026-02-01,2028-02-01,CPR-0001,Chief Ray,"), "{smith}");

        let book = sheet(&t.get(&format!("/api/v1/credentials?credential_type_id={ty}&format=xlsx")).await);
        assert_eq!(book.len(), 3);
        let smith = book.iter().find(|r| r[0] == "Smith, Ava").unwrap();
        assert_eq!(smith[column(&book, "employee_number")], "E-7");
        assert_eq!(smith[column(&book, "groups")], "Station 2");
        assert_eq!(smith[column(&book, "issuing_officer")], "Chief Ray");
        assert_eq!(smith[column(&book, "issue_date")], "2026-02-01", "a real date in the workbook");
        assert!(smith[column(&book, "progress")].parse::<f64>().is_ok(), "a number in the workbook");
        assert_eq!(smith[column(&book, "member_id")], ava);
    }

    async fn members_training_records_and_audit_events_export(t) {
        let (_, ava) = agency(t).await;
        let members = t.get("/api/v1/members?format=csv").await;
        assert_eq!(members.status, 200, "{}", members.text);
        let lines: Vec<&str> = members.text.lines().collect();
        assert_eq!(lines[0], "last_name,first_name,employee_number,email,position,groups,supervisor,active,member_id,supervisor_member_id,created_at");
        assert_eq!(lines.len(), 4);
        assert!(lines[1].starts_with("Lee,Ben,,,,Station 2,\"Smith, Ava\",yes,"), "{}", lines[1]);
        let only_station = sheet(&t.get("/api/v1/members?format=xlsx&q=smith").await);
        assert_eq!(only_station.len(), 2, "the list's filters apply: {only_station:?}");
        assert_eq!(only_station[1][column(&only_station, "position")], "Captain");

        let records = sheet(&t.get(&format!("/api/v1/training-records?member_id={ava}&format=xlsx")).await);
        assert_eq!(records.len(), 2);
        let r = &records[1];
        assert_eq!((r[0].as_str(), r[3].as_str(), r[4].as_str()), ("Smith, Ava", "CPR-R", "CPR refresher"));
        assert_eq!((r[column(&records, "hours")].as_str(), r[column(&records, "score")].as_str()), ("4", "92"));
        assert_eq!(r[column(&records, "completed_on")], "2026-02-10");

        let audit = t.get(&format!("/api/v1/audit-events?subject_id={ava}&format=csv")).await;
        assert_eq!(audit.status, 200, "{}", audit.text);
        let lines: Vec<&str> = audit.text.lines().collect();
        assert!(lines[0].starts_with("at,actor,action,subject_type,subject,"), "{}", lines[0]);
        assert!(lines[1..].iter().any(|l| l.contains(",member,\"Smith, Ava\",")), "{}", audit.text);
        // Training records and certificates are named too, not only members and credentials.
        let created = t.get("/api/v1/audit-events?action=create&format=csv").await.text;
        assert!(created.contains(",training_record,\"Smith, Ava — CPR refresher\","), "{created}");
    }

    async fn reports_and_the_register_export_as_xlsx(t) {
        let (ty, _) = agency(t).await;
        let compliance = sheet(&t.get("/api/v1/reports/compliance?format=xlsx").await);
        assert_eq!(compliance[0][0..2], ["group", "credential_type"]);
        assert!(compliance.iter().any(|r| r[0] == "Station 2" && r[1] == "CPR card"), "{compliance:?}");
        let gaps = sheet(&t.get("/api/v1/reports/compliance?format=xlsx&view=members").await);
        assert_eq!(gaps.len(), 2, "Ben is not compliant: {gaps:?}");
        assert_eq!((gaps[1][0].as_str(), gaps[1][2].as_str()), ("Lee, Ben", "Station 2"));
        let qualified = sheet(&t.get(&format!("/api/v1/reports/qualified?credential_type_id={ty}&format=xlsx")).await);
        let smith = qualified.iter().find(|r| r[3] == "Smith, Ava").unwrap();
        assert_eq!((smith[4].as_str(), smith[5].as_str()), ("E-7", "yes"));
        let register = t.get("/api/v1/certificates?format=xlsx").await;
        assert_eq!(sheet(&register).len(), 1, "only the header: no certificates yet");
    }

    async fn a_bad_format_or_a_member_token_changes_nothing_and_another_agency_sees_none(t) {
        let (_, ava) = agency(t).await;
        for path in ["/api/v1/members", "/api/v1/credentials", "/api/v1/training-records", "/api/v1/audit-events", "/api/v1/certificates"] {
            assert_eq!(t.get(&format!("{path}?format=pdf")).await.invalid_fields(), ["format"], "{path}");
        }
        assert_eq!(t.get("/api/v1/credentials?format=csv&sort=shoe_size").await.invalid_fields(), ["sort"]);
        let member = t.token(Role::Member, Some(&ava)).await;
        for path in ["/api/v1/members?format=csv", "/api/v1/credentials?format=xlsx", "/api/v1/training-records?format=csv"] {
            t.send(Method::GET, path, Some(&member), None).await.problem(403);
        }
        let other = t.other_agency_admin().await;
        for path in ["/api/v1/members?format=csv", "/api/v1/credentials?format=csv", "/api/v1/training-records?format=csv"] {
            let theirs = t.send(Method::GET, path, Some(&other), None).await;
            assert_eq!(theirs.status, 200);
            assert_eq!(theirs.text.lines().count(), 1, "{path}: only the header: {}", theirs.text);
        }
    }

    async fn the_pages_offer_csv_and_xlsx_downloads(t) {
        agency(t).await;
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let members = page(t, "/members", &session).await;
        assert!(members.text.contains("/members.xlsx?active=true"), "{}", members.text);
        assert_eq!(sheet(&page(t, "/members.xlsx?active=true&q=lee", &session).await).len(), 2);
        let audit = page(t, "/audit.csv?action=issue", &session).await;
        assert_eq!(audit.status, 200);
        assert_eq!(audit.text.lines().count(), 2, "{}", audit.text);
        assert!(page(t, "/audit", &session).await.text.contains("/audit.xlsx?"));
        assert_eq!(page(t, "/audit.csv?subject_id=nonsense", &session).await.status, 422);
        assert_eq!(sheet(&page(t, "/credentials.xlsx", &session).await).len(), 3);
        assert_eq!(sheet(&page(t, "/certificates.xlsx", &session).await).len(), 1);
        // Signed out: no download.
        let anonymous = t.send(Method::GET, "/members.csv", None, None).await;
        assert_ne!(anonymous.status, 200);
    }
}
