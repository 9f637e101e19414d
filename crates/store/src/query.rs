//! The one way to run SQL: a [`Query`] is SQL text with `$n` placeholders and its [`Arg`]s,
//! run on a [`Conn`] of either database by [`Query::fetch_all`] and its siblings.
//!
//! Fixed SQL numbers its placeholders by hand and adds values with [`Query::arg`]; dynamic
//! SQL (filters that depend on the request) appends text with [`Query::push`] and values
//! with [`Query::bind`], which writes the next `$n`. Errors convert through
//! `From<sqlx::Error> for StoreError`, which keeps a violated constraint's name, so `?` is
//! always the right way to pass them on.
//!
//! Sets of ids or rows are bound as one JSON value ([`Query::bind_json_ids`], [`json_rows`]):
//! one statement carries thousands of them on either database, with no limit on binds.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, FromRow, Postgres, Sqlite, Type};

use credence_domain::ids::Id;

use crate::conn::{AnyConn, Conn};
use crate::{Result, Tx};

/// A bound value. Each variant carries an `Option` so NULLs keep their SQL type, which
/// PostgreSQL needs to plan the statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    I64(Option<i64>),
    F64(Option<f64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Date(Option<NaiveDate>),
    Timestamp(Option<DateTime<Utc>>),
}

macro_rules! arg_from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Arg { fn from(v: $t) -> Arg { Arg::$v(Some(v.into())) } }
        impl From<Option<$t>> for Arg { fn from(v: Option<$t>) -> Arg { Arg::$v(v.map(Into::into)) } }
    )*};
}
arg_from!(i64 => I64, f64 => F64, String => Text, &str => Text, bool => Bool, NaiveDate => Date, DateTime<Utc> => Timestamp);

impl<K> From<Id<K>> for Arg {
    fn from(v: Id<K>) -> Arg {
        Arg::I64(Some(v.get()))
    }
}

impl<K> From<Option<Id<K>>> for Arg {
    fn from(v: Option<Id<K>>) -> Arg {
        Arg::I64(v.map(Id::get))
    }
}

/// A row number: a typed [`Id`], or a plain `i64` for rows without a public id.
pub trait RowId: Copy {
    fn row(self) -> i64;
}

impl RowId for i64 {
    fn row(self) -> i64 {
        self
    }
}

impl<K> RowId for Id<K> {
    fn row(self) -> i64 {
        self.get()
    }
}

/// `ids` as one JSON array of row numbers.
pub(crate) fn ids_json<I: RowId>(ids: &[I]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(2 + ids.len() * 8);
    out.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}", id.row());
    }
    out.push(']');
    out
}

impl From<&String> for Arg {
    fn from(v: &String) -> Arg {
        Arg::Text(Some(v.clone()))
    }
}

impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Arg {
        Arg::Text(v.clone())
    }
}

impl From<Option<&String>> for Arg {
    fn from(v: Option<&String>) -> Arg {
        Arg::Text(v.cloned())
    }
}

/// Binds `args` onto a sqlx query of either database, borrowing text from them.
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::F64(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_deref()),
                Arg::Bool(v) => q.bind(*v),
                Arg::Date(v) => q.bind(*v),
                Arg::Timestamp(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// Runs `$method` of a `sqlx::$make` query built from `$q` on whichever database `$db` is.
macro_rules! run {
    ($q:expr, $db:expr, $make:ident, $method:ident) => {
        match $db.any() {
            AnyConn::Sqlite(c) => bind_all!(sqlx::$make(&$q.sql), &$q.args).$method(c).await?,
            AnyConn::Postgres(c) => bind_all!(sqlx::$make(&$q.sql), &$q.args).$method(c).await?,
        }
    };
}

/// A row type either database can decode (by column name: `#[derive(sqlx::FromRow)]`, or a
/// tuple by position for small ad-hoc selects).
pub trait Record:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Record for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// A single column value either database can decode.
pub trait Scalar:
    Type<Sqlite>
    + for<'r> Decode<'r, Sqlite>
    + Type<Postgres>
    + for<'r> Decode<'r, Postgres>
    + Send
    + Unpin
{
}
impl<T> Scalar for T where
    T: Type<Sqlite>
        + for<'r> Decode<'r, Sqlite>
        + Type<Postgres>
        + for<'r> Decode<'r, Postgres>
        + Send
        + Unpin
{
}

/// A query of fixed SQL; add its values with [`Query::arg`].
pub fn query(sql: impl Into<String>) -> Query {
    Query::new(sql)
}

/// SQL text plus its arguments, with placeholders numbered as they are pushed.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl Query {
    pub fn new(sql: impl Into<String>) -> Self {
        Query {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// Adds the value of the next hand-numbered placeholder.
    pub fn arg(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Runs a statement; answers the rows it changed.
    pub async fn execute(&self, db: &mut impl Conn) -> Result<u64> {
        Ok(match db.any() {
            AnyConn::Sqlite(c) => bind_all!(sqlx::query(&self.sql), &self.args)
                .execute(c)
                .await?
                .rows_affected(),
            AnyConn::Postgres(c) => bind_all!(sqlx::query(&self.sql), &self.args)
                .execute(c)
                .await?
                .rows_affected(),
        })
    }

    pub async fn fetch_all<T: Record>(&self, db: &mut impl Conn) -> Result<Vec<T>> {
        Ok(run!(self, db, query_as, fetch_all))
    }

    pub async fn fetch_optional<T: Record>(&self, db: &mut impl Conn) -> Result<Option<T>> {
        Ok(run!(self, db, query_as, fetch_optional))
    }

    pub async fn fetch_one<T: Record>(&self, db: &mut impl Conn) -> Result<T> {
        Ok(run!(self, db, query_as, fetch_one))
    }

    /// The first column of every row.
    pub async fn scalars<T: Scalar>(&self, db: &mut impl Conn) -> Result<Vec<T>> {
        Ok(run!(self, db, query_scalar, fetch_all))
    }

    pub async fn scalar_optional<T: Scalar>(&self, db: &mut impl Conn) -> Result<Option<T>> {
        Ok(run!(self, db, query_scalar, fetch_optional))
    }

    pub async fn scalar<T: Scalar>(&self, db: &mut impl Conn) -> Result<T> {
        Ok(run!(self, db, query_scalar, fetch_one))
    }

    /// Appends raw SQL.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.sql.push('$');
        self.sql.push_str(&self.args.len().to_string());
        self
    }

    /// Appends a derived table of `ids` bound as one JSON value, for `… IN ` (see
    /// [`json_ids`]): one statement for thousands of ids.
    ///
    /// Lookups of a set of row ids write the tenant test as `+agency_id = $1 AND id IN (…)`.
    /// Every secondary index leads with `agency_id`, and SQLite without statistics assumes an
    /// equality on an indexed column matches a handful of rows, so it would walk the whole
    /// agency through such an index (~100 ms per batch at 1M credentials) instead of doing
    /// primary-key lookups (~0.1 ms). The unary plus makes the term unindexable on both
    /// databases; it still filters every row, so tenancy holds.
    pub fn bind_json_ids<I: RowId>(&mut self, backend: crate::Backend, ids: &[I]) -> &mut Self {
        self.bind_ids_json(backend, ids_json(ids))
    }

    fn bind_ids_json(&mut self, backend: crate::Backend, json: String) -> &mut Self {
        self.args.push(Arg::Text(Some(json)));
        let param = format!("${}", self.args.len());
        self.sql.push_str(&json_ids(backend, &param));
        self
    }

    /// Appends the ids of one [`IdChunk`] as a derived table, for `… IN `.
    pub fn bind_ids(&mut self, chunk: IdChunk) -> &mut Self {
        self.bind_ids_json(chunk.backend, chunk.json)
    }

    /// Appends a derived table of the strings in `values` bound as one JSON value, for
    /// `… IN ` (see [`json_texts`]).
    pub fn bind_json_texts(&mut self, backend: crate::Backend, values: &[String]) -> &mut Self {
        self.args
            .push(Arg::Text(Some(serde_json::Value::from(values).to_string())));
        let param = format!("${}", self.args.len());
        self.sql.push_str(&json_texts(backend, &param));
        self
    }

    /// Appends ` AND (sort, id) > (value, last)` (or `<` when `descending`), the keyset
    /// continuation after the last row of a page ordered by `sort, id`. A row comparison,
    /// which both databases use as a bound on the index; spelled out as
    /// `sort > v OR (sort = v AND id > last)` it was only a filter on PostgreSQL, so a
    /// deep page read every row before it.
    pub fn push_after(
        &mut self,
        (sort, id_column): (&str, &str),
        descending: bool,
        value: impl Into<Arg>,
        id: i64,
    ) -> &mut Self {
        let cmp = if descending { "<" } else { ">" };
        self.push(&format!(" AND ({sort}, {id_column}) {cmp} ("))
            .bind(value)
            .push(", ")
            .bind(id)
            .push(")")
    }

    /// Appends `(a, b, c)` with one placeholder per value: for short lists of fixed values
    /// (statuses); sets that grow with the data go as JSON ([`Query::bind_json_ids`]).
    pub fn bind_list<T: Into<Arg>>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        self.sql.push('(');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.bind(v);
        }
        self.sql.push(')');
        self
    }
}

/// `count` fresh ids of `table`, which must be one of ours with an `id` key, for rows the
/// caller inserts with explicit ids in this transaction. SQLite: the write transaction
/// holds the database's only write lock, so the ids after the largest are free, as
/// SQLite itself would assign them. PostgreSQL: drawn from the column's sequence.
pub async fn reserve_ids(tx: &mut Tx, table: &'static str, count: usize) -> Result<Vec<i64>> {
    match tx.backend() {
        crate::Backend::Sqlite => {
            let sql = format!("SELECT COALESCE(MAX(id), 0) FROM {table}");
            let max: i64 = query(&sql).scalar(tx).await?;
            Ok((1..=count as i64).map(|i| max + i).collect())
        }
        crate::Backend::Postgres => next_values(tx, table, count).await,
    }
}

/// `count` values of the sequence behind `table.id` (PostgreSQL), in the order taken.
///
/// The sequence is looked up once and passed as a parameter cast to `regclass` once per
/// statement: `nextval(pg_get_serial_sequence(…))` resolved it again for every value, 4 µs
/// each, about a minute of a 10M-credential seed (300,000 values: 1.3 s, now 0.33 s).
pub(crate) async fn next_values(
    tx: &mut Tx,
    table: &'static str,
    count: usize,
) -> Result<Vec<i64>> {
    let sequence: String = query("SELECT pg_get_serial_sequence($1, 'id')")
        .arg(table)
        .scalar(tx)
        .await?;
    query("SELECT nextval($1::regclass) FROM generate_series(1, $2)")
        .arg(sequence)
        .arg(count as i64)
        .scalars(tx)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_in_order() {
        let mut b = Query::new("SELECT * FROM members WHERE agency_id = ");
        b.bind(7i64).push(" AND id IN ").bind_list([1i64, 2, 3]);
        assert_eq!(
            b.sql,
            "SELECT * FROM members WHERE agency_id = $1 AND id IN ($2, $3, $4)"
        );
        assert_eq!(b.args.len(), 4);
    }
}

/// One batch of ids handed to a statement builder by [`fetch_in_batches`];
/// [`Query::bind_ids`] is the only way to put it into SQL, so every batched lookup
/// binds its ids as one JSON value.
#[derive(Debug, Clone)]
pub struct IdChunk {
    backend: crate::Backend,
    json: String,
}

/// The SQL type of a column of [`json_rows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    BigInt,
    Double,
    Text,
    Bool,
    Date,
}

/// A derived table reading rows from one JSON array-of-arrays parameter (`param`, e.g.
/// `$2`), its columns named and typed by `columns`, plus `ord`, each row's place in the
/// array (an `INSERT … SELECT … ORDER BY v.ord` assigns ids in the caller's order).
///
/// A JSON array is one value however many rows it holds, so a batch of thousands of rows is
/// one statement on either database, where one value per cell would need a statement per
/// few dozen rows (SQLite looks each numbered parameter up by a linear scan).
pub fn json_rows(backend: crate::Backend, param: &str, columns: &[(&str, JsonType)]) -> String {
    let select: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| match backend {
            // JSON `true` reads back as 1, SQLite's boolean; dates are ISO text either way.
            crate::Backend::Sqlite => format!("value ->> {i} AS {name}"),
            crate::Backend::Postgres => {
                let cast = match ty {
                    JsonType::BigInt => "bigint",
                    JsonType::Double => "double precision",
                    JsonType::Text => "text",
                    JsonType::Bool => "boolean",
                    JsonType::Date => "date",
                };
                format!("(e ->> {i})::{cast} AS {name}")
            }
        })
        .collect();
    let (from, ord) = match backend {
        crate::Backend::Sqlite => (format!("json_each({param})"), "key AS ord"),
        crate::Backend::Postgres => (
            format!("json_array_elements({param}::json) WITH ORDINALITY AS t(e, ord)"),
            "ord",
        ),
    };
    format!("(SELECT {}, {ord} FROM {from})", select.join(", "))
}

/// A one-column derived table `(id)` of the integers in one JSON array parameter, for
/// `… IN {json_ids(…)}` over thousands of ids in one statement (see [`json_rows`]).
pub fn json_ids(backend: crate::Backend, param: &str) -> String {
    match backend {
        crate::Backend::Sqlite => format!("(SELECT value AS id FROM json_each({param}))"),
        crate::Backend::Postgres => {
            format!("(SELECT value::bigint AS id FROM json_array_elements_text({param}::json))")
        }
    }
}

/// A one-column derived table `(v)` of the strings in one JSON array parameter.
pub fn json_texts(backend: crate::Backend, param: &str) -> String {
    match backend {
        crate::Backend::Sqlite => format!("(SELECT value AS v FROM json_each({param}))"),
        crate::Backend::Postgres => {
            format!("(SELECT value AS v FROM json_array_elements_text({param}::json))")
        }
    }
}

/// Runs `build` once per [`crate::JSON_BATCH`] of `ids` (the builder binds them with
/// [`Query::bind_ids`]) and hands each batch's rows to `each`.
pub(crate) async fn fetch_in_batches<T, I: RowId>(
    db: &mut impl Conn,
    ids: &[I],
    build: impl Fn(IdChunk) -> Query,
    mut each: impl FnMut(Vec<T>),
) -> Result<()>
where
    T: Record,
{
    let backend = db.backend();
    for chunk in ids.chunks(crate::JSON_BATCH) {
        let q = build(IdChunk {
            backend,
            json: ids_json(chunk),
        });
        let rows: Vec<T> = q.fetch_all(db).await?;
        each(rows);
    }
    Ok(())
}

/// Runs one statement per [`crate::JSON_BATCH`] of `ids`, built by `build` as in
/// [`fetch_in_batches`]; answers the rows changed.
pub(crate) async fn execute_in_batches<I: RowId>(
    tx: &mut Tx,
    ids: &[I],
    build: impl Fn(IdChunk) -> Query,
) -> Result<u64> {
    let backend = tx.backend();
    let mut changed = 0;
    for chunk in ids.chunks(crate::JSON_BATCH) {
        changed += build(IdChunk {
            backend,
            json: ids_json(chunk),
        })
        .execute(tx)
        .await?;
    }
    Ok(changed)
}

/// One value of a [`json_rows`] row. Ids go in as their row number: serde would write an
/// id's public form (`mem_42`), which the database must never see.
pub trait Cell {
    fn cell(&self) -> serde_json::Value;
}

impl<K> Cell for Id<K> {
    fn cell(&self) -> serde_json::Value {
        self.get().into()
    }
}

impl Cell for credence_domain::ids::AnyId {
    fn cell(&self) -> serde_json::Value {
        self.row.into()
    }
}

impl Cell for NaiveDate {
    fn cell(&self) -> serde_json::Value {
        self.to_string().into()
    }
}

impl<T: Cell> Cell for Option<T> {
    fn cell(&self) -> serde_json::Value {
        self.as_ref().map_or(serde_json::Value::Null, Cell::cell)
    }
}

impl<T: Cell + ?Sized> Cell for &T {
    fn cell(&self) -> serde_json::Value {
        (**self).cell()
    }
}

macro_rules! plain_cells {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            fn cell(&self) -> serde_json::Value {
                self.clone().into()
            }
        }
    )*};
}
plain_cells!(i64, f64, bool, String);

impl Cell for str {
    fn cell(&self) -> serde_json::Value {
        self.into()
    }
}

/// A row for [`json_rows`]: `cells![member_id, date, name]`.
#[macro_export]
macro_rules! cells {
    ($($v:expr),* $(,)?) => {
        serde_json::Value::Array(vec![$($crate::query::Cell::cell(&$v)),*])
    };
}

/// Escapes `%`, `_` and `\` so user text matches literally in a LIKE pattern; the pattern
/// must be followed by [`LIKE_ESCAPE`] (PostgreSQL defaults to `\` as the escape character,
/// SQLite has none unless told).
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The ESCAPE clause for patterns made with [`escape_like`], understood by both databases.
pub const LIKE_ESCAPE: &str = " ESCAPE '\\'";
