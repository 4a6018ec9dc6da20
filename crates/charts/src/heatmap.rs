//! The correlation heat map, coloured on a diverging scale centred on zero.

use super::*;

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
