//! Lines over dates (prices, rolling statistics, a backtest's paths) and the yield curve: the
//! date axis and the line drawing the backtest figure shares.

use super::*;

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
