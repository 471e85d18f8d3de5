//! The storage layer: migrations, URL handling, typed constraint errors.

use diesel::prelude::*;
use lms_core::db::schema::venues;
use lms_core::people::{self, NewUser, PeopleError, Role};
use lms_core::venues::{NewVenue, VenueError};
use lms_core::{Classify, DatabaseUrl, DbError, ErrorKind};
use lms_tests::{Backend, Seed, TestDb, backend, skip_unless_backend};

#[test]
fn migrations_apply_and_leave_nothing_pending() {
    let db = TestDb::new(Seed::Empty);
    let mut conn = db.conn();
    assert!(lms_core::db::pending_migrations(&mut conn).unwrap().is_empty());
    // Running again is a no-op.
    assert!(lms_core::db::run_migrations(&mut conn).unwrap().is_empty());
    let expected = if backend() == Backend::Sqlite { "sqlite" } else { "postgresql" };
    assert_eq!(lms_core::db::backend_name(&conn), expected);
}

/// Both migration folders describe the same tables and columns (checked whenever PostgreSQL runs).
#[test]
fn sqlite_and_postgres_schemas_have_the_same_tables_and_columns() {
    if skip_unless_backend(
        Backend::Postgres,
        "sqlite_and_postgres_schemas_have_the_same_tables_and_columns",
        "it compares both schemas from PostgreSQL",
    ) {
        return;
    }
    #[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
    }
    let sqlite = TestDb::sqlite(Seed::Empty);
    let postgres = TestDb::postgres(Seed::Empty);
    let mut sqlite_columns: Vec<Column> = diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
    )
    .load(&mut sqlite.conn())
    .unwrap();
    let mut pg_columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut postgres.conn())
    .unwrap();
    sqlite_columns.sort();
    pg_columns.sort();
    assert!(sqlite_columns.len() > 200, "{}", sqlite_columns.len());
    assert_eq!(sqlite_columns, pg_columns);
}

#[test]
fn database_urls_in_every_documented_form_open_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    for form in ["sqlite://{}", "sqlite:{}", "{}"] {
        let path = dir.path().join(format!("f{}.db", form.len()));
        let raw = form.replace("{}", &path.display().to_string());
        let url = DatabaseUrl::parse(&raw).unwrap();
        let mut conn = lms_core::db::connect(&url).unwrap();
        lms_core::db::run_migrations(&mut conn).unwrap();
        assert!(path.exists(), "{raw}");
    }
}

#[test]
fn a_missing_folder_or_unreachable_server_is_a_clear_error_not_a_panic() {
    let missing = DatabaseUrl::parse("/nonexistent-folder-xyz/lms.db").unwrap();
    let error = lms_core::db::connect(&missing).err().expect("must fail");
    assert!(matches!(error, DbError::Connect { .. }));
    assert!(error.to_string().contains("n'existe pas"), "{error}");
    assert_eq!(error.kind(), ErrorKind::Unavailable);

    let unreachable = DatabaseUrl::parse("postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=2").unwrap();
    let error = lms_core::db::connect(&unreachable).err().expect("must fail");
    let message = error.to_string();
    assert!(message.contains("***"), "password must be redacted: {message}");
    assert!(!message.contains("secret"), "{message}");
}

#[test]
fn constraint_violations_surface_as_typed_errors() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();

    let new_user = NewUser {
        email: "dup@example.org".into(),
        display_name: "Dup".into(),
        role: Role::Trainee,
        password: "un mot de passe solide".into(),
    };
    people::add_user(&mut conn, &new_user).unwrap();
    let error =
        people::add_user(&mut conn, &NewUser { email: "DUP@example.org".into(), ..new_user.clone() }).unwrap_err();
    assert!(matches!(error, PeopleError::EmailTaken(_)), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert_eq!(people::list_users(&mut conn, None).unwrap().len(), 1, "nothing written on refusal");

    let venue = NewVenue {
        slug: "rupellab-la-rochelle".into(),
        name: "Doublon".into(),
        kinds: vec!["fablab".into()],
        commune_insee: "17300".into(),
        postcode: None,
        address: None,
        lat: None,
        lon: None,
        description: String::new(),
        accessible_pmr: None,
        accessibility_note: None,
        source: None,
        ..NewVenue::default()
    };
    let error = lms_core::venues::create_venue(&mut conn, &venue).unwrap_err();
    assert!(matches!(error, VenueError::DuplicateSlug(_)), "{error:?}");
    let error = lms_core::venues::create_venue(
        &mut conn,
        &NewVenue { slug: "nouveau-lieu".into(), commune_insee: "99999".into(), ..venue.clone() },
    )
    .unwrap_err();
    assert!(matches!(error, VenueError::UnknownCommune(_)), "{error:?}");
    let error = lms_core::venues::create_venue(
        &mut conn,
        &NewVenue { slug: "nouveau-lieu".into(), kinds: vec!["<script>".into()], ..venue.clone() },
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Invalid);
    let count: i64 = venues::table.count().get_result(&mut conn).unwrap();
    assert_eq!(count, 66, "nothing written on refusal");

    // Constraints hit directly (a bug elsewhere would look like this) are typed errors too.
    use lms_core::db::schema::{commune_postcodes, communes};
    let raw = diesel::insert_into(commune_postcodes::table)
        .values((commune_postcodes::postcode.eq("00000"), commune_postcodes::insee.eq("XXXXX")))
        .execute(&mut conn);
    let error = DbError::from(raw.expect_err("unknown commune violates a foreign key"));
    assert!(error.is_constraint_violation(), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Conflict);
    let raw = diesel::update(communes::table.filter(communes::insee.eq("17300")))
        .set(communes::lat.eq(500.0))
        .execute(&mut conn);
    let error = DbError::from(raw.expect_err("latitude 500 violates a CHECK"));
    assert!(error.is_constraint_violation(), "{error:?}");
}
