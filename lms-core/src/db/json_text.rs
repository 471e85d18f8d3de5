//! JSON stored in a TEXT column, read back through a typed value: [`JsonText`].
//!
//! Stored data that does not decode into the expected type fails the row's deserialization (a
//! database error the caller reports), never an empty list or a default value on a document.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::sql_types::Text;
use serde::de::DeserializeOwned;

/// A value stored as JSON text. Use it as a field of a row struct; write with [`to_json_text`].
#[derive(Debug, Clone, PartialEq, Eq, diesel::deserialize::FromSqlRow)]
pub struct JsonText<T>(pub T);

impl<T> JsonText<T> {
    /// The decoded value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T, DB> FromSql<Text, DB> for JsonText<T>
where
    DB: Backend,
    String: FromSql<Text, DB>,
    T: DeserializeOwned,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let raw = <String as FromSql<Text, DB>>::from_sql(bytes)?;
        serde_json::from_str(&raw).map(JsonText).map_err(|e| {
            format!("JSON stocké illisible ({e}) : « {} »", raw.chars().take(40).collect::<String>()).into()
        })
    }
}

/// The JSON text stored for `value`.
pub fn to_json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, super::DbError> {
    serde_json::to_string(value)
        .map_err(|e| super::DbError::Query(diesel::result::Error::SerializationError(Box::new(e))))
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    use super::JsonText;

    #[test]
    fn json_text_reads_typed_values_and_refuses_malformed_ones() {
        let mut conn = crate::db::DbConn::Sqlite(diesel::sqlite::SqliteConnection::establish(":memory:").unwrap());
        let good: JsonText<Vec<String>> =
            diesel::select(r#"["Paul Roy","Anne Vidal"]"#.into_sql::<Text>()).get_result(&mut conn).unwrap();
        assert_eq!(good.into_inner(), vec!["Paul Roy".to_owned(), "Anne Vidal".to_owned()]);
        let bad = diesel::select("[\"Paul".into_sql::<Text>()).get_result::<JsonText<Vec<String>>>(&mut conn);
        assert!(matches!(bad, Err(diesel::result::Error::DeserializationError(_))));
        let wrong_shape = diesel::select("{}".into_sql::<Text>()).get_result::<JsonText<Vec<String>>>(&mut conn);
        assert!(matches!(wrong_shape, Err(diesel::result::Error::DeserializationError(_))));
        assert_eq!(super::to_json_text(&["a"]).ok().as_deref(), Some(r#"["a"]"#));
    }
}
