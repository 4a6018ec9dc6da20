//! Rendering results: a table for people, one JSON document for programs, CSV for spreadsheets.
//! Every command builds all three from the same rows, so they cannot disagree.

use std::io::Write;

use serde_json::Value;

/// A command's result in every format.
#[derive(Debug)]
pub struct Output {
    /// The JSON document (scrilla's shapes).
    pub json: Value,
    /// Lines printed above the table (window, method, as-of dates).
    pub notes: Vec<String>,
    /// Table header.
    pub header: Vec<String>,
    /// Table rows, already formatted.
    pub rows: Vec<Vec<String>>,
    /// A rendered chart for plot commands.
    pub chart: Option<Vec<u8>>,
}

impl Output {
    /// An output with a table.
    pub fn table(json: Value, header: Vec<String>, rows: Vec<Vec<String>>) -> Self {
        Output {
            json,
            notes: Vec::new(),
            header,
            rows,
            chart: None,
        }
    }

    /// Adds a note line.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Writes the human-readable form.
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for note in &self.notes {
            writeln!(out, "{note}")?;
        }
        if self.header.is_empty() {
            return Ok(());
        }
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String], out: &mut dyn Write| -> std::io::Result<()> {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                if i == 0 {
                    text.push_str(cell);
                    text.push_str(&" ".repeat(pad));
                } else {
                    text.push_str("  ");
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                }
            }
            writeln!(out, "{}", text.trim_end())
        };
        line(&self.header, out)?;
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(&rule, out)?;
        for row in &self.rows {
            line(row, out)?;
        }
        Ok(())
    }

    /// The table as CSV.
    pub fn csv(&self) -> String {
        let escape = |cell: &str| {
            if cell.contains([',', '"', '\n']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell.to_string()
            }
        };
        let mut text = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            text.push_str(
                &row.iter()
                    .map(|c| escape(c.trim()))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            text.push('\n');
        }
        text
    }
}

/// A number for a table.
pub fn num(value: f64) -> String {
    format!("{value:.4}")
}

/// A percentage for a table.
pub fn pct(value: f64) -> String {
    format!("{:.2}%", value * 100.0)
}

/// A currency amount for a table.
pub fn money(value: f64) -> String {
    format!("${value:.2}")
}
