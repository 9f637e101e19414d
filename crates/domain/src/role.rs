//! Roles and what each may do. The app layer asks these questions; it never compares
//! role names itself.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything in the agency.
    Admin,
    /// Records training, signs off, issues and renews; no type or user administration.
    Officer,
    /// Reads everything in the agency, changes nothing.
    Auditor,
    /// Sees only their own visible credentials and certificates.
    Member,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Officer, Role::Auditor, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Officer => "officer",
            Role::Auditor => "auditor",
            Role::Member => "member",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// May read every row of the agency (not only the caller's own).
    pub fn reads_agency(self) -> bool {
        !matches!(self, Role::Member)
    }

    /// May define members, groups, courses and credential types.
    pub fn administers(self) -> bool {
        matches!(self, Role::Admin)
    }

    /// May record training, sign off, issue, renew and revoke.
    pub fn manages_credentials(self) -> bool {
        matches!(self, Role::Admin | Role::Officer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_capabilities() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(Role::Auditor.reads_agency() && !Role::Auditor.manages_credentials());
        assert!(Role::Officer.manages_credentials() && !Role::Officer.administers());
        assert!(!Role::Member.reads_agency());
    }
}
