//! The templates every agency starts with, and the sample data a template is checked
//! against before it is saved.

/// (name, kind, source) of the default templates.
pub const TEMPLATES: [(&str, &str, &str); 2] = [
    (
        "Certificate (landscape)",
        "certificate",
        include_str!("templates/certificate.typ"),
    ),
    (
        "Wallet card",
        "wallet_card",
        include_str!("templates/wallet_card.typ"),
    ),
];

/// Data with every field a template may use, for checking and previewing templates.
pub fn sample_data() -> serde_json::Value {
    serde_json::json!({
        "member": {
            "name": "Jordan Alvarez",
            "first_name": "Jordan",
            "last_name": "Alvarez",
            "employee_number": "E-1042",
            "email": "jordan.alvarez@example.org"
        },
        "credential_type": {
            "name": "Emergency Medical Technician – Basic",
            "code": "EMT-B",
            "description": "State EMT-B certification"
        },
        "issuance": {
            "number": "EMT-2026-0042",
            "issue_date": "2026-03-14",
            "expiration_date": "2028-03-31",
            "issue_date_text": "March 14, 2026",
            "expiration_date_text": "March 31, 2028",
            "officer": "Capt. Dana Whitfield",
            "status_reason": null
        },
        "agency": { "name": "Riverside Fire & EMS", "logo": null },
        "certificate": {
            "public_id": "sample",
            "verify_url": "https://credence.example/verify/sample"
        }
    })
}

/// The member transcript (`GET /members/{id}/transcript.pdf`): not an agency template, the
/// service's own layout; its data is described at the top of the file.
pub const TRANSCRIPT: &str = include_str!("templates/transcript.typ");
/// The readiness roster (`/readiness.pdf`): a template of ours, not an agency's, rendered
/// through the same workers as certificates.
pub const READINESS_ROSTER: &str = include_str!("templates/readiness_roster.typ");
