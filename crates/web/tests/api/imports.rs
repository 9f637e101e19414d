//! `/imports`: preview (nothing written) and commit (all or nothing) of members, group
//! memberships, training records and issuances, from CSV and XLSX.

use axum::body::Body;
use axum::http::{header, Method, Request};
use credence_app::Role;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde_json::{json, Value};

use crate::both_databases;
use crate::fixtures::CredentialTypeBuilder;
use crate::harness::{Resp, TestApp};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn upload(t: &TestApp, token: &str, kind: &str, file_name: &str, bytes: &[u8]) -> Resp {
    let boundary = "credence-import-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/imports")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    t.send_request(req).await
}

async fn preview(t: &TestApp, kind: &str, file_name: &str, bytes: &[u8]) -> Value {
    upload(t, &t.admin, kind, file_name, bytes)
        .await
        .expect(201)
}

async fn commit(t: &TestApp, import: &Value) -> Resp {
    t.post(&format!("/api/v1/imports/{}/commit", id(import)), json!({}))
        .await
}

/// A cell of a test workbook.
enum X<'a> {
    S(&'a str),
    N(f64),
    D(u16, u8, u8),
    F(&'a str),
    Blank,
}

fn xlsx(rows: &[Vec<X>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (r, cells) in rows.iter().enumerate() {
        for (c, cell) in cells.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell {
                X::S(s) => {
                    sheet.write_string(r, c, *s).unwrap();
                }
                X::N(n) => {
                    sheet.write_number(r, c, *n).unwrap();
                }
                X::D(y, m, d) => {
                    let dt = ExcelDateTime::from_ymd(*y, *m, *d).unwrap();
                    sheet.write_datetime_with_format(r, c, &dt, &date).unwrap();
                }
                X::F(f) => {
                    sheet.write_formula(r, c, *f).unwrap();
                }
                X::Blank => {}
            }
        }
    }
    book.save_to_buffer().unwrap()
}

fn errors(v: &Value) -> Vec<(u64, String, String)> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn members(t: &TestApp) -> Vec<Value> {
    t.get("/api/v1/members?limit=500").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn member_by_number(t: &TestApp, number: &str) -> Value {
    members(t)
        .await
        .into_iter()
        .find(|m| m["employee_number"] == number)
        .unwrap_or_else(|| panic!("no member {number}"))
}

both_databases! {
    async fn members_preview_writes_nothing_and_commit_upserts_by_number_then_email(t) {
        let shift = id(&t.post("/api/v1/groups", json!({"name": "B Shift", "kind": "shift"})).await.expect(201));
        let ava = t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "employee_number": "E1", "email": "ava@test.example"})).await.expect(201);
        let liam = t.post("/api/v1/members", json!({"first_name": "Liam", "last_name": "Brown", "email": "liam@test.example"})).await.expect(201);
        let csv = "first_name,last_name,email,employee_number,active,groups\n\
                   Ava,Smith-Jones,,E1,,\n\
                   Liam,Brown,LIAM@Test.Example,E2,yes,b shift\n\
                   Noah,Lee,noah@test.example,E3,,B Shift\n\
                   Ava,Smith-Jones,ava@test.example,E1,,\n";
        // The same number twice in one file is an error naming both rows.
        let dup = preview(t, "members", "members.csv", csv.as_bytes()).await;
        assert_eq!(errors(&dup), vec![(5, "employee_number".to_string(), "\"E1\" is also on row 2".to_string())]);
        commit(t, &dup).await.problem(409);

        let csv = csv.rsplit_once("Ava,Smith-Jones,ava").unwrap().0;
        let p = preview(t, "members", "members.csv", csv.as_bytes()).await;
        assert_eq!((p["kind"].as_str(), p["status"].as_str(), p["rows"].as_i64(), p["created"].as_i64(), p["updated"].as_i64()),
            (Some("members"), Some("previewed"), Some(3), Some(1), Some(2)), "{p}");
        assert_eq!(p["errors"], json!([]));
        assert_eq!(p["preview"][0]["action"], "update");
        assert_eq!(p["preview"][2]["values"], json!(["Noah", "Lee", "noah@test.example", "E3", "", "B Shift"]));
        assert_eq!(t.get(&format!("/api/v1/imports/{}", id(&p))).await.expect(200), p);
        // Nothing of the agency's data was written by the preview.
        assert_eq!(members(t).await.len(), 2);
        assert_eq!(t.get(&format!("/api/v1/members/{}", id(&ava))).await.expect(200)["last_name"], "Smith");

        let done = commit(t, &p).await.expect(200);
        assert_eq!((done["status"].as_str(), done["created"].as_i64(), done["updated"].as_i64()), (Some("committed"), Some(1), Some(2)));
        assert!(done["committed_at"].is_string());
        assert_eq!(members(t).await.len(), 3);
        let ava_now = t.get(&format!("/api/v1/members/{}", id(&ava))).await.expect(200);
        assert_eq!((ava_now["last_name"].as_str(), ava_now["email"].as_str(), ava_now["version"].as_i64()),
            (Some("Smith-Jones"), Some("ava@test.example"), Some(2)), "an empty e-mail keeps the member's");
        let liam_now = t.get(&format!("/api/v1/members/{}", id(&liam))).await.expect(200);
        assert_eq!(liam_now["employee_number"], "E2", "matched by e-mail in another case");
        assert_eq!(liam_now["group_ids"], json!([shift]));
        let noah = member_by_number(t, "E3").await;
        assert_eq!((noah["email"].as_str(), noah["group_ids"].clone()), (Some("noah@test.example"), json!([shift])));
        // A second commit of the same preview is refused.
        commit(t, &p).await.problem(409);
        // The same file again changes nothing.
        let again = preview(t, "members", "members.csv", csv.as_bytes()).await;
        assert_eq!((again["created"].as_i64(), again["updated"].as_i64(), again["unchanged"].as_i64()), (Some(0), Some(0), Some(3)));
    }

    async fn members_from_xlsx_report_every_bad_cell_and_write_nothing(t) {
        t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "employee_number": "E1", "email": "ava@test.example"})).await.expect(201);
        t.post("/api/v1/groups", json!({"name": "B Shift"})).await.expect(201);
        let file = xlsx(&[
            vec![X::S("First Name"), X::S("Last Name"), X::S("Email"), X::S("Employee Number"), X::S("Groups")],
            vec![X::S("Noah"), X::S("Lee"), X::S("noah@test.example"), X::N(1042.0), X::S("B Shift")],
            vec![X::S("Mia"), X::F("=A2&\"x\""), X::S("mia@test.example"), X::S("E7"), X::Blank],
            vec![X::S("Zoe"), X::S("Park"), X::S("AVA@test.example"), X::S("E8"), X::Blank],
            vec![X::S("Eli"), X::S("Cole"), X::S("eli@test.example"), X::S("E9"), X::S("Night Shift")],
            vec![X::S("Ian"), X::S("Roe"), X::S("not-an-email"), X::S("E10"), X::Blank],
            vec![X::S("Kim"), X::S("Roe"), X::S("kim@test.example"), X::S("1042"), X::Blank],
        ]);
        let p = preview(t, "members", "people.xlsx", &file).await;
        assert_eq!(errors(&p), vec![
            (3, "last_name".into(), "formulas are not imported, paste values".into()),
            (4, "email".into(), "\"ava@test.example\" belongs to Ava Smith (employee number E1), whose employee number is not \"E8\"".into()),
            (5, "groups".into(), "no group is named \"Night Shift\"".into()),
            (6, "email".into(), "\"not-an-email\" is not an e-mail address".into()),
            (7, "employee_number".into(), "\"1042\" is also on row 2".into()),
        ], "{p}");
        assert_eq!(p["preview"][0]["values"][3], "1042", "a number cell reads as the number typed");
        commit(t, &p).await.problem(409);
        assert_eq!(members(t).await.len(), 1, "nothing written");

        let good = xlsx(&[
            vec![X::S("first_name"), X::S("last_name"), X::S("employee_number"), X::S("active")],
            vec![X::S("Noah"), X::S("Lee"), X::N(1042.0), X::S("no")],
            vec![X::S("Ava"), X::S("Smith"), X::S("E1"), X::S("no")],
        ]);
        let p = preview(t, "members", "people.xlsx", &good).await;
        assert_eq!((p["created"].as_i64(), p["updated"].as_i64()), (Some(1), Some(1)), "{p}");
        commit(t, &p).await.expect(200);
        assert_eq!(member_by_number(t, "1042").await["active"], false);
        assert_eq!(member_by_number(t, "E1").await["active"], false);
    }

    async fn a_commit_rechecks_the_agency_and_refuses_what_changed(t) {
        let p = preview(t, "members", "m.csv", b"first_name,last_name,employee_number\nNoah,Lee,E3\n").await;
        assert_eq!(p["created"], 1);
        // Someone creates the member in between: the preview's "create" no longer holds.
        t.post("/api/v1/members", json!({"first_name": "Noah", "last_name": "Lee", "employee_number": "E3"})).await.expect(201);
        let problem = commit(t, &p).await.problem(409);
        assert!(problem["detail"].as_str().unwrap().contains("changed since the preview"), "{problem}");
        assert_eq!(members(t).await.len(), 1);
        assert_eq!(t.get(&format!("/api/v1/imports/{}", id(&p))).await.expect(200)["status"], "previewed");
    }

    async fn files_that_cannot_be_read_are_refused_with_the_reason(t) {
        let fields = |r: Resp| {
            let body = r.problem(422);
            body["errors"].as_array().unwrap().iter().map(|e| format!("{}: {}", e["field"].as_str().unwrap(), e["message"].as_str().unwrap())).collect::<Vec<_>>()
        };
        assert_eq!(fields(upload(t, &t.admin, "members", "m.csv", b"").await), ["file: the file is empty"]);
        assert_eq!(fields(upload(t, &t.admin, "members", "m.csv", b"first_name,last_name\n").await),
            ["file: the file has a header but no rows to import"]);
        assert_eq!(fields(upload(t, &t.admin, "members", "m.csv", b"name,mail\nAva,a@b.c\n").await), [
            "file: row 1, column name: is not a column of a members import; expected columns: first_name, last_name, email, employee_number, active, groups",
            "file: row 1, column mail: is not a column of a members import; expected columns: first_name, last_name, email, employee_number, active, groups",
            "file: row 1, column first_name: is missing from the header; expected columns: first_name, last_name, email, employee_number, active, groups",
            "file: row 1, column last_name: is missing from the header; expected columns: first_name, last_name, email, employee_number, active, groups",
        ]);
        assert_eq!(fields(upload(t, &t.admin, "people", "m.csv", b"a\n").await),
            ["kind: must be members, group_memberships, training_records or issuances"]);
        assert!(fields(upload(t, &t.admin, "members", "m.xlsx", b"PK\x03\x04 not really").await)[0].contains("not a readable XLSX workbook"));
        assert!(fields(upload(t, &t.admin, "members", "m.xls", &[0xD0, 0xCF, 0x11, 0xE0, 0, 0]).await)[0].contains("save it as XLSX or CSV"));
        // Over 10 MB: refused as too large, without reading the rest.
        let mut big = b"first_name,last_name,employee_number\n".to_vec();
        while big.len() <= 11 * 1024 * 1024 {
            big.extend_from_slice(b"Ava,Smith,E0000000000000000000000000000000000000001\n");
        }
        let r = upload(t, &t.admin, "members", "big.csv", &big).await.problem(413);
        assert!(r["detail"].as_str().unwrap().contains("larger than 10 MB"), "{r}");
        assert_eq!(members(t).await.len(), 0);
    }

    async fn group_memberships_are_added_with_their_history(t) {
        let shift = id(&t.post("/api/v1/groups", json!({"name": "B Shift"})).await.expect(201));
        let ava = id(&t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "employee_number": "E1"})).await.expect(201));
        let liam = id(&t.post("/api/v1/members", json!({"first_name": "Liam", "last_name": "Brown", "email": "liam@test.example"})).await.expect(201));
        t.post(&format!("/api/v1/groups/{shift}/members/add"), json!({"member_ids": [ava]})).await.expect(200);
        let bad = preview(t, "group_memberships", "g.csv", b"member,group\nE1,B Shift\nE9,B Shift\nE1,Night\n").await;
        assert_eq!(errors(&bad), vec![
            (3, "member".into(), "no member has the employee number or e-mail \"E9\"".into()),
            (4, "group".into(), "no group is named \"Night\"".into()),
        ]);
        let file = xlsx(&[
            vec![X::S("member"), X::S("group")],
            vec![X::S("E1"), X::S("B Shift")],
            vec![X::S("Liam@Test.Example"), X::S("b shift")],
        ]);
        let p = preview(t, "group_memberships", "g.xlsx", &file).await;
        assert_eq!((p["created"].as_i64(), p["unchanged"].as_i64()), (Some(1), Some(1)), "{p}");
        let mut members = t.get(&format!("/api/v1/members?group_id={shift}")).await.expect(200)["items"].as_array().unwrap().len();
        assert_eq!(members, 1, "preview wrote nothing");
        commit(t, &p).await.expect(200);
        members = t.get(&format!("/api/v1/members?group_id={shift}")).await.expect(200)["items"].as_array().unwrap().len();
        assert_eq!(members, 2);
        assert_eq!(t.get(&format!("/api/v1/members/{liam}")).await.expect(200)["group_ids"], json!([shift]));
    }

    async fn training_records_from_csv_and_xlsx_recompute_progress(t) {
        let cpr = id(&t.post("/api/v1/courses", json!({"code": "CPR", "name": "CPR", "hours": 4, "category": "Medical", "graded": true, "passing_grade": 80})).await.expect(201));
        let ty = t.post("/api/v1/credential-types", json!({"code": "EMT", "name": "EMT", "validity_months": 24, "renewal": "manual",
            "requirements": [{"kind": "course", "course_id": cpr}, {"kind": "hours", "hours": 8, "category": "CE"}]})).await.expect(201);
        t.post(&format!("/api/v1/credential-types/{}/publish", id(&ty)), json!({})).await.expect(200);
        let ava = id(&t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "employee_number": "E1", "email": "ava@test.example"})).await.expect(201));
        let cred = t.post("/api/v1/assignments", json!({"credential_type_id": id(&ty), "mode": "completion_period", "period_start": "2026-01-01", "period_end": "2026-12-31", "member_ids": [ava]}))
            .await.expect(200)["created"][0].as_str().unwrap().to_string();

        let bad = preview(t, "training_records", "t.csv", b"member,course,completed_on,score,hours,category\n\
            E1,CPR,March 3 2026,,,\nE1,CPX,2026-02-01,,,\nE9,CPR,2026-02-01,,,\nE1,CPR,2026-02-01,101,,\nE1,,2026-02-01,,four,CE\n").await;
        assert_eq!(errors(&bad), vec![
            (2, "completed_on".into(), "\"March 3 2026\" is not a date; write YYYY-MM-DD or MM/DD/YYYY".into()),
            (3, "course".into(), "no course has the code \"CPX\"".into()),
            (4, "member".into(), "no member has the employee number or e-mail \"E9\"".into()),
            (5, "score".into(), "must be between 0 and 100".into()),
            (6, "hours".into(), "\"four\" is not a number".into()),
        ], "{bad}");
        commit(t, &bad).await.problem(409);

        let p = preview(t, "training_records", "t.csv", b"member,course,completed_on,score\nAVA@test.example,cpr,02/14/2026,91\n").await;
        assert_eq!(p["created"], 1);
        assert_eq!(t.get("/api/v1/training-records").await.expect(200)["items"], json!([]), "preview wrote nothing");
        commit(t, &p).await.expect(200);
        assert_eq!(t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200)["progress"], 50);

        let file = xlsx(&[
            vec![X::S("member"), X::S("course"), X::S("completed_on"), X::S("score"), X::S("hours"), X::S("category")],
            vec![X::S("E1"), X::Blank, X::D(2026, 2, 20), X::Blank, X::N(8.0), X::S("CE")],
            vec![X::S("E1"), X::Blank, X::D(2026, 2, 21), X::F("=1+1"), X::N(1.0), X::S("CE")],
        ]);
        let bad = preview(t, "training_records", "t.xlsx", &file).await;
        assert_eq!(errors(&bad), vec![(3, "score".into(), "formulas are not imported, paste values".into())]);
        let file = xlsx(&[
            vec![X::S("member"), X::S("completed_on"), X::S("hours"), X::S("category")],
            vec![X::S("E1"), X::D(2026, 2, 20), X::N(8.0), X::S("CE")],
        ]);
        let p = preview(t, "training_records", "t.xlsx", &file).await;
        assert_eq!(p["preview"][0]["values"], json!(["E1", "", "2026-02-20", "", "8", "CE"]));
        let done = commit(t, &p).await.expect(200);
        assert_eq!(done["created"], 1);
        let c = t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200);
        assert_eq!((c["status"].as_str(), c["progress"].as_i64()), (Some("ready_to_be_issued"), Some(100)));
        let records = t.get("/api/v1/training-records").await.expect(200)["items"].as_array().unwrap().clone();
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|r| r["source"] == "import"));
    }

    async fn issuances_create_credentials_with_their_status(t) {
        let cpr = CredentialTypeBuilder::new("CPR").publish(t).await;
        let draft = t.post("/api/v1/credential-types", json!({"code": "HAZ", "name": "Hazmat"})).await.expect(201);
        for (first, number) in [("Ava", "E1"), ("Liam", "E2"), ("Noah", "E3")] {
            t.post("/api/v1/members", json!({"first_name": first, "last_name": "Lee", "employee_number": number})).await.expect(201);
        }
        let bad = preview(t, "issuances", "i.csv", b"member,credential_type,issue_date,expiration_date,credential_number,issuing_officer\n\
            E1,HAZ,2025-01-01,,,\nE1,CPR,2026-04-01,,,\nE1,CPR,2025-01-01,2024-01-01,,\nE2,NOPE,2025-01-01,,,\nE3,CPR,2025-01-01,,N-1,\nE2,CPR,2025-01-01,,N-1,\n").await;
        assert_eq!(errors(&bad), vec![
            (2, "credential_type".into(), "HAZ is draft; only published types are imported".into()),
            (3, "issue_date".into(), "must not be in the future".into()),
            (4, "credential_type".into(), "row 3 already imports an issuance of CPR for this member".into()),
            (4, "expiration_date".into(), "must not be before issue_date".into()),
            (5, "credential_type".into(), "no credential type has the code \"NOPE\"".into()),
            (7, "credential_number".into(), "\"N-1\" is also on row 6".into()),
        ], "{bad}");
        let _ = draft;

        let p = preview(t, "issuances", "i.csv", b"member,credential_type,issue_date,expiration_date,credential_number,issuing_officer\n\
            E1,CPR,2023-01-10,2025-01-31,CPR-OLD-1,Capt. Hopper\nE2,cpr,06/01/2025,,,\n").await;
        assert_eq!((p["created"].as_i64(), p["errors"].clone()), (Some(2), json!([])), "{p}");
        assert_eq!(t.get("/api/v1/credentials").await.expect(200)["items"], json!([]), "preview wrote nothing");
        commit(t, &p).await.expect(200);
        let list = t.get(&format!("/api/v1/credentials?credential_type_id={cpr}&sort=member")).await.expect(200)["items"].as_array().unwrap().clone();
        assert_eq!(list.len(), 2);
        let (ava, liam) = (&list[0], &list[1]);
        assert_eq!((ava["status"].as_str(), ava["current_issuance"]["expiration_date"].as_str(), ava["current_issuance"]["credential_number"].as_str(), ava["current_issuance"]["issuing_officer"].as_str()),
            (Some("expired"), Some("2025-01-31"), Some("CPR-OLD-1"), Some("Capt. Hopper")), "{ava}");
        assert_eq!((liam["status"].as_str(), liam["current_issuance"]["issue_date"].as_str(), liam["current_issuance"]["expiration_date"].as_str()),
            (Some("active"), Some("2025-06-01"), Some("2027-06-01")), "expiration defaults from the type: {liam}");

        // A later issuance for a member who holds the type goes onto that credential.
        let file = xlsx(&[
            vec![X::S("member"), X::S("credential_type"), X::S("issue_date")],
            vec![X::S("E1"), X::S("CPR"), X::D(2026, 2, 1)],
            vec![X::S("E2"), X::S("CPR"), X::D(2025, 6, 1)],
        ]);
        let p = preview(t, "issuances", "i.xlsx", &file).await;
        assert_eq!(errors(&p), vec![(3, "issue_date".into(), "the member's CPR was already issued on 2025-06-01; only a later issuance can be imported".into())]);
        let file = xlsx(&[
            vec![X::S("member"), X::S("credential_type"), X::S("issue_date")],
            vec![X::S("E1"), X::S("CPR"), X::D(2026, 2, 1)],
        ]);
        let p = preview(t, "issuances", "i.xlsx", &file).await;
        assert_eq!((p["created"].as_i64(), p["updated"].as_i64()), (Some(0), Some(1)), "{p}");
        commit(t, &p).await.expect(200);
        let ava = t.get(&format!("/api/v1/credentials/{}", ava["id"].as_str().unwrap())).await.expect(200);
        assert_eq!(ava["status"], "active");
        assert_eq!(ava["issuances"].as_array().unwrap().len(), 2, "the history keeps both");
    }

    async fn who_may_import_what_and_another_agency_sees_nothing(t) {
        let officer = t.token(Role::Officer, None).await;
        let auditor = t.token(Role::Auditor, None).await;
        let r = upload(t, &officer, "members", "m.csv", b"first_name,last_name,employee_number\nA,B,E1\n").await;
        r.problem(403);
        upload(t, &auditor, "training_records", "t.csv", b"member,completed_on\nE1,2026-01-01\n").await.problem(403);
        t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "employee_number": "E1"})).await.expect(201);
        let p = upload(t, &officer, "training_records", "t.csv", b"member,completed_on,hours,category\nE1,2026-01-01,2,CE\n").await.expect(201);
        // A preview of members by an admin cannot be committed by an officer.
        let m = preview(t, "members", "m.csv", b"first_name,last_name,employee_number\nNoah,Lee,E3\n").await;
        t.send(Method::POST, &format!("/api/v1/imports/{}/commit", id(&m)), Some(&officer), None).await.problem(403);
        let other = t.other_agency_admin().await;
        t.send(Method::GET, &format!("/api/v1/imports/{}", id(&p)), Some(&other), None).await.problem(404);
        t.send(Method::POST, &format!("/api/v1/imports/{}/commit", id(&p)), Some(&other), None).await.problem(404);
        t.send(Method::POST, &format!("/api/v1/imports/{}/commit", id(&p)), Some(&officer), None).await.expect(200);
    }

    async fn the_command_line_import_previews_and_commits_in_one_go(t) {
        t.post("/api/v1/members", json!({"first_name": "Ava", "last_name": "Smith", "employee_number": "E1"})).await.expect(201);
        let kind = credence_app::imports::ImportKind::Members;
        let bad = t.app.import_file("test", kind, "m.csv", b"first_name,last_name,email\nNoah,Lee,nope\n".to_vec()).await.unwrap();
        assert_eq!(bad.status, "previewed");
        assert_eq!(bad.errors[0].message, "\"nope\" is not an e-mail address");
        let done = t.app.import_file("test", kind, "m.csv", b"first_name,last_name,email\nNoah,Lee,noah@test.example\n".to_vec()).await.unwrap();
        assert_eq!((done.status.as_str(), done.created), ("committed", 1));
        assert_eq!(members(t).await.len(), 2);
    }
}

async fn page_upload(t: &TestApp, cookie: &str, csrf: &str, kind: &str, bytes: &[u8]) -> Resp {
    let boundary = "credence-page-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri("/imports")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap();
    t.send_request(req).await
}

/// The page a redirect leads to, with the flash cookie it set.
async fn follow(t: &TestApp, redirect: &Resp, session: &str) -> Resp {
    let location = redirect.headers["location"].to_str().unwrap().to_string();
    let flash = redirect
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix("credence_flash=")
                .map(|r| r.split(';').next().unwrap_or("").to_string())
        });
    let cookie = match flash {
        Some(f) => format!("{session}; credence_flash={f}"),
        None => session.to_string(),
    };
    page(t, &location, &cookie).await
}

use crate::web_pages::{form, page, sign_in};

both_databases! {
    async fn the_import_pages_upload_preview_and_commit_with_csrf(t) {
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let session = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let home = page(t, "/", &session).await;
        assert!(home.text.contains("href=\"/imports\""), "linked from the navigation");
        let imports = page(t, "/imports", &session).await;
        assert_eq!(imports.status, 200);
        for kind in ["members", "group_memberships", "training_records", "issuances"] {
            assert!(imports.text.contains(&format!("/imports/template/{kind}.csv")), "{kind}");
        }
        let template = page(t, "/imports/template/members.csv", &session).await;
        assert_eq!(template.status, 200);
        assert!(template.text.starts_with("first_name,last_name,email,employee_number,active,groups\n"));
        let csrf = imports.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();

        // Without the session's token nothing is read or stored.
        let forged = page_upload(t, &session, "guess", "members", b"first_name,last_name,email\nNoah,Lee,noah@test.example\n").await;
        assert_eq!(forged.status, 422);
        assert!(forged.text.contains("the form expired"), "{}", forged.text);
        // A file that cannot be read re-shows the form with the reason and the kind chosen.
        let empty = page_upload(t, &session, &csrf, "group_memberships", b"").await;
        assert_eq!(empty.status, 422);
        assert!(empty.text.contains("the file is empty"));
        assert!(empty.text.contains("value=\"group_memberships\" checked"));

        let with_errors = page_upload(t, &session, &csrf, "members", b"first_name,last_name,email\nNoah,Lee,<b>nope</b>\n").await;
        assert_eq!(with_errors.status, 303, "{}", with_errors.text);
        let shown = follow(t, &with_errors, &session).await;
        assert_eq!(shown.status, 200);
        assert!(shown.text.contains("&#60;b&#62;nope&#60;/b&#62;") && !shown.text.contains("<b>nope"), "escaped: {}", shown.text);
        assert!(shown.text.contains("is not an e-mail address"));
        assert!(!shown.text.contains(">Commit</button>"), "no commit while there are errors");

        let good = page_upload(t, &session, &csrf, "members", b"first_name,last_name,email\nNoah,Lee,noah@test.example\n").await;
        let location = good.headers["location"].to_str().unwrap().to_string();
        let shown = follow(t, &good, &session).await;
        assert!(shown.text.contains(">Commit</button>"));
        assert!(shown.text.contains("noah@test.example"), "the first rows as they will be imported");
        assert_eq!(members(t).await.len(), 0, "the preview wrote nothing");
        let refused = form(t, &format!("{location}/commit"), &session, "csrf=guess").await;
        assert_eq!(refused.status, 400);
        assert_eq!(members(t).await.len(), 0);
        let done = form(t, &format!("{location}/commit"), &session, &format!("csrf={csrf}")).await;
        assert_eq!(done.status, 303);
        let shown = follow(t, &done, &session).await;
        assert!(shown.text.contains("Imported 1 rows: 1 created, 0 updated, 0 unchanged."), "{}", shown.text);
        assert!(shown.text.contains("Committed"));
        assert_eq!(members(t).await.len(), 1);
    }
}
