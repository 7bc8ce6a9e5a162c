//! The figures a benchmark prints: rates and latency percentiles. Rates are
//! floats because they are measurements, never money.
#![allow(clippy::float_arithmetic)]

use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies in microseconds, from 1 µs to 1 hour, 3 significant digits.
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Latencies {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            histogram: Histogram::new_with_bounds(1, 3_600_000_000, 3)?,
        })
    }

    pub fn record(&mut self, latency: Duration) -> anyhow::Result<()> {
        let micros = u64::try_from(latency.as_micros())?.max(1);
        self.histogram.saturating_record(micros);
        Ok(())
    }

    /// Adds another recorder's latencies (one per load task, merged at the end).
    pub fn merge(&mut self, other: &Self) -> anyhow::Result<()> {
        self.histogram.add(&other.histogram)?;
        Ok(())
    }

    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The latency at `quantile` (0.0 ..= 1.0).
    pub fn at_quantile(&self, quantile: f64) -> Duration {
        Duration::from_micros(self.histogram.value_at_quantile(quantile))
    }

    pub fn max(&self) -> Duration {
        Duration::from_micros(self.histogram.max())
    }
}

/// `count` per second over `elapsed` (0 when nothing elapsed).
pub fn per_second(count: usize, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds <= 0.0 {
        return 0.0;
    }
    u32::try_from(count).map_or(f64::from(u32::MAX), f64::from) / seconds
}

/// `numerator / denominator`, or 0 when the denominator is 0.
pub fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator <= 0.0 {
        0.0
    } else {
        numerator / denominator
    }
}

/// A duration as milliseconds with one decimal, e.g. `12.3 ms`.
pub fn milliseconds(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
