//! Rendering: a table for people, JSON for scripts (the same view types the API uses).

use std::process::ExitCode;

use comfy_table::{ContentArrangement, Table, presets::UTF8_BORDERS_ONLY};
use serde::Serialize;

use crate::{Context, Failure};

/// Prints `value` as pretty JSON.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<ExitCode, Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::new(format!("JSON : {e}")))?;
    println!("{text}");
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
        println!("(aucun résultat)");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_content_arrangement(ContentArrangement::Dynamic).set_header(header);
    for row in rows {
        table.add_row(row);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}
