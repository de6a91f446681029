//! The progress bar: on stderr, only when stderr is a terminal and the input
//! is large (a file of at least [`LARGE_INPUT`] bytes, or an input of unknown
//! size that outlasts its first chunk); otherwise nothing is drawn.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Files at least this large get a bar from the start.
const LARGE_INPUT: u64 = 1 << 20;

pub struct Progress {
    allowed: bool,
    total: Option<u64>,
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Progress {
    /// `total`: the input's size in bytes when known; `quiet` turns it off.
    pub fn new(total: Option<u64>, quiet: bool) -> Progress {
        let allowed = !quiet && std::io::stderr().is_terminal();
        let mut p = Progress { allowed, total, bar: None, started: Instant::now() };
        if total.is_some_and(|t| t >= LARGE_INPUT) {
            p.show();
        }
        p
    }

    fn show(&mut self) {
        if !self.allowed || self.bar.is_some() {
            return;
        }
        let bar = match self.total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} {msg}, ETA {eta}",
                )
                .expect("valid template"),
            ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {binary_bytes} read, {msg}").expect("valid template"),
            ),
        };
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    /// After each chunk: bytes read and sentences done so far; `more`: the
    /// input is not finished yet.
    pub fn update(&mut self, bytes: u64, sentences: u64, more: bool) {
        if more {
            self.show();
        }
        if let Some(bar) = &self.bar {
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            bar.set_position(bytes);
            bar.set_message(format!("{sentences} sentences ({:.0}/s)", sentences as f64 / secs));
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
