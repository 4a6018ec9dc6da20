//! Return distributions: the normal Q–Q plot and the histogram (with its fitted density).

use super::*;

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
