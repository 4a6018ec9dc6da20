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
pub use bars::grouped_bars;

/// A labelled point: (label, x, y).
pub type LabelledPoint = (String, f64, f64);

/// The efficient frontier (volatility, return pairs in %), the individual assets, and marked
/// portfolios (e.g. minimum variance, maximum Sharpe), all labelled.
pub fn efficient_frontier(
    title: &str,
    frontier: &[(f64, f64)],
    assets: &[LabelledPoint],
    marked: &[LabelledPoint],
    format: Format,
) -> Result<Vec<u8>, ChartError> {
    let xs = frontier
        .iter()
        .map(|p| p.0)
        .chain(assets.iter().map(|a| a.1));
    let ys = frontier
        .iter()
        .map(|p| p.1)
        .chain(assets.iter().map(|a| a.2));
    let (x_range, y_range) = (padded(xs), padded(ys));
    render!(
        format,
        |root: DrawingArea<_, Shift>| -> Result<(), ChartError> {
            root.fill(&WHITE).map_err(fail)?;
            let mut chart = plane(
                &root,
                title,
                x_range.clone(),
                y_range.clone(),
                "annual volatility (%)",
                "annual return (%)",
            )?;
            chart
                .draw_series(LineSeries::new(
                    frontier.iter().copied(),
                    PALETTE[0].stroke_width(3),
                ))
                .map_err(fail)?
                .label("efficient frontier")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[0].stroke_width(3))
                });
            chart
                .draw_series(
                    assets
                        .iter()
                        .map(|(_, x, y)| Circle::new((*x, *y), 5, PALETTE[5].filled())),
                )
                .map_err(fail)?
                .label("assets")
                .legend(|(x, y)| Circle::new((x + 10, y), 5, PALETTE[5].filled()));
            let labels: Vec<(String, (i32, i32))> = assets
                .iter()
                .map(|(label, x, y)| (label.clone(), chart.backend_coord(&(*x, *y))))
                .collect();
            place_labels(&root, &labels)?;
            for (i, (label, x, y)) in marked.iter().enumerate() {
                let color = PALETTE[(i + 1) % PALETTE.len()];
                chart
                    .draw_series(std::iter::once(TriangleMarker::new(
                        (*x, *y),
                        9,
                        color.filled(),
                    )))
                    .map_err(fail)?
                    .label(label.clone())
                    .legend(move |(lx, ly)| TriangleMarker::new((lx + 10, ly), 7, color.filled()));
            }
            draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
            root.present().map_err(fail)
        }
    )
}

/// Assets on a volatility–return plane (both in %), each labelled.
pub fn risk_return_scatter(
    title: &str,
    assets: &[LabelledPoint],
    format: Format,
) -> Result<Vec<u8>, ChartError> {
    let (x_range, y_range) = (
        padded(assets.iter().map(|a| a.1)),
        padded(assets.iter().map(|a| a.2)),
    );
    render!(
        format,
        |root: DrawingArea<_, Shift>| -> Result<(), ChartError> {
            root.fill(&WHITE).map_err(fail)?;
            let mut chart = plane(
                &root,
                title,
                x_range.clone(),
                y_range.clone(),
                "annual volatility (%)",
                "annual return (%)",
            )?;
            chart
                .draw_series(
                    assets
                        .iter()
                        .map(|(_, x, y)| Circle::new((*x, *y), 6, PALETTE[0].filled())),
                )
                .map_err(fail)?;
            let labels: Vec<(String, (i32, i32))> = assets
                .iter()
                .map(|(label, x, y)| (label.clone(), chart.backend_coord(&(*x, *y))))
                .collect();
            place_labels(&root, &labels)?;
            root.present().map_err(fail)
        }
    )
}

/// How dated lines are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lines {
    /// Every series in the palette, full dates on the axis.
    Plain,
    /// The last series is a benchmark, drawn grey; months on the axis (for narrow panels).
    AgainstBenchmark,
}

/// The first and last date of some series (a flat range widened by a day).
pub(crate) fn date_range<'a>(
    dates: impl Iterator<Item = &'a NaiveDate>,
) -> Result<(NaiveDate, NaiveDate), ChartError> {
    let (first, last) = dates.fold((NaiveDate::MAX, NaiveDate::MIN), |(a, b), d| {
        (a.min(*d), b.max(*d))
    });
    if first > last {
        return Err(ChartError("no data points to draw".into()));
    }
    let last = if last == first {
        last + chrono::Duration::days(1)
    } else {
        last
    };
    Ok((first, last))
}

/// Dated lines in one drawing area, with a legend where the lines are not.
pub(crate) fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_description: &str,
    series: &[(String, Vec<(NaiveDate, f64)>)],
    style: Lines,
) -> Result<(), ChartError> {
    let (first, last) = date_range(series.iter().flat_map(|(_, s)| s.iter().map(|p| &p.0)))?;
    let y_range = padded(series.iter().flat_map(|(_, s)| s.iter().map(|p| p.1)));
    let (labels, date_format) = match style {
        Lines::Plain => (8, "%Y-%m-%d"),
        Lines::AgainstBenchmark => (6, "%Y-%m"),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, title_style())
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(first..last, y_range)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_desc("date")
        .y_desc(y_description)
        .x_labels(labels)
        .x_label_formatter(&|d: &NaiveDate| d.format(date_format).to_string())
        .label_style(label_style())
        .axis_desc_style(label_style())
        .draw()
        .map_err(fail)?;
    for (i, (name, points)) in series.iter().enumerate() {
        let color = if style == Lines::AgainstBenchmark && i + 1 == series.len() && i > 0 {
            RGBColor(110, 110, 110)
        } else {
            PALETTE[i % PALETTE.len()]
        };
        // Thousands of daily points read better as a thin line.
        let width = if points.len() > 600 { 1 } else { 2 };
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(width),
            ))
            .map_err(fail)?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    // Drawdowns and other non-positive series hug the top edge: keep the legend below.
    let position = if series.iter().all(|(_, s)| s.iter().all(|p| p.1 <= 0.0)) {
        SeriesLabelPosition::LowerLeft
    } else {
        SeriesLabelPosition::UpperLeft
    };
    draw_legend(&mut chart, position)
}

/// One or more dated series on a shared date axis.
pub fn time_series(
    title: &str,
    y_description: &str,
    series: &[(String, Vec<(NaiveDate, f64)>)],
    format: Format,
) -> Result<Vec<u8>, ChartError> {
    render!(
        format,
        |root: DrawingArea<_, Shift>| -> Result<(), ChartError> {
            root.fill(&WHITE).map_err(fail)?;
            draw_lines(&root, title, y_description, series, Lines::Plain)?;
            root.present().map_err(fail)
        }
    )
}

/// A yield curve point: (tenor label, years, rate in %, published that day).
pub type CurvePoint = (String, f64, f64, bool);

/// A yield curve against maturity in years; filled (not published) tenors drawn hollow.
pub fn yield_curve(
    title: &str,
    points: &[CurvePoint],
    format: Format,
) -> Result<Vec<u8>, ChartError> {
    let y_range = padded(points.iter().map(|p| p.2));
    render!(
        format,
        |root: DrawingArea<_, Shift>| -> Result<(), ChartError> {
            root.fill(&WHITE).map_err(fail)?;
            let mut chart = plane(
                &root,
                title,
                0.0..31.0,
                y_range.clone(),
                "maturity (years)",
                "par yield (%)",
            )?;
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|p| (p.1, p.2)),
                    PALETTE[0].stroke_width(2),
                ))
                .map_err(fail)?;
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|p| p.3)
                        .map(|p| Circle::new((p.1, p.2), 5, PALETTE[0].filled())),
                )
                .map_err(fail)?
                .label("published")
                .legend(|(x, y)| Circle::new((x + 10, y), 5, PALETTE[0].filled()));
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|p| !p.3)
                        .map(|p| Circle::new((p.1, p.2), 5, PALETTE[1].stroke_width(2))),
                )
                .map_err(fail)?
                .label("filled (not published)")
                .legend(|(x, y)| Circle::new((x + 10, y), 5, PALETTE[1].stroke_width(2)));
            chart
                .draw_series(points.iter().filter(|p| p.1 >= 1.0).map(|p| {
                    Text::new(
                        p.0.clone(),
                        (p.1, p.2),
                        ("sans-serif", 13).into_font().color(&BLACK),
                    )
                }))
                .map_err(fail)?;
            draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
            root.present().map_err(fail)
        }
    )
}

/// A normal QQ plot: (theoretical quantile, sample quantile) pairs and the line mean + sd·z.
pub fn qq_plot(
    title: &str,
    points: &[(f64, f64)],
    line: (f64, f64),
    y_description: &str,
    format: Format,
) -> Result<Vec<u8>, ChartError> {
    let x_range = padded(points.iter().map(|p| p.0));
    let y_range = padded(points.iter().map(|p| p.1));
    render!(
        format,
        |root: DrawingArea<_, Shift>| -> Result<(), ChartError> {
            root.fill(&WHITE).map_err(fail)?;
            let mut chart = plane(
                &root,
                title,
                x_range.clone(),
                y_range.clone(),
                "standard normal quantile",
                y_description,
            )?;
            let (x0, x1) = (x_range.start, x_range.end);
            chart
                .draw_series(LineSeries::new(
                    [(x0, line.0 + line.1 * x0), (x1, line.0 + line.1 * x1)],
                    PALETTE[1].stroke_width(2),
                ))
                .map_err(fail)?
                .label("normal with the sample's mean and deviation")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[1].stroke_width(2))
                });
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|p| Circle::new(*p, 3, PALETTE[0].filled())),
                )
                .map_err(fail)?
                .label("sample quantiles")
                .legend(|(x, y)| Circle::new((x + 10, y), 3, PALETTE[0].filled()));
            draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
            root.present().map_err(fail)
        }
    )
}

/// A histogram of `values` in `bins` equal bins, with an optional normal density (mean, sd)
/// scaled to the counts.
pub fn histogram(
    title: &str,
    values: &[f64],
    bins: usize,
    normal: Option<(f64, f64)>,
    x_description: &str,
    format: Format,
) -> Result<Vec<u8>, ChartError> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() || bins == 0 {
        return Err(ChartError("no values to draw".into()));
    }
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0usize; bins];
    for v in &finite {
        let index = (((v - lo) / width) as usize).min(bins - 1);
        counts[index] += 1;
    }
    let top = *counts.iter().max().unwrap_or(&1) as f64 * 1.12;
    let scale = finite.len() as f64 * width;
    render!(
        format,
        |root: DrawingArea<_, Shift>| -> Result<(), ChartError> {
            root.fill(&WHITE).map_err(fail)?;
            let mut chart = plane(
                &root,
                title,
                lo - width..hi + width,
                0.0..top,
                x_description,
                "number of days",
            )?;
            chart
                .draw_series(counts.iter().enumerate().map(|(i, c)| {
                    let x0 = lo + i as f64 * width;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + width, *c as f64)],
                        PALETTE[0].mix(0.6).filled(),
                    )
                }))
                .map_err(fail)?
                .label("observed")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 15, y + 5)], PALETTE[0].mix(0.6).filled())
                });
            if let Some((mean, sd)) = normal.filter(|(_, sd)| *sd > 0.0) {
                let curve = (0..=200).map(|k| {
                    let x = lo - width + (hi - lo + 2.0 * width) * k as f64 / 200.0;
                    let z = (x - mean) / sd;
                    (
                        x,
                        scale * (-0.5 * z * z).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt()),
                    )
                });
                chart
                    .draw_series(LineSeries::new(curve, PALETTE[1].stroke_width(2)))
                    .map_err(fail)?
                    .label("normal with the sample's mean and deviation")
                    .legend(|(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[1].stroke_width(2))
                    });
            }
            draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            root.present().map_err(fail)
        }
    )
}

/// A blue (−1) – white (0) – red (+1) colour.
fn diverging(value: f64) -> RGBColor {
    let v = value.clamp(-1.0, 1.0);
    let mix = |from: u8, to: u8, t: f64| {
        (f64::from(from) + (f64::from(to) - f64::from(from)) * t).round() as u8
    };
    if v >= 0.0 {
        RGBColor(mix(255, 178, v), mix(255, 24, v), mix(255, 43, v))
    } else {
        RGBColor(mix(255, 33, -v), mix(255, 102, -v), mix(255, 172, -v))
    }
}

/// A correlation heat map with each cell's value printed in it.
pub fn heat_map(
    title: &str,
    labels: &[String],
    matrix: &[Vec<f64>],
    format: Format,
) -> Result<Vec<u8>, ChartError> {
    let n = labels.len();
    if n == 0 || matrix.len() != n {
        return Err(ChartError(
            "the matrix and its labels differ in size".into(),
        ));
    }
    render!(
        format,
        |root: DrawingArea<_, Shift>| -> Result<(), ChartError> {
            root.fill(&WHITE).map_err(fail)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, title_style())
                .margin(20)
                .x_label_area_size(60)
                .y_label_area_size(80)
                .build_cartesian_2d(0.0..n as f64, 0.0..n as f64)
                .map_err(fail)?;
            let name = |v: &f64| {
                let index = v.floor() as usize;
                if (v - v.floor() - 0.5).abs() < 1e-9 && index < n {
                    labels[index].clone()
                } else {
                    String::new()
                }
            };
            let name_y = |v: &f64| {
                let index = v.floor() as usize;
                if (v - v.floor() - 0.5).abs() < 1e-9 && index < n {
                    labels[n - 1 - index].clone()
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(2 * n + 1)
                .y_labels(2 * n + 1)
                .x_label_formatter(&name)
                .y_label_formatter(&name_y)
                .x_desc("ticker")
                .y_desc("ticker")
                .label_style(label_style())
                .axis_desc_style(label_style())
                .draw()
                .map_err(fail)?;
            for (i, row) in matrix.iter().enumerate() {
                for (j, &value) in row.iter().enumerate().take(n) {
                    let (x, y) = (j as f64, (n - 1 - i) as f64);
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(x, y), (x + 1.0, y + 1.0)],
                            diverging(value).filled(),
                        )))
                        .map_err(fail)?;
                    if n <= 20 {
                        let text = format!("{value:.2}");
                        let style = ("sans-serif", if n <= 8 { 16 } else { 11 })
                            .into_font()
                            .color(&BLACK)
                            .pos(plotters::style::text_anchor::Pos::new(
                                plotters::style::text_anchor::HPos::Center,
                                plotters::style::text_anchor::VPos::Center,
                            ));
                        chart
                            .draw_series(std::iter::once(Text::new(
                                text,
                                (x + 0.5, y + 0.5),
                                style,
                            )))
                            .map_err(fail)?;
                    }
                }
            }
            root.present().map_err(fail)
        }
    )
}

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
