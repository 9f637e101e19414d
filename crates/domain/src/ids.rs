//! Typed row ids and their one public form.
//!
//! A [`MemberId`] and a [`GroupId`] are both a row number underneath, but different types:
//! passing one where the other is meant does not compile. Every id has one public form, its
//! kind's prefix and the row number (`mem_42`), written by `Display` and serde and read back
//! only by `FromStr` and serde — so `mem_42` parsing lives here and nowhere else. The prefix
//! makes ids of different resources impossible to mix up in the API and in the audit log.
//!
//! With the `sqlx` feature an id decodes straight from an integer column, so rows carry typed
//! ids from the moment they are read.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

/// What an [`Id`] names: one marker type per resource, tied to its [`Kind`].
pub trait IdKind: 'static {
    const KIND: Kind;
}

/// The id of a row of kind `K`.
pub struct Id<K>(i64, PhantomData<fn() -> K>);

macro_rules! kinds {
    ($($variant:ident / $alias:ident = $prefix:literal, $subject:literal;)*) => {
        /// Every kind of resource with a public id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind { $($variant),* }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            /// The prefix of its public ids (`mem` in `mem_42`).
            pub fn prefix(self) -> &'static str {
                match self { $(Kind::$variant => $prefix),* }
            }

            /// The name audit events give the subject's type.
            pub fn subject_type(self) -> &'static str {
                match self { $(Kind::$variant => $subject),* }
            }
        }

        /// The marker types of [`Id`], one per [`Kind`].
        pub mod kind {
            $(
                #[derive(Debug)]
                pub enum $variant {}
                impl super::IdKind for $variant {
                    const KIND: super::Kind = super::Kind::$variant;
                }
            )*
        }

        $(pub type $alias = Id<kind::$variant>;)*
    };
}

kinds! {
    Agency / AgencyId = "agy", "agency";
    Member / MemberId = "mem", "member";
    Group / GroupId = "grp", "group";
    Course / CourseId = "crs", "course";
    CredentialType / CredentialTypeId = "ctp", "credential_type";
    Requirement / RequirementId = "req", "requirement";
    Credential / CredentialId = "crd", "credential";
    Period / PeriodId = "per", "period";
    Issuance / IssuanceId = "iss", "issuance";
    TrainingRecord / TrainingRecordId = "trn", "training_record";
    AuditEvent / AuditEventId = "evt", "audit_event";
    RenewalPlan / RenewalPlanId = "plan", "renewal_plan";
    Message / MessageId = "msg", "message";
    Certificate / CertificateId = "cert", "certificate";
    Template / TemplateId = "tpl", "certificate_template";
    File / FileId = "file", "file";
    Class / ClassId = "cls", "class";
    Token / TokenId = "tok", "api_token";
    Submission / SubmissionId = "sub", "external_submission";
    User / UserId = "usr", "user";
    Operation / OperationId = "op", "operation";
    Import / ImportId = "imp", "import";
    Qualification / QualificationId = "qual", "qualification";
    Webhook / WebhookId = "whk", "webhook";
    Exemption / ExemptionId = "exm", "exemption";
    Leave / LeaveId = "leave", "leave";
}

impl Kind {
    /// What people call it in a message ("credential type").
    pub fn noun(self) -> String {
        self.subject_type().replace('_', " ")
    }

    /// The row number of `value` if it is a public id of this kind.
    pub fn decode(self, value: &str) -> Option<i64> {
        let rest = value.strip_prefix(self.prefix())?.strip_prefix('_')?;
        if rest.is_empty() || rest.len() > 18 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        rest.parse().ok().filter(|n: &i64| *n > 0)
    }

    /// The kind whose audit subject type is `name`.
    pub fn from_subject_type(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.subject_type() == name)
    }

    /// The kind and row number of any public id.
    pub fn decode_any(value: &str) -> Option<(Kind, i64)> {
        Kind::ALL
            .iter()
            .find_map(|k| k.decode(value).map(|n| (*k, n)))
    }

    pub fn encode(self, row: i64) -> String {
        format!("{}_{row}", self.prefix())
    }
}

impl<K> Id<K> {
    /// The id of row `row`. Only the store and tests make ids from numbers.
    pub const fn new(row: i64) -> Self {
        Id(row, PhantomData)
    }

    /// The row number, for binding in SQL.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl<K: IdKind> Id<K> {
    pub fn kind(self) -> Kind {
        K::KIND
    }
}

/// An id of any kind, for what names "some resource" (audit subjects).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnyId {
    pub kind: Kind,
    pub row: i64,
}

impl<K: IdKind> From<Id<K>> for AnyId {
    fn from(id: Id<K>) -> AnyId {
        AnyId {
            kind: K::KIND,
            row: id.0,
        }
    }
}

impl fmt::Display for AnyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.kind.prefix(), self.row)
    }
}

impl FromStr for AnyId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, ParseIdError> {
        Kind::decode_any(s)
            .map(|(kind, row)| AnyId { kind, row })
            .ok_or(ParseIdError { kind: None })
    }
}

// Manual impls: derives would demand the same of the marker type `K`.
impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K> Copy for Id<K> {}
impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<K> Eq for Id<K> {}
impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}
impl<K> std::hash::Hash for Id<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl<K> From<Id<K>> for i64 {
    fn from(id: Id<K>) -> i64 {
        id.0
    }
}

impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", K::KIND.prefix(), self.0)
    }
}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A string that is not a public id (of the expected kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseIdError {
    pub kind: Option<Kind>,
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Some(k) => write!(f, "is not a {} id", k.noun()),
            None => f.write_str("is not an id"),
        }
    }
}

impl std::error::Error for ParseIdError {}

impl<K: IdKind> FromStr for Id<K> {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, ParseIdError> {
        K::KIND.decode(s).map(Id::new).ok_or(ParseIdError {
            kind: Some(K::KIND),
        })
    }
}

impl<K: IdKind> serde::Serialize for Id<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, K: IdKind> serde::Deserialize<'de> for Id<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl<'de> serde::Deserialize<'de> for AnyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for AnyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Deserializes an id from its row number, for rows the database hands over as JSON
/// (`#[serde(deserialize_with = "ids::row")]`); the public form is never a number.
pub fn row<'de, D: serde::Deserializer<'de>, K>(d: D) -> Result<Id<K>, D::Error> {
    <i64 as serde::Deserialize>::deserialize(d).map(Id::new)
}

/// [`row`] for a nullable column.
pub fn row_opt<'de, D: serde::Deserializer<'de>, K>(d: D) -> Result<Option<Id<K>>, D::Error> {
    <Option<i64> as serde::Deserialize>::deserialize(d).map(|r| r.map(Id::new))
}

#[cfg(feature = "sqlx")]
mod sql {
    use super::Id;
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::{Database, Decode, Encode, Type};

    impl<K, DB: Database> Type<DB> for Id<K>
    where
        i64: Type<DB>,
    {
        fn type_info() -> DB::TypeInfo {
            <i64 as Type<DB>>::type_info()
        }

        fn compatible(ty: &DB::TypeInfo) -> bool {
            <i64 as Type<DB>>::compatible(ty)
        }
    }

    impl<'r, K, DB: Database> Decode<'r, DB> for Id<K>
    where
        i64: Decode<'r, DB>,
    {
        fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
            <i64 as Decode<'r, DB>>::decode(value).map(Id::new)
        }
    }

    impl<'q, K, DB: Database> Encode<'q, DB> for Id<K>
    where
        i64: Encode<'q, DB>,
    {
        fn encode_by_ref(
            &self,
            buf: &mut <DB as Database>::ArgumentBuffer<'q>,
        ) -> Result<IsNull, BoxDynError> {
            <i64 as Encode<'q, DB>>::encode_by_ref(&self.0, buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_form_round_trips_and_rejects_everything_else() {
        let id = MemberId::new(42);
        assert_eq!(id.to_string(), "mem_42");
        assert_eq!("mem_42".parse::<MemberId>(), Ok(id));
        assert!("mem_42".parse::<GroupId>().is_err());
        for bad in [
            "mem_",
            "mem_-1",
            "mem_0",
            "mem_4x",
            "mem42",
            "mem_99999999999999999999",
            " mem_4",
            "",
        ] {
            assert!(bad.parse::<MemberId>().is_err(), "{bad}");
        }
        assert_eq!(
            "ctp_7".parse::<AnyId>(),
            Ok(AnyId {
                kind: Kind::CredentialType,
                row: 7
            })
        );
    }

    #[test]
    fn serde_uses_the_public_form_and_names_the_kind_when_it_fails() {
        let json = serde_json::to_string(&CredentialTypeId::new(7)).unwrap();
        assert_eq!(json, "\"ctp_7\"");
        assert_eq!(
            serde_json::from_str::<CredentialTypeId>(&json).unwrap(),
            CredentialTypeId::new(7)
        );
        let err = serde_json::from_str::<CredentialTypeId>("\"grp_7\"").unwrap_err();
        assert!(
            err.to_string().contains("is not a credential type id"),
            "{err}"
        );
        assert!(serde_json::from_str::<CredentialTypeId>("7").is_err());
    }

    #[test]
    fn every_kind_has_its_own_prefix() {
        let mut prefixes: Vec<_> = Kind::ALL.iter().map(|k| k.prefix()).collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        assert_eq!(prefixes.len(), Kind::ALL.len());
    }
}
