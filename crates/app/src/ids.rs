//! Opaque public ids: a kind prefix and the row number (`mem_42`). The prefix makes ids of
//! different resources impossible to mix up, in the API and in the audit log.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Agency,
    Member,
    Group,
    Course,
    CredentialType,
    Requirement,
    Credential,
    Period,
    Issuance,
    TrainingRecord,
    AuditEvent,
    RenewalPlan,
    Message,
    Certificate,
    Template,
    File,
    Class,
    Token,
    User,
}

impl Kind {
    pub const ALL: [Kind; 19] = [
        Kind::Agency,
        Kind::Member,
        Kind::Group,
        Kind::Course,
        Kind::CredentialType,
        Kind::Requirement,
        Kind::Credential,
        Kind::Period,
        Kind::Issuance,
        Kind::TrainingRecord,
        Kind::AuditEvent,
        Kind::RenewalPlan,
        Kind::Message,
        Kind::Certificate,
        Kind::Template,
        Kind::File,
        Kind::Class,
        Kind::Token,
        Kind::User,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Agency => "agy",
            Kind::Member => "mem",
            Kind::Group => "grp",
            Kind::Course => "crs",
            Kind::CredentialType => "ctp",
            Kind::Requirement => "req",
            Kind::Credential => "crd",
            Kind::Period => "per",
            Kind::Issuance => "iss",
            Kind::TrainingRecord => "trn",
            Kind::AuditEvent => "evt",
            Kind::RenewalPlan => "plan",
            Kind::Message => "msg",
            Kind::Certificate => "cert",
            Kind::Template => "tpl",
            Kind::File => "file",
            Kind::Class => "cls",
            Kind::Token => "tok",
            Kind::User => "usr",
        }
    }

    /// The name audit events give the subject's type.
    pub fn subject_type(self) -> &'static str {
        match self {
            Kind::Agency => "agency",
            Kind::Member => "member",
            Kind::Group => "group",
            Kind::Course => "course",
            Kind::CredentialType => "credential_type",
            Kind::Requirement => "requirement",
            Kind::Credential => "credential",
            Kind::Period => "period",
            Kind::Issuance => "issuance",
            Kind::TrainingRecord => "training_record",
            Kind::AuditEvent => "audit_event",
            Kind::RenewalPlan => "renewal_plan",
            Kind::Message => "message",
            Kind::Certificate => "certificate",
            Kind::Template => "certificate_template",
            Kind::File => "file",
            Kind::Class => "class",
            Kind::Token => "api_token",
            Kind::User => "user",
        }
    }
}

pub fn encode(kind: Kind, id: i64) -> String {
    format!("{}_{id}", kind.prefix())
}

/// The row number of an id of `kind`, or `None` for anything else.
pub fn decode(kind: Kind, value: &str) -> Option<i64> {
    let rest = value.strip_prefix(kind.prefix())?.strip_prefix('_')?;
    if rest.is_empty() || rest.len() > 18 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok().filter(|n: &i64| *n > 0)
}

/// The kind and row number of any public id.
pub fn decode_any(value: &str) -> Option<(Kind, i64)> {
    Kind::ALL
        .into_iter()
        .find_map(|k| decode(k, value).map(|n| (k, n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_reject() {
        assert_eq!(encode(Kind::Member, 42), "mem_42");
        assert_eq!(decode(Kind::Member, "mem_42"), Some(42));
        assert_eq!(decode(Kind::Group, "mem_42"), None);
        for bad in [
            "mem_",
            "mem_-1",
            "mem_0",
            "mem_4x",
            "mem42",
            "mem_99999999999999999999",
            "",
        ] {
            assert_eq!(decode(Kind::Member, bad), None, "{bad}");
        }
        assert_eq!(decode_any("ctp_7"), Some((Kind::CredentialType, 7)));
    }
}
