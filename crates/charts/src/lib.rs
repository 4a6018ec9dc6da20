//! Charts of Stratus results, rendered to SVG or PNG bytes.
//!
//! Results people would rather see than read — a frontier, a risk–return scatter, a rolling
//! correlation, a yield curve — are drawn here with plotters. Every function takes plain data
//! (no store, no analytics), so the same charts serve the CLI and, later, the web page. A font is
//! compiled in (DejaVu Sans, see `assets/`), so PNG text renders identically on a machine without
//! fonts installed. Axes carry units; scatter points carry their tickers.

use std::sync::OnceLock;

use chrono::NaiveDate;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const SIZE: (u32, u32) = (1000, 640);
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Scalable vector graphics.
    Svg,
    /// Portable network graphics.
    Png,
}

impl Format {
    /// The format a file name asks for, by extension.
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "svg" => Some(Format::Svg),
            "png" => Some(Format::Png),
            _ => None,
        }
    }
}

/// A chart that could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

fn fail(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

fn ensure_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ChartError("the bundled font could not be loaded".into()))
    }
}

/// Draws with `draw` into the requested format and returns the file's bytes.
macro_rules! render {
    ($format:expr, $draw:expr) => {
        render!($format, SIZE, $draw)
    };
    ($format:expr, $size:expr, $draw:expr) => {{
        ensure_font()?;
        let size: (u32, u32) = $size;
        match $format {
            Format::Svg => {
                let mut text = String::new();
                {
                    let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
                    $draw(root)?;
                }
                Ok(text.into_bytes())
            }
            Format::Png => {
                let mut pixels = vec![0u8; (size.0 * size.1 * 3) as usize];
                {
                    let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
                    $draw(root)?;
                }
                encode_png(&pixels, size)
            }
        }
    }};
}

fn encode_png(pixels: &[u8], size: (u32, u32)) -> Result<Vec<u8>, ChartError> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, size.0, size.1);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(fail)?;
        writer.write_image_data(pixels).map_err(fail)?;
    }
    Ok(bytes)
}

/// A range padded by 8 % on each side (and widened when flat).
fn padded(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let span = if hi > lo {
        hi - lo
    } else {
        lo.abs().max(1.0) * 0.1
    };
    (lo - 0.08 * span)..(hi + 0.08 * span)
}

fn title_style() -> TextStyle<'static> {
    ("sans-serif", 24).into_font().color(&BLACK)
}

fn label_style() -> TextStyle<'static> {
    ("sans-serif", 15).into_font().color(&BLACK)
}

/// Places each label next to its point where it overlaps no label placed before it and no
/// point, trying positions around the point in turn; pixel coordinates.
fn place_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    items: &[(String, (i32, i32))],
) -> Result<(), ChartError> {
    const HEIGHT: i32 = 15;
    let width = |label: &str| 9 * label.chars().count() as i32;
    let points: Vec<(i32, i32)> = items.iter().map(|(_, p)| *p).collect();
    let mut taken: Vec<(i32, i32, i32, i32)> = Vec::new();
    let overlaps = |a: (i32, i32, i32, i32), b: (i32, i32, i32, i32)| {
        a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
    };
    for (label, (x, y)) in items {
        let w = width(label);
        let candidates = [
            (x + 8, y - HEIGHT - 2),
            (x + 8, y + 3),
            (x - 8 - w, y - HEIGHT - 2),
            (x - 8 - w, y + 3),
            (x + 8, y - 2 * HEIGHT - 4),
            (x + 8, y + HEIGHT + 6),
            (x - 8 - w, y - 2 * HEIGHT - 4),
            (x - 8 - w, y + HEIGHT + 6),
        ];
        let free = |&(cx, cy): &(i32, i32)| {
            let bounds = (cx, cy, cx + w, cy + HEIGHT);
            !taken.iter().any(|t| overlaps(*t, bounds))
                && !points
                    .iter()
                    .any(|&(px, py)| overlaps((px - 7, py - 7, px + 7, py + 7), bounds))
        };
        let (cx, cy) = candidates
            .iter()
            .copied()
            .find(free)
            .unwrap_or(candidates[0]);
        taken.push((cx, cy, cx + w, cy + HEIGHT));
        root.draw(&Text::new(
            label.clone(),
            (cx, cy),
            ("sans-serif", 14).into_font().color(&BLACK),
        ))
        .map_err(fail)?;
    }
    Ok(())
}

/// The chart context of every chart with two numeric axes.
type Plane<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A titled chart with both axes described: the frame the numeric charts share.
fn plane<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    x_description: &str,
    y_description: &str,
) -> Result<Plane<'a, DB>, ChartError> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, title_style())
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_desc(x_description)
        .y_desc(y_description)
        .label_style(label_style())
        .axis_desc_style(label_style())
        .draw()
        .map_err(fail)?;
    Ok(chart)
}

/// The legend box every chart with named series draws.
fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), ChartError>
where
    DB: DrawingBackend + 'a,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(label_style())
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(fail)
}

mod bars;
mod distribution;
mod heatmap;
mod portfolio;
mod series;
pub use bars::grouped_bars;
pub use distribution::{histogram, qq_plot};
pub use heatmap::heat_map;
pub use portfolio::{LabelledPoint, efficient_frontier, risk_return_scatter};
pub use series::{CurvePoint, time_series, yield_curve};
pub(crate) use series::{Lines, date_range, draw_lines};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_render_to_both_formats() {
        let assets = vec![
            ("AAPL".to_string(), 30.0, 25.0),
            ("KO".to_string(), 18.0, 10.0),
        ];
        let svg = risk_return_scatter("test", &assets, Format::Svg).unwrap();
        let text = String::from_utf8(svg).unwrap();
        assert!(
            text.starts_with("<svg")
                && text.contains("AAPL")
                && text.contains("annual volatility (%)")
        );
        let png = risk_return_scatter("test", &assets, Format::Png).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let heat = heat_map(
            "ρ",
            &["A".into(), "B".into()],
            &[vec![1.0, -0.3], vec![-0.3, 1.0]],
            Format::Svg,
        )
        .unwrap();
        assert!(String::from_utf8(heat).unwrap().contains("-0.30"));
        assert!(histogram("h", &[], 10, None, "x", Format::Svg).is_err());
        assert_eq!(
            Format::from_path(std::path::Path::new("a.PNG")),
            Some(Format::Png)
        );
        assert_eq!(Format::from_path(std::path::Path::new("a.jpg")), None);
    }
}

mod backtest;
pub use backtest::{
    BacktestFigure, Dated, DatedWeights, backtest_figure, lines_chart, weights_chart,
};
