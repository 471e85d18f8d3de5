//! The attendance ledger detects rows edited, deleted or inserted behind the application's back.

use diesel::prelude::*;
use lms_core::attendance::{self, AttendanceError, AttendanceStatus, SignatureMethod, TraineeStatusInput};
use lms_core::db::schema::{attendance_entries, training_sessions};
use lms_tests::{Seed, TestDb};

fn demo_session(conn: &mut lms_core::DbConn) -> lms_core::db::ids::TrainingSessionId {
    training_sessions::table
        .filter(training_sessions::reference.eq("PTL-NA-DEMO-1"))
        .select(training_sessions::id)
        .first(conn)
        .unwrap()
}

fn problems(conn: &mut lms_core::DbConn) -> Vec<String> {
    attendance::verify_ledger(conn, None).unwrap().problems.into_iter().map(|p| p.problem).collect()
}

#[test]
fn tampering_with_stored_rows_is_detected() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    assert!(problems(&mut conn).is_empty());

    // Someone turns an absence into a presence directly in the database.
    diesel::sql_query("UPDATE attendance_entries SET status = 'present' WHERE status = 'absent'")
        .execute(&mut conn)
        .unwrap();
    assert_eq!(problems(&mut conn), ["edited"]);
    diesel::sql_query("UPDATE attendance_entries SET status = 'absent' WHERE kind = 'trainee_status' AND late_minutes = 0 AND method = 'trainer_entry' AND reason IS NULL").execute(&mut conn).unwrap();
    assert!(problems(&mut conn).is_empty(), "restoring the value restores the chain");

    // Someone deletes an entry in the middle…
    let middle: i64 = attendance_entries::table
        .filter(attendance_entries::training_session_id.eq(&session))
        .select(diesel::dsl::max(attendance_entries::seq))
        .first::<Option<i64>>(&mut conn)
        .unwrap()
        .unwrap()
        / 2;
    diesel::delete(
        attendance_entries::table
            .filter(attendance_entries::training_session_id.eq(&session))
            .filter(attendance_entries::seq.eq(middle)),
    )
    .execute(&mut conn)
    .unwrap();
    let found = attendance::verify_ledger(&mut conn, Some(&session)).unwrap().problems;
    assert!(found.iter().any(|p| p.problem == "missing" && p.seq == middle), "{found:?}");

    // …or the last one.
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let last: i64 =
        training_sessions::table.find(&session).select(training_sessions::ledger_seq).first(&mut conn).unwrap();
    diesel::delete(
        attendance_entries::table
            .filter(attendance_entries::seq.eq(last))
            .filter(attendance_entries::training_session_id.eq(&session)),
    )
    .execute(&mut conn)
    .unwrap();
    assert_eq!(problems(&mut conn), ["truncated"]);
}

#[test]
fn attendance_is_refused_for_strangers_and_future_half_days() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let detail = lms_core::catalogue::show_training_session(&mut conn, &session).unwrap();
    let now = lms_core::db::now();
    let future = detail.half_days.iter().find(|h| h.starts_at > now).unwrap();
    let past = detail.half_days.iter().find(|h| h.ends_at < now).unwrap();
    let trainee = lms_core::people::user_id_by_email(&mut conn, "lea.dubois@example.org").unwrap().unwrap();
    let stranger = lms_core::people::user_id_by_email(&mut conn, "hugo.blanc@example.org").unwrap().unwrap();
    let trainer = lms_core::people::user_id_by_email(&mut conn, "formatrice.charente@demo.tierslieux.example.org")
        .unwrap()
        .unwrap();
    let input = |half_day: &lms_core::db::ids::HalfDayId, who: &lms_core::db::ids::UserId| TraineeStatusInput {
        half_day: half_day.clone(),
        trainee: who.clone(),
        status: AttendanceStatus::Present,
        late_minutes: 0,
        left_early_minutes: 0,
        reason: None,
        method: SignatureMethod::TrainerEntry,
        signature_data: None,
        evidence_sha256: None,
    };
    let before: i64 = attendance_entries::table.count().get_result(&mut conn).unwrap();
    assert!(matches!(
        attendance::record_trainee_status(&mut conn, &session, &trainer, &input(&future.id, &trainee), now),
        Err(AttendanceError::NotStarted)
    ));
    assert!(matches!(
        attendance::record_trainee_status(&mut conn, &session, &trainer, &input(&past.id, &stranger), now),
        Err(AttendanceError::NotATrainee)
    ));
    // The past half-day is co-signed: a change needs a reason.
    assert!(matches!(
        attendance::record_trainee_status(&mut conn, &session, &trainer, &input(&past.id, &trainee), now),
        Err(AttendanceError::ClosedHalfDay)
    ));
    let after: i64 = attendance_entries::table.count().get_result(&mut conn).unwrap();
    assert_eq!(before, after, "nothing written on refusal");
    let corrected = TraineeStatusInput {
        reason: Some("Erreur de saisie".into()),
        status: AttendanceStatus::Late,
        late_minutes: 10,
        ..input(&past.id, &trainee)
    };
    attendance::record_trainee_status(&mut conn, &session, &trainer, &corrected, now).unwrap();
    assert!(problems(&mut conn).is_empty());
}
