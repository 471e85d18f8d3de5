//! Closed sets of values (statuses, slots, kinds) stored as TEXT: one macro, [`text_enum!`].
//!
//! Each variant is declared once with its stored text and its French label. The macro generates
//! `as_str()`, `label_fr()`, `ALL`, `FromStr` (refusing unknown text with [`UnknownValue`]),
//! `Display` (the stored text), serde as the stored text, and diesel `AsExpression`/`FromSqlRow`
//! on `Text` for every backend, so row structs and filters use the enum directly. A stored value
//! that is not in the set fails the row's deserialization loudly; it never becomes a default.

/// A text that is not one of the values of a [`text_enum!`] type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} inconnu « {value} » (attendu : {expected})")]
pub struct UnknownValue {
    /// What was being read, in French (e.g. « statut d'inscription »).
    pub kind: &'static str,
    /// The offending text, truncated.
    pub value: String,
    /// The accepted stored texts, comma-separated.
    pub expected: &'static str,
}

impl UnknownValue {
    /// An error for `raw`, keeping at most 40 characters of it.
    pub fn new(kind: &'static str, raw: &str, expected: &'static str) -> Self {
        UnknownValue { kind, value: raw.chars().take(40).collect(), expected }
    }
}

/// Declares an enum stored as TEXT.
///
/// ```ignore
/// text_enum! {
///     /// Morning or afternoon.
///     pub enum Slot: "créneau" {
///         /// Matin.
///         Morning = "morning", "Matin";
///         /// Après-midi.
///         Afternoon = "afternoon", "Après-midi";
///     }
/// }
/// ```
#[macro_export]
macro_rules! text_enum {
    (@count) => { 0usize };
    (@count $head:ident $($tail:ident)*) => { 1usize + $crate::text_enum!(@count $($tail)*) };
    (@join $first:literal $(, $rest:literal)*) => {
        concat!($first $(, ", ", $rest)*)
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $stored:literal, $label:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; $crate::text_enum!(@count $($variant)+)] = [$($name::$variant),+];

            /// The accepted stored texts, comma-separated (for error messages).
            pub const EXPECTED: &'static str = $crate::text_enum!(@join $($stored),+);

            /// The stored form (also the JSON form).
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $stored,)+ }
            }

            /// The French label for pages and documents.
            pub const fn label_fr(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }

            /// Reads the stored form exactly (no trimming, no case folding).
            pub fn from_stored(raw: &str) -> Result<Self, $crate::db::text_enum::UnknownValue> {
                match raw {
                    $($stored => Ok($name::$variant),)+
                    _ => Err($crate::db::text_enum::UnknownValue::new($what, raw, Self::EXPECTED)),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::db::text_enum::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_stored(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                Self::from_stored(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, $crate::db::MultiBackend> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $crate::db::MultiBackend>,
            ) -> diesel::serialize::Result {
                out.set_value((diesel::sql_types::Text, self.as_str()));
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let raw = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                Ok(Self::from_stored(&raw)?)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    use super::UnknownValue;

    crate::text_enum! {
        /// A test enum.
        pub enum Colour: "couleur" {
            /// Red.
            Red = "red", "Rouge";
            /// Light blue.
            LightBlue = "light_blue", "Bleu clair";
        }
    }

    #[test]
    fn round_trips_through_text() {
        for c in Colour::ALL {
            assert_eq!(c.as_str().parse::<Colour>(), Ok(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!(Colour::LightBlue.as_str(), "light_blue");
        assert_eq!(Colour::LightBlue.label_fr(), "Bleu clair");
        assert_eq!(Colour::EXPECTED, "red, light_blue");
    }

    #[test]
    fn unknown_text_is_refused() {
        let err = "Red".parse::<Colour>().unwrap_err();
        assert_eq!(err, UnknownValue { kind: "couleur", value: "Red".into(), expected: "red, light_blue" });
        assert_eq!(err.to_string(), "couleur inconnu « Red » (attendu : red, light_blue)");
        assert!(" red".parse::<Colour>().is_err());
        assert!("".parse::<Colour>().is_err());
    }

    #[test]
    fn serde_uses_the_stored_text() {
        assert_eq!(serde_json::to_string(&Colour::LightBlue).unwrap(), "\"light_blue\"");
        assert_eq!(serde_json::from_str::<Colour>("\"red\"").unwrap(), Colour::Red);
        assert!(serde_json::from_str::<Colour>("\"green\"").is_err());
        assert!(serde_json::from_str::<Colour>("1").is_err());
        assert_eq!(serde_json::to_string(&Some(Colour::Red)).unwrap(), "\"red\"");
    }

    #[test]
    fn diesel_reads_and_writes_text_and_refuses_unknown_rows() {
        // Through `DbConn`, i.e. the `MultiBackend` impls the application uses.
        let mut conn = crate::db::DbConn::Sqlite(diesel::sqlite::SqliteConnection::establish(":memory:").unwrap());
        let back: Colour = diesel::select(Colour::LightBlue.into_sql::<Text>()).get_result(&mut conn).unwrap();
        assert_eq!(back, Colour::LightBlue);
        let stored: String = diesel::select(Colour::Red.into_sql::<Text>()).get_result(&mut conn).unwrap();
        assert_eq!(stored, "red");
        let unknown = diesel::select("green".into_sql::<Text>()).get_result::<Colour>(&mut conn);
        assert!(matches!(unknown, Err(diesel::result::Error::DeserializationError(_))));
    }
}
