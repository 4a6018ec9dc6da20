//! Portfolio pictures: the efficient frontier and the risk–return scatter, every point labelled.

use super::*;

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
