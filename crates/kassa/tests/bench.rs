//! `kassa bench` and `kassa bench-callbacks`, small: the figures on stdout as before (no progress
//! bar: stderr is not a terminal here), and `--plot` writes an SVG chart of every series.

use std::process::Command;

mod support;

use support::BIN;

/// Runs `kassa args… --plot FILE`: its stdout and the SVG it wrote.
fn plotted(args: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("latency.svg");
    let output = Command::new(BIN).args(args).arg("--plot").arg(&plot).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{args:?}\n{stdout}\n{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no progress bar drawn on a stderr that is not a terminal: {stderr:?}");
    // The bench's server shuts down as `kassa serve` does: the last attempts are recorded (a
    // warning, such as sqlx's of a slow statement on a busy machine, is no failure).
    assert!(!stderr.contains("ERROR"), "nothing went wrong: {stderr}");
    (stdout.into_owned(), std::fs::read_to_string(&plot).unwrap())
}

/// The chart is one SVG document with a polyline per series and a legend naming it.
fn assert_chart(svg: &str, series: &[&str]) {
    let svg = svg.trim();
    assert!(svg.starts_with("<svg ") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\""), "{}", &svg[..200]);
    assert!(svg.ends_with("</svg>") && svg.matches("<svg").count() == 1, "one document");
    assert!(svg.matches("<polyline").count() >= series.len(), "a curve per series");
    for name in series {
        let escaped = name.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        assert!(svg.contains(&format!("\n{escaped}\n</text>")), "the legend names {name:?}");
    }
    assert!(svg.contains("\npercentile\n</text>") && svg.contains("latency (ms, log scale)"), "the axes");
}

#[test]
fn bench_prints_its_table_and_plots_each_step() {
    let (stdout, svg) = plotted(&["bench", "--requests", "50", "--concurrency", "4"]);
    let steps = [
        "HPP create (POST /hpp/v1/sessions)",
        "HPP read (GET /hpp/v1/sessions/{id})",
        "HPP status change (sandbox open: WAITING → IN_PROGRESS)",
        "Payment page (GET /hpp/payments/{id}: the HTML a phone loads)",
        "In-store create (POST /payments/v1/sessions, distribution)",
        "In-store result (GET /iss/v1/distributions/{id})",
        "In-store open (sandbox: DISTRIBUTED → ACCESSED)",
        "In-store pay (sandbox: order placed and captured, COMPLETED)",
    ];
    assert!(stdout.contains("| step | requests | throughput | p50 | p99 | max |\n|---|---:|---:|---:|---:|---:|\n"));
    for step in steps {
        let row = stdout.lines().find(|l| l.starts_with(&format!("| {step} | "))).unwrap_or_else(|| panic!("{stdout}"));
        assert!(row.ends_with(" ms |") && row.contains(" req/s | "), "{row}");
    }
    assert_chart(&svg, &steps);
}

#[test]
fn bench_callbacks_prints_its_table_and_plots_the_paced_and_backlog_runs() {
    let args = ["bench-callbacks", "--rate", "200", "--changes", "50", "--backlog", "50", "--in-flight", "8"];
    let (stdout, svg) = plotted(&args);
    for row in [
        "| status change: request sent → acknowledged | 50 | ",
        "| callback: request sent → callback arrived | 50 | ",
        "| callback: acknowledged → callback arrived | 50 | ",
        "| backlog drained | 50 | ",
    ] {
        assert!(stdout.contains(row), "{row}\n{stdout}");
    }
    assert_chart(
        &svg,
        &[
            "paced: status change: request sent → acknowledged",
            "paced: callback: request sent → callback arrived",
            "paced: callback: acknowledged → callback arrived",
            "backlog: commit acknowledged → callback arrived",
        ],
    );
}
