//! The register as CSV (`lms export csv complaints`): one row per complaint, dates and steps,
//! no message body and no author address (the register proves handling, it is not a mailbox).

use std::io::Write;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::{ComplaintKind, ComplaintStatus, paris_date};
use crate::db::DbConn;
use crate::db::DbError;
use crate::db::ids::ComplaintId;
use crate::db::schema::{complaints, training_sessions};
use crate::exports::ExportError;

/// The stable columns of the `complaints` CSV kind.
pub const COLUMNS: &[&str] = &[
    "reference",
    "kind",
    "status",
    "session",
    "subject",
    "received_at",
    "answer_due_on",
    "acknowledged_at",
    "answered_at",
    "closed_at",
    "deadline_kept",
];

const PAGE: i64 = 1_000;

#[derive(Queryable)]
struct CsvRow {
    id: ComplaintId,
    reference: String,
    kind: ComplaintKind,
    status: ComplaintStatus,
    session: Option<String>,
    subject: String,
    received_at: NaiveDateTime,
    answer_due_on: NaiveDate,
    acknowledged_at: Option<NaiveDateTime>,
    answered_at: Option<NaiveDateTime>,
    closed_at: Option<NaiveDateTime>,
}

fn instant(at: Option<NaiveDateTime>) -> String {
    at.map(|at| at.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

/// Writes every complaint, page by page (keyset on the id), inside the caller's read transaction.
/// `deadline_kept` is `yes` or `no` once answered, empty before.
pub(crate) fn write_csv<W: Write>(conn: &mut DbConn, out: &mut csv::Writer<W>) -> Result<u64, ExportError> {
    let mut after = String::new();
    let mut count = 0;
    loop {
        let page: Vec<CsvRow> = complaints::table
            .left_join(training_sessions::table)
            .filter(complaints::id.gt(&after))
            .order(complaints::id.asc())
            .limit(PAGE)
            .select((
                complaints::id,
                complaints::reference,
                complaints::kind,
                complaints::status,
                training_sessions::reference.nullable(),
                complaints::subject,
                complaints::received_at,
                complaints::answer_due_on,
                complaints::acknowledged_at,
                complaints::answered_at,
                complaints::closed_at,
            ))
            .load(conn)
            .map_err(DbError::from)?;
        let Some(last) = page.last() else { return Ok(count) };
        after = last.id.to_string();
        for c in page {
            let kept = match c.answered_at {
                Some(at) if paris_date(at) <= c.answer_due_on => "yes",
                Some(_) => "no",
                None => "",
            };
            out.write_record([
                c.reference,
                c.kind.as_str().to_owned(),
                c.status.as_str().to_owned(),
                c.session.unwrap_or_default(),
                c.subject,
                instant(Some(c.received_at)),
                c.answer_due_on.to_string(),
                instant(c.acknowledged_at),
                instant(c.answered_at),
                instant(c.closed_at),
                kept.to_owned(),
            ])
            .map_err(|e| ExportError::Io(format!("écriture CSV impossible : {e}")))?;
            count += 1;
        }
    }
}
