//! Statistics and the table: [`Samples`] of one measurement, [`median`], and the [`Table`]
//! whose lines are printed at the end.

use std::fmt::Write as _;
use std::time::Duration;

/// Samples of one measurement.
#[derive(Default)]
pub(crate) struct Samples(pub(crate) Vec<Duration>);

impl Samples {
    pub(crate) fn push(&mut self, d: Duration) {
        self.0.push(d);
    }
    fn mean_ms(&self) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        self.0.iter().map(Duration::as_secs_f64).sum::<f64>() * 1e3 / self.0.len() as f64
    }
    pub(crate) fn median_ms(&self) -> f64 {
        median(self.0.iter().map(|d| d.as_secs_f64() * 1e3).collect())
    }
    /// The `q` quantile (0.99: p99) in ms, nearest rank below.
    pub(crate) fn quantile_ms(&self, q: f64) -> f64 {
        let mut ms: Vec<f64> = self.0.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // an index, 0..len
        ms.get(((ms.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    }
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Lines of the final table; printed at the end so progress output does not interleave.
#[derive(Default)]
pub(crate) struct Table(pub(crate) Vec<String>);

impl Table {
    pub(crate) fn section(&mut self, title: &str, columns: &str) {
        self.0.push(format!("{title:<58}{columns}"));
    }
    pub(crate) fn row(&mut self, label: &str, cells: &str) {
        self.0.push(format!("  {label:<56}{cells}"));
    }
    pub(crate) fn note(&mut self, text: &str) {
        self.0.push(format!("  note: {text}"));
    }
    /// Row with mean, median and the ratio of both to a base.
    pub(crate) fn timed(&mut self, label: &str, s: &Samples, base: Option<&Samples>) {
        let mut cells = format!("{:>9.3}{:>9.3}", s.mean_ms(), s.median_ms());
        if let Some(b) = base {
            let _ = write!(
                cells,
                "{:>8.2}x{:>8.2}x",
                s.mean_ms() / b.mean_ms(),
                s.median_ms() / b.median_ms()
            );
        }
        self.row(label, &cells);
    }
}

pub(crate) fn progress(what: &str) {
    eprintln!("sbx-bench: {what} ...");
}
