//! Rendering: a table for people, JSON for scripts (the same view types the API uses).
//!
//! Everything goes through [`line`]: when the reader of a pipe has gone (`lms … | head`), the
//! program ends quietly with success instead of panicking like `println!`.

use std::io::Write as _;
use std::process::ExitCode;

use comfy_table::{ContentArrangement, Table, presets::UTF8_BORDERS_ONLY};
use serde::Serialize;

use crate::{Context, Failure};

/// Writes one line to standard output. A closed pipe ends the program quietly (exit 0: the
/// reader asked for no more); any other write error ends it with the usual one-line refusal.
pub fn line(text: std::fmt::Arguments<'_>) {
    write_out(format_args!("{text}\n"));
}

/// Writes text as is (no newline added), with the same closed-pipe rule as [`line`].
pub fn text(text: &str) {
    write_out(format_args!("{text}"));
}

fn write_out(text: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(text).and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "erreur [io_error] : écriture sur la sortie standard impossible : {e}"
            );
            std::process::exit(1);
        }
    }
}

/// Prints `value` as pretty JSON.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<ExitCode, Failure> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| Failure::new("internal_error", format!("JSON : {e}")))?;
    outln!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Prints rows as a table, or `value` as JSON with `--json`.
pub fn listing<T: Serialize + ?Sized>(
    context: &Context,
    value: &T,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> Result<ExitCode, Failure> {
    if context.json {
        return json(value);
    }
    if rows.is_empty() {
        outln!("(aucun résultat)");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_content_arrangement(ContentArrangement::Dynamic).set_header(header);
    for row in rows {
        table.add_row(row);
    }
    outln!("{table}");
    Ok(ExitCode::SUCCESS)
}
