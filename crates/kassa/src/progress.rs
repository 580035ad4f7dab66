//! The benchmarks' progress bars, on stderr. indicatif draws nothing when stderr is not a
//! terminal, so what the benchmarks print on stdout stays as it was for scripts.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `len` of `what`; finish it with `finish_and_clear` before printing results.
pub fn bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{wide_bar}] {pos}/{len} ({eta} left)") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}
