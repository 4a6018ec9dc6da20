//! Grouped bar charts: one group per category (a ticker), one bar per series (e.g. the share of
//! volatility and the share of CVaR each asset contributes).

use super::*;

/// Bars of `series` (name, one value per category) grouped by `categories`, values in `y_unit`.
pub fn grouped_bars(
    title: &str,
    categories: &[String],
    series: &[(String, Vec<f64>)],
    y_description: &str,
    format: Format,
) -> Result<Vec<u8>, ChartError> {
    if categories.is_empty() || series.is_empty() {
        return Err(ChartError("no bars to draw".into()));
    }
    if series.iter().any(|(_, v)| v.len() != categories.len()) {
        return Err(ChartError(
            "every series needs one value per category".into(),
        ));
    }
    let values = series.iter().flat_map(|(_, v)| v.iter().copied());
    let padded_range = padded(values.chain([0.0]));
    // Headroom above the tallest bar for the legend.
    let range =
        padded_range.start..padded_range.end + 0.25 * (padded_range.end - padded_range.start);
    let n = categories.len() as f64;
    let width = 0.8 / series.len() as f64;
    render!(
        format,
        |root: DrawingArea<_, Shift>| -> Result<(), ChartError> {
            root.fill(&WHITE).map_err(fail)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, title_style())
                .margin(20)
                .x_label_area_size(50)
                .y_label_area_size(70)
                .build_cartesian_2d(-0.6..n - 0.4, range.clone())
                .map_err(fail)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(categories.len() * 2 + 1)
                .x_label_formatter(&|x: &f64| {
                    let i = x.round();
                    if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < categories.len() {
                        categories[i as usize].clone()
                    } else {
                        String::new()
                    }
                })
                .y_desc(y_description)
                .label_style(label_style())
                .axis_desc_style(label_style())
                .draw()
                .map_err(fail)?;
            for (s, (name, bars)) in series.iter().enumerate() {
                let color = PALETTE[s % PALETTE.len()];
                let offset = -0.4 + s as f64 * width;
                chart
                    .draw_series(bars.iter().enumerate().map(|(i, v)| {
                        let x0 = i as f64 + offset;
                        Rectangle::new([(x0, 0.0), (x0 + width * 0.92, *v)], color.filled())
                    }))
                    .map_err(fail)?
                    .label(name.clone())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 15, y + 5)], color.filled())
                    });
            }
            draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
            root.present().map_err(fail)
        }
    )
}
