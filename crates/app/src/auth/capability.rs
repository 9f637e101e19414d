//! Who is acting, and proof of what they may do.
//!
//! An [`Actor`] is made only by authentication (a token, a web session) or by the server's
//! own jobs; its fields cannot be set outside this crate. A use case that needs a role takes
//! the capability for it — [`Reader`], [`Officer`] or [`Admin`] — and the only way to get one
//! is [`Actor::reader`], [`Actor::officer`] or [`Actor::admin`], which fail with 403. So a
//! handler that forgets the check does not compile, instead of leaking. Use cases open to
//! members as well (their own credentials, certificates, uploads) take the [`Actor`] and
//! scope what they read by [`Actor::own_member`].
//!
//! Capabilities dereference to the [`Actor`] they were made from, so a use case reads
//! `officer.agency_id` and `officer.label` as before.

use credence_domain::ids::{AgencyId, MemberId};
use std::ops::Deref;

use credence_domain::Role;

use crate::{AppError, Result};

/// Who is acting: resolved from an API token or a web session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub(crate) agency_id: AgencyId,
    pub(crate) role: Role,
    /// The member this login or token speaks for (required for the member role).
    pub(crate) member_id: Option<MemberId>,
    /// How the audit log names them: `user:ada@example.org` or `token:12`.
    pub(crate) label: String,
}

/// Proof that the actor may read everything in its agency (admin, officer, auditor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader(Actor);

/// Proof that the actor may record training, sign off, issue and renew (admin, officer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Officer(Actor);

/// Proof that the actor administers the agency: types, members, groups, templates (admin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin(Actor);

impl Actor {
    /// The server acting on its own (daily jobs, the demo and seed commands), as an admin.
    pub(crate) fn system(agency_id: AgencyId, label: impl Into<String>) -> Actor {
        Actor {
            agency_id,
            role: Role::Admin,
            member_id: None,
            label: label.into(),
        }
    }

    pub fn agency_id(&self) -> AgencyId {
        self.agency_id
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn member_id(&self) -> Option<MemberId> {
        self.member_id
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// The one member whose things this actor is limited to, or `None` when it reads the
    /// whole agency.
    pub fn own_member(&self) -> Option<MemberId> {
        if self.role.reads_agency() {
            None
        } else {
            // A member login always names its member; one that does not sees nothing (no
            // row has the id 0).
            Some(self.member_id.unwrap_or(MemberId::new(0)))
        }
    }

    /// True when the actor may see things of `member_id`: everything in the agency for
    /// readers, their own for members.
    pub fn sees_member(&self, member_id: MemberId) -> bool {
        self.own_member().is_none_or(|own| own == member_id)
    }

    /// Refuses `what` when the member it is done to is the actor's own: nobody records
    /// training for, signs off, approves or issues to themselves (separation of duties).
    pub fn refuse_self(&self, member_id: MemberId, what: &str) -> Result<()> {
        if self.member_id == Some(member_id) {
            return Err(AppError::Forbidden(format!(
                "you cannot {what} for yourself; another officer must do it"
            )));
        }
        Ok(())
    }

    pub fn reader(&self) -> Result<Reader> {
        self.allow(self.role.reads_agency()).map(Reader)
    }

    pub fn officer(&self) -> Result<Officer> {
        self.allow(self.role.manages_credentials()).map(Officer)
    }

    pub fn admin(&self) -> Result<Admin> {
        self.allow(self.role.administers()).map(Admin)
    }

    fn allow(&self, allowed: bool) -> Result<Actor> {
        if allowed {
            Ok(self.clone())
        } else {
            Err(AppError::Forbidden(format!(
                "the {} role may not do this",
                self.role.as_str()
            )))
        }
    }
}

impl Officer {
    /// Every officer may read the agency.
    pub fn as_reader(&self) -> Reader {
        Reader(self.0.clone())
    }
}

impl Admin {
    /// Every admin is an officer.
    pub fn as_officer(&self) -> Officer {
        Officer(self.0.clone())
    }

    pub fn as_reader(&self) -> Reader {
        Reader(self.0.clone())
    }
}

macro_rules! derefs_to_actor {
    ($($t:ty),*) => {$(
        impl Deref for $t {
            type Target = Actor;
            fn deref(&self) -> &Actor {
                &self.0
            }
        }
    )*};
}
derefs_to_actor!(Reader, Officer, Admin);

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, member_id: Option<i64>) -> Actor {
        let member_id = member_id.map(MemberId::new);
        Actor {
            agency_id: AgencyId::new(1),
            role,
            member_id,
            label: "test".into(),
        }
    }

    #[test]
    fn each_role_gets_exactly_its_capabilities() {
        let cases = [
            (Role::Admin, true, true, true),
            (Role::Officer, true, true, false),
            (Role::Auditor, true, false, false),
            (Role::Member, false, false, false),
        ];
        for (role, reads, manages, administers) in cases {
            let a = actor(role, Some(3));
            assert_eq!(a.reader().is_ok(), reads, "{role:?} reader");
            assert_eq!(a.officer().is_ok(), manages, "{role:?} officer");
            assert_eq!(a.admin().is_ok(), administers, "{role:?} admin");
        }
        assert!(matches!(
            actor(Role::Auditor, None).officer(),
            Err(AppError::Forbidden(_))
        ));
    }

    #[test]
    fn members_see_only_themselves() {
        let member = actor(Role::Member, Some(3));
        assert!(member.sees_member(MemberId::new(3)) && !member.sees_member(MemberId::new(4)));
        assert_eq!(member.own_member(), Some(MemberId::new(3)));
        let orphan = actor(Role::Member, None);
        assert!(!orphan.sees_member(MemberId::new(3)));
        let auditor = actor(Role::Auditor, None);
        assert!(auditor.sees_member(MemberId::new(3)) && auditor.own_member().is_none());
    }
}
