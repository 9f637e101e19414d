//! Dynamic SQL: a tiny builder that numbers `$n` placeholders and keeps their values, for
//! queries whose filters depend on the request (lists, bulk writes).

use chrono::{DateTime, NaiveDate, Utc};

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

/// Binds a slice of [`Arg`]s onto a sqlx query or query_as, for either database.
#[macro_export]
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args {
            q = match a {
                $crate::Arg::I64(v) => q.bind(*v),
                $crate::Arg::F64(v) => q.bind(*v),
                $crate::Arg::Text(v) => q.bind(v.clone()),
                $crate::Arg::Bool(v) => q.bind(*v),
                $crate::Arg::Date(v) => q.bind(*v),
                $crate::Arg::Timestamp(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// SQL text plus its arguments, with placeholders numbered as they are pushed.
#[derive(Debug, Default, Clone)]
pub struct SqlBuilder {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl SqlBuilder {
    pub fn new(sql: impl Into<String>) -> Self {
        SqlBuilder {
            sql: sql.into(),
            args: Vec::new(),
        }
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
    pub fn bind_json_ids(&mut self, backend: crate::Backend, ids: &[i64]) -> &mut Self {
        self.args
            .push(Arg::Text(Some(serde_json::Value::from(ids).to_string())));
        let param = format!("${}", self.args.len());
        self.sql.push_str(&json_ids(backend, &param));
        self
    }

    /// Appends the ids of one [`IdChunk`] as a derived table, for `… IN `.
    pub fn bind_ids(&mut self, chunk: IdChunk<'_>) -> &mut Self {
        self.bind_json_ids(chunk.backend, chunk.ids)
    }

    /// Appends `(a, b, c)` with one placeholder per value.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_in_order() {
        let mut b = SqlBuilder::new("SELECT * FROM members WHERE agency_id = ");
        b.bind(7i64).push(" AND id IN ").bind_list([1i64, 2, 3]);
        assert_eq!(
            b.sql,
            "SELECT * FROM members WHERE agency_id = $1 AND id IN ($2, $3, $4)"
        );
        assert_eq!(b.args.len(), 4);
    }
}

/// One batch of ids handed to a statement builder by [`crate::credentials::for_chunks`];
/// [`SqlBuilder::bind_ids`] is the only way to put it into SQL, so every batched lookup
/// binds its ids as one JSON value.
#[derive(Debug, Clone, Copy)]
pub struct IdChunk<'a> {
    pub(crate) backend: crate::Backend,
    pub(crate) ids: &'a [i64],
}

/// The SQL type of a column of [`json_rows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    BigInt,
    Text,
    Bool,
    Date,
}

/// A derived table reading rows from one JSON array-of-arrays parameter (`param`, e.g.
/// `$2`), its columns named and typed by `columns`.
///
/// Bulk writes bind one value per cell otherwise, and a statement holds few values (see
/// [`crate::MAX_BINDS`]); a JSON array is one value however many rows it holds, so a
/// batch of thousands of rows is one statement on either database.
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
                    JsonType::Text => "text",
                    JsonType::Bool => "boolean",
                    JsonType::Date => "date",
                };
                format!("(e ->> {i})::{cast} AS {name}")
            }
        })
        .collect();
    let from = match backend {
        crate::Backend::Sqlite => format!("json_each({param})"),
        crate::Backend::Postgres => format!("json_array_elements({param}::json) AS e"),
    };
    format!("(SELECT {} FROM {from})", select.join(", "))
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
