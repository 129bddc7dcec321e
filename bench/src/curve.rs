//! The cost curve: how convergence time, calls, writes, CPU and memory grow with the number of
//! resources, from the scenarios marked `curve`, and its plot (`curve.png`).

use std::path::Path;

use crate::{
    BoxError,
    report::{CurvePoint, PhaseMedians},
    scenario::Scenario,
};
use plotters::{
    prelude::*,
    style::{FontStyle, register_font},
};

/// The curve's points, smallest first, from the medians of the `curve` scenarios.
pub fn points(scenarios: &[Scenario], medians: &[PhaseMedians], orgs: usize) -> Vec<CurvePoint> {
    let mut points: Vec<CurvePoint> = scenarios
        .iter()
        .filter(|s| s.curve)
        .filter_map(|s| {
            let phase = |name: &str| {
                medians
                    .iter()
                    .find(|m| m.scenario == s.name && m.phase == name)
            };
            let burst = phase("burst")?;
            let peak = phase("steady").map_or(burst.peak_rss_mib, |m| m.peak_rss_mib);
            let resources = burst.resources;
            Some(CurvePoint {
                scenario: s.name.clone(),
                resources,
                orgs: s.orgs.unwrap_or(orgs),
                burst_wall_seconds: burst.wall_seconds,
                ratio_to_lower_bound: burst.ratio_to_lower_bound,
                calls: burst.calls_total,
                apiserver_writes: burst.operator_writes_per_resource * resources as f64,
                cpu_seconds: burst.cpu_seconds,
                peak_rss_mib: peak,
                rss_mib_per_1000: per_1000(peak, resources),
                rss_growth_mib_per_1000: None,
            })
        })
        .collect();
    points.sort_by_key(|p| p.resources);
    for i in 1..points.len() {
        let (before, after) = (&points[i - 1], &points[i]);
        let more = after.resources.saturating_sub(before.resources);
        points[i].rss_growth_mib_per_1000 =
            (more > 0).then(|| per_1000(after.peak_rss_mib - before.peak_rss_mib, more));
    }
    points
}

/// The curve's section of README.md: its table and the plot.
pub fn markdown(points: &[CurvePoint]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if points.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\n## Cost curve (medians)\n");
    let _ = writeln!(
        out,
        "How the cost grows with the work: each row is a burst of that many resources (10 in 11 \
         org keys, 1 in 11 stacks), then steady state. Memory is the peak RSS after steady \
         state; growth is the slope from the row above.\n"
    );
    let _ = writeln!(
        out,
        "![Burst convergence time and peak RSS against resources]({})\n",
        crate::CURVE_PNG
    );
    let _ = writeln!(
        out,
        "| scenario | resources | orgs | burst wall s | measured / bound | grafana.com calls | \
         apiserver writes | operator CPU s | peak RSS MiB | RSS MiB per 1,000 resources | RSS \
         growth MiB per 1,000 more |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in points {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {} |",
            p.scenario,
            p.resources,
            p.orgs,
            p.burst_wall_seconds,
            p.ratio_to_lower_bound
                .map_or_else(|| "–".to_string(), |r| format!("{r:.2}")),
            p.calls,
            p.apiserver_writes,
            p.cpu_seconds,
            p.peak_rss_mib,
            p.rss_mib_per_1000,
            p.rss_growth_mib_per_1000
                .map_or_else(|| "–".to_string(), |g| format!("{g:.2}")),
        );
    }
    out
}

fn per_1000(mib: f64, resources: usize) -> f64 {
    match resources {
        0 => 0.0,
        n => mib * 1000.0 / n as f64,
    }
}

/// Font files tried, in order, for the plot's text (Debian's fonts-dejavu-core first).
const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
];

/// Makes the plot's text font known to plotters, once per process.
fn load_font() -> Result<(), BoxError> {
    static LOADED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = FONTS
                .iter()
                .find(|p| Path::new(p).exists())
                .ok_or_else(|| {
                    format!("no font for the plot in {FONTS:?}: apt-get install fonts-dejavu-core")
                })?;
            let bytes = std::fs::read(path).map_err(|err| format!("{path}: {err}"))?;
            // plotters keeps fonts for the life of the process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| format!("{path} is not a usable font"))
        })
        .clone()
        .map_err(Into::into)
}

/// One half of the plot: a quantity against resources.
struct Panel<'a, A> {
    area: &'a A,
    title: &'a str,
    unit: &'a str,
    value: fn(&CurvePoint) -> f64,
    color: RGBColor,
}

/// Draws burst convergence time and peak RSS against resources (log scale) to `path` (PNG).
pub fn plot(points: &[CurvePoint], path: &Path) -> Result<(), BoxError> {
    if points.is_empty() {
        return Err("no curve points to plot".into());
    }
    load_font()?;
    let root = BitMapBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    let resources = points.iter().map(|p| p.resources.max(1) as f64);
    let (low, high) = resources.fold((f64::MAX, 1.0_f64), |(lo, hi), r| (lo.min(r), hi.max(r)));
    let x_range = (low / 2.0..high * 2.0).log_scale();
    let panels = [
        Panel {
            area: &left,
            title: "Burst convergence time",
            unit: "seconds",
            value: |p| p.burst_wall_seconds,
            color: BLUE,
        },
        Panel {
            area: &right,
            title: "Peak RSS after steady state",
            unit: "MiB",
            value: |p| p.peak_rss_mib,
            color: RED,
        },
    ];
    for Panel {
        area,
        title,
        unit,
        value,
        color,
    } in panels
    {
        let top = points.iter().map(value).fold(0.0, f64::max).max(1.0) * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range.clone(), 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("resources (log scale)")
            .y_desc(unit)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(("sans-serif", 14))
            .draw()?;
        let series: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (p.resources as f64, value(p)))
            .collect();
        chart.draw_series(LineSeries::new(series.clone(), color.stroke_width(2)))?;
        chart.draw_series(
            series
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 5, color.filled())),
        )?;
        chart.draw_series(series.iter().map(|&(x, y)| {
            Text::new(
                format!("{y:.1}"),
                (x, y + top * 0.04),
                ("sans-serif", 14).into_font(),
            )
        }))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn point(resources: usize, rss: f64) -> CurvePoint {
        CurvePoint {
            scenario: format!("s{resources}"),
            resources,
            orgs: 10,
            burst_wall_seconds: resources as f64 / 50.0,
            ratio_to_lower_bound: Some(2.0),
            calls: resources as f64 * 1.5,
            apiserver_writes: resources as f64 * 4.0,
            cpu_seconds: 1.0,
            peak_rss_mib: rss,
            rss_mib_per_1000: per_1000(rss, resources),
            rss_growth_mib_per_1000: None,
        }
    }

    #[test]
    fn growth_is_the_slope_between_neighbouring_points() {
        assert_eq!(per_1000(30.0, 1_000), 30.0);
        assert_eq!(per_1000(3.0, 0), 0.0);
        let scenarios: Vec<Scenario> = [(100, 20), (1_000, 100)]
            .iter()
            .map(|&(keys, stacks)| Scenario {
                name: format!("k{keys}"),
                keys,
                stacks,
                noise_secrets: 0,
                noise_configmaps: 0,
                churn: false,
                orgs: None,
                curve: true,
                resync: None,
                once: false,
            })
            .collect();
        let medians: Vec<PhaseMedians> = [("k100", 120, 20.0), ("k1000", 1_100, 30.0)]
            .iter()
            .flat_map(|&(name, resources, rss)| {
                ["burst", "steady"].map(|phase| PhaseMedians {
                    scenario: name.into(),
                    phase: phase.into(),
                    resources,
                    peak_rss_mib: if phase == "steady" { rss } else { rss - 1.0 },
                    ..PhaseMedians::default()
                })
            })
            .collect();
        let points = points(&scenarios, &medians, 10);
        assert_eq!(points.len(), 2);
        assert_eq!(
            points[0].peak_rss_mib, 20.0,
            "RSS is taken after steady state"
        );
        assert_eq!(points[0].rss_growth_mib_per_1000, None);
        let growth = points[1].rss_growth_mib_per_1000.unwrap();
        assert!((growth - 10.0 * 1000.0 / 980.0).abs() < 1e-9, "{growth}");
    }

    #[test]
    fn the_plot_is_a_png() {
        let dir = std::env::temp_dir().join(format!("bench-curve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("curve.png");
        plot(
            &[point(120, 22.0), point(1_100, 31.0), point(11_000, 90.0)],
            &path,
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        assert!(
            bytes.len() > 10_000,
            "an empty picture: {} bytes",
            bytes.len()
        );
    }
}
