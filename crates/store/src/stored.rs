//! Enums stored as text, decoded straight from their column: an unknown value is a decode
//! error (corrupt data, reported), never a silent default.

use std::ops::Deref;

use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Postgres, Sqlite, Type};

/// A domain enum read from a text column (`Stored<Status>`); reads as the enum itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stored<T>(pub T);

impl<T> Deref for Stored<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: PartialEq> PartialEq<T> for Stored<T> {
    fn eq(&self, other: &T) -> bool {
        self.0 == *other
    }
}

fn parse<T>(text: String) -> Result<T, BoxDynError>
where
    T: TryFrom<String>,
    T::Error: std::error::Error + Send + Sync + 'static,
{
    Ok(T::try_from(text)?)
}

impl<T> Type<Sqlite> for Stored<T> {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl<T> Type<Postgres> for Stored<T> {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty)
    }
}

impl<'r, T> Decode<'r, Sqlite> for Stored<T>
where
    T: TryFrom<String>,
    T::Error: std::error::Error + Send + Sync + 'static,
{
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        parse(<String as Decode<Sqlite>>::decode(value)?).map(Stored)
    }
}

impl<'r, T> Decode<'r, Postgres> for Stored<T>
where
    T: TryFrom<String>,
    T::Error: std::error::Error + Send + Sync + 'static,
{
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        parse(<String as Decode<Postgres>>::decode(value)?).map(Stored)
    }
}

impl<'de, T> serde::Deserialize<'de> for Stored<T>
where
    T: TryFrom<String>,
    T::Error: std::fmt::Display,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        T::try_from(text)
            .map(Stored)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credence_domain::Status;

    #[test]
    fn unknown_stored_values_are_errors_not_defaults() {
        let ok: Stored<Status> = serde_json::from_str("\"overdue\"").unwrap();
        assert_eq!(ok, Status::Overdue);
        assert!(serde_json::from_str::<Stored<Status>>("\"overdu\"").is_err());
    }
}
