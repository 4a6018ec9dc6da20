//! A backtest at a glance: equity, drawdown, rolling volatility and Sharpe ratio of every
//! strategy beside the benchmark, and one strategy's weights over time as a stacked area — the
//! panels a tear sheet shows, in one figure (`plot-backtest`) or one by one (the HTML report).

use super::*;

/// A dated series.
pub type Dated = Vec<(NaiveDate, f64)>;

/// Weights (one per name) on each date.
pub type DatedWeights = [(NaiveDate, Vec<f64>)];

/// What the figure shows.
#[derive(Debug, Clone, Copy)]
pub struct BacktestFigure<'a> {
    /// The figure's title.
    pub title: &'a str,
    /// Growth of 1 per run.
    pub equity: &'a [(String, Dated)],
    /// Drawdown in % per run (≤ 0).
    pub drawdown: &'a [(String, Dated)],
    /// Sessions of the rolling measures.
    pub rolling: usize,
    /// Rolling annualised volatility in % per run.
    pub volatility: &'a [(String, Dated)],
    /// Rolling Sharpe ratio per run.
    pub sharpe: &'a [(String, Dated)],
    /// One strategy's weights: its name, the tickers, and the weights on each date.
    pub weights: Option<(&'a str, &'a [String], &'a DatedWeights)>,
}

const FIGURE: (u32, u32) = (1400, 1200);

/// Twenty distinguishable colours for stacked weights (Tableau 20).
const MANY: [RGBColor; 20] = [
    RGBColor(31, 119, 180),
    RGBColor(174, 199, 232),
    RGBColor(255, 127, 14),
    RGBColor(255, 187, 120),
    RGBColor(44, 160, 44),
    RGBColor(152, 223, 138),
    RGBColor(214, 39, 40),
    RGBColor(255, 152, 150),
    RGBColor(148, 103, 189),
    RGBColor(197, 176, 213),
    RGBColor(140, 86, 75),
    RGBColor(196, 156, 148),
    RGBColor(227, 119, 194),
    RGBColor(247, 182, 210),
    RGBColor(127, 127, 127),
    RGBColor(199, 199, 199),
    RGBColor(188, 189, 34),
    RGBColor(219, 219, 141),
    RGBColor(23, 190, 207),
    RGBColor(158, 218, 229),
];

/// Weights over time as stacked areas (long positions only stack meaningfully; negative
/// weights are drawn from zero down).
pub(crate) fn draw_stacked<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    names: &[String],
    points: &DatedWeights,
) -> Result<(), ChartError> {
    let (first, last) = date_range(points.iter().map(|p| &p.0))?;
    let top = points
        .iter()
        .map(|(_, w)| w.iter().filter(|v| **v > 0.0).sum::<f64>())
        .fold(1.0f64, f64::max);
    let bottom = points
        .iter()
        .map(|(_, w)| w.iter().filter(|v| **v < 0.0).sum::<f64>())
        .fold(0.0f64, f64::min);
    // The legend gets a column of its own at the right: twenty tickers inside the plot would
    // hide the weights they name.
    let (width, _) = area.dim_in_pixel();
    let (area, legend) = area.split_horizontally(width.saturating_sub(120));
    let mut chart = ChartBuilder::on(&area)
        .caption(title, title_style())
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(first..last, (bottom * 100.0)..(top * 100.0))
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_desc("date")
        .y_desc("weight (%)")
        .x_labels(8)
        .x_label_formatter(&|d: &NaiveDate| d.format("%Y-%m").to_string())
        .label_style(label_style())
        .axis_desc_style(label_style())
        .draw()
        .map_err(fail)?;
    let mut below = vec![0.0; points.len()];
    for (j, name) in names.iter().enumerate() {
        let color = MANY[j % MANY.len()];
        let above: Vec<f64> = below
            .iter()
            .zip(points)
            .map(|(b, (_, w))| b + w.get(j).copied().unwrap_or(0.0).max(0.0) * 100.0)
            .collect();
        let mut outline: Vec<(NaiveDate, f64)> = points
            .iter()
            .zip(&above)
            .map(|((d, _), v)| (*d, *v))
            .collect();
        outline.extend(points.iter().zip(&below).rev().map(|((d, _), v)| (*d, *v)));
        chart
            .draw_series(std::iter::once(Polygon::new(
                outline,
                color.mix(0.9).filled(),
            )))
            .map_err(fail)?;
        let y = 60 + 18 * j as i32;
        legend
            .draw(&Rectangle::new([(6, y - 6), (20, y + 6)], color.filled()))
            .map_err(fail)?;
        legend
            .draw(&Text::new(
                name.clone(),
                (26, y - 7),
                ("sans-serif", 13).into_font().color(&BLACK),
            ))
            .map_err(fail)?;
        below = above;
    }
    Ok(())
}

/// The whole tear-sheet figure: equity and drawdown, rolling volatility and Sharpe ratio, and
/// the first strategy's weights.
pub fn backtest_figure(figure: &BacktestFigure<'_>, format: Format) -> Result<Vec<u8>, ChartError> {
    render!(
        format,
        FIGURE,
        |root: DrawingArea<_, Shift>| -> Result<(), ChartError> {
            root.fill(&WHITE).map_err(fail)?;
            let root = root
                .titled(figure.title, ("sans-serif", 28).into_font().color(&BLACK))
                .map_err(fail)?;
            let (upper, lower) = root.split_vertically(FIGURE.1 * 62 / 100);
            let cells = upper.split_evenly((2, 2));
            draw_lines(
                &cells[0],
                "Growth of 1",
                "equity",
                figure.equity,
                Lines::AgainstBenchmark,
            )?;
            draw_lines(
                &cells[1],
                "Drawdown",
                "drawdown (%)",
                figure.drawdown,
                Lines::AgainstBenchmark,
            )?;
            draw_lines(
                &cells[2],
                &format!("Rolling volatility ({} sessions)", figure.rolling),
                "annualised (%)",
                figure.volatility,
                Lines::AgainstBenchmark,
            )?;
            draw_lines(
                &cells[3],
                &format!("Rolling Sharpe ratio ({} sessions)", figure.rolling),
                "Sharpe ratio",
                figure.sharpe,
                Lines::AgainstBenchmark,
            )?;
            if let Some((name, tickers, points)) = figure.weights {
                draw_stacked(&lower, &format!("Weights of {name}"), tickers, points)?;
            }
            root.present().map_err(fail)
        }
    )
}

/// Weights over time as a chart of its own (the HTML report draws one per strategy).
pub fn weights_chart(
    title: &str,
    names: &[String],
    points: &DatedWeights,
    format: Format,
) -> Result<Vec<u8>, ChartError> {
    render!(
        format,
        |root: DrawingArea<_, Shift>| -> Result<(), ChartError> {
            root.fill(&WHITE).map_err(fail)?;
            draw_stacked(&root, title, names, points)?;
            root.present().map_err(fail)
        }
    )
}

/// Lines on a date axis as a chart of its own, drawn as in the figure (thin daily lines, the
/// benchmark — the last series — in grey).
pub fn lines_chart(
    title: &str,
    y_description: &str,
    series: &[(String, Dated)],
    format: Format,
) -> Result<Vec<u8>, ChartError> {
    render!(
        format,
        |root: DrawingArea<_, Shift>| -> Result<(), ChartError> {
            root.fill(&WHITE).map_err(fail)?;
            draw_lines(&root, title, y_description, series, Lines::AgainstBenchmark)?;
            root.present().map_err(fail)
        }
    )
}
