//! Rendering results: a table for people, one JSON document for programs, CSV for spreadsheets.
//! Every command builds all three from the same rows, so they cannot disagree.

use std::io::Write;

use serde_json::Value;

/// One table cell: the text people read, and for numbers the full-precision value a CSV file
/// gets instead (`-61.14%` on screen is `-0.6114285714285714` in a spreadsheet).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// As shown in the table.
    pub text: String,
    /// The number behind it, as written to CSV (shortest exact decimal; percentages as fractions).
    pub raw: Option<String>,
}

impl Cell {
    /// What a CSV file holds for this cell.
    pub fn csv(&self) -> &str {
        self.raw.as_deref().unwrap_or(&self.text)
    }

    fn number(text: String, value: f64) -> Cell {
        Cell {
            text,
            raw: Some(value.to_string()),
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell { text, raw: None }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::from(text.to_string())
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A table row from cells, strings and numbers alike.
#[macro_export]
macro_rules! cells {
    ($($cell:expr),* $(,)?) => {
        vec![$($crate::output::Cell::from($cell)),*]
    };
}

/// A command's result in every format.
#[derive(Debug)]
pub struct Output {
    /// The JSON document (scrilla's shapes).
    pub json: Value,
    /// Lines printed above the table (window, method, as-of dates).
    pub notes: Vec<String>,
    /// Table header.
    pub header: Vec<String>,
    /// Table rows.
    pub rows: Vec<Vec<Cell>>,
    /// A rendered chart for plot commands.
    pub chart: Option<Vec<u8>>,
}

impl Output {
    /// An output with a table.
    pub fn table(json: Value, header: Vec<String>, rows: Vec<Vec<Cell>>) -> Self {
        Output {
            json,
            notes: Vec::new(),
            header,
            rows,
            chart: None,
        }
    }

    /// An output whose table holds text only.
    pub fn text_table(json: Value, header: Vec<String>, rows: Vec<Vec<String>>) -> Self {
        let rows = rows
            .into_iter()
            .map(|row| row.into_iter().map(Cell::from).collect())
            .collect();
        Output::table(json, header, rows)
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
                widths[i] = widths[i].max(cell.text.chars().count());
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
            let texts: Vec<String> = row.iter().map(|c| c.text.clone()).collect();
            line(&texts, out)?;
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
        let header: Vec<&str> = self.header.iter().map(String::as_str).collect();
        let rows = self
            .rows
            .iter()
            .map(|row| row.iter().map(Cell::csv).collect::<Vec<_>>());
        for row in std::iter::once(header).chain(rows) {
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
pub fn num(value: f64) -> Cell {
    Cell::number(format!("{value:.4}"), value)
}

/// A percentage for a table (a fraction in CSV).
pub fn pct(value: f64) -> Cell {
    Cell::number(format!("{:.2}%", value * 100.0), value)
}

/// A price for a table (three decimals on screen).
pub fn price(value: f64) -> Cell {
    Cell::number(format!("{value:.3}"), value)
}

/// A currency amount for a table.
pub fn money(value: f64) -> Cell {
    Cell::number(format!("${value:.2}"), value)
}
