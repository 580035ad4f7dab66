//! The benchmarks' latency distributions as an SVG chart (plotters): one curve per series, the
//! latency at each percentile from p0 to p100, on a log scale.

use plotters::prelude::*;
use std::path::Path;
use std::time::Duration;

/// Named latencies (any order).
pub struct Series {
    pub name: String,
    pub latencies: Vec<Duration>,
}

/// Points per curve: p0 to p100 in steps of 0.1.
const STEPS: u32 = 1000;

/// Writes the chart of `series` (those with latencies) to `path`. A log scale has no zero: a
/// latency of 0 (a callback that arrived before its acknowledgement was read) is drawn at the
/// bottom edge.
pub fn percentiles(path: &Path, title: &str, series: &[Series]) -> Result<(), String> {
    let curves: Vec<(&str, Vec<(f64, f64)>)> =
        series.iter().filter(|s| !s.latencies.is_empty()).map(|s| (s.name.as_str(), curve(&s.latencies))).collect();
    let all = || curves.iter().flat_map(|(_, points)| points.iter().map(|p| p.1)).filter(|ms| *ms > 0.0);
    let (low, high) = match (all().reduce(f64::min), all().reduce(f64::max)) {
        (Some(low), Some(high)) => (low / 1.5, high * 1.5),
        _ => (0.001, 1.0),
    };
    let curves: Vec<(&str, Vec<(f64, f64)>)> = curves
        .into_iter()
        .map(|(name, points)| (name, points.into_iter().map(|(p, ms)| (p, ms.max(low))).collect()))
        .collect();
    draw(path, title, &curves, low, high).map_err(|e| format!("cannot write the plot {}: {e}", path.display()))
}

fn draw(
    path: &Path,
    title: &str,
    curves: &[(&str, Vec<(f64, f64)>)],
    low: f64,
    high: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1200, 720)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d(0f64..100f64, (low..high).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms, log scale)")
        .x_label_formatter(&|p| format!("p{p:.0}"))
        .y_labels(12)
        .y_label_formatter(&|ms| milliseconds(*ms))
        .light_line_style(BLACK.mix(0.03))
        .draw()?;
    for (i, (name, points)) in curves.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// A tick of the latency axis: three significant digits at most, no trailing zeros.
fn milliseconds(ms: f64) -> String {
    let decimals = (2.0 - ms.log10().floor()).clamp(0.0, 6.0) as usize;
    let text = format!("{ms:.decimals$}");
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_owned(),
        false => text,
    }
}

/// `(percentile, latency in ms)` from p0 to p100.
fn curve(latencies: &[Duration]) -> Vec<(f64, f64)> {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let last = sorted.len() - 1;
    (0..=STEPS)
        .map(|step| {
            let q = f64::from(step) / f64::from(STEPS);
            let at = sorted[(last as f64 * q).round() as usize];
            (q * 100.0, at.as_secs_f64() * 1000.0)
        })
        .collect()
}
