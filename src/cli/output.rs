//! Rendering of errors and messages for people.

use std::io::{IsTerminal, Write};

use owo_colors::OwoColorize;

use crate::spec::{Diagnostic, SpecErrors};

/// An error the CLI shows: what went wrong, where, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Spec(#[from] SpecErrors),
    #[error("{message}")]
    Msg { message: String, hint: Option<String> },
}

impl CliError {
    pub fn msg(message: impl Into<String>) -> Self {
        CliError::Msg { message: message.into(), hint: None }
    }
    pub fn hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        CliError::Msg { message: message.into(), hint: Some(hint.into()) }
    }
}

/// Output settings shared by every command.
#[derive(Debug, Clone)]
pub struct Ui {
    pub color: bool,
    pub quiet: bool,
    pub verbose: bool,
    pub tty: bool,
}

impl Ui {
    pub fn new(no_color: bool, quiet: bool, verbose: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        // https://no-color.org: NO_COLOR set to anything but the empty string.
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = !no_color && tty && !no_color_env;
        Ui { color, quiet, verbose, tty }
    }

    /// A spinner on stderr while AWS is read: only on a terminal, never with -q, and only
    /// once the read has taken more than a moment. It shows the calls (pages) read so far.
    pub fn spinner(&self, what: &str) -> Spinner {
        Spinner::start(self.tty && !self.quiet, self.color, what)
    }

    /// A progress or status line on stderr (suppressed by -q).
    pub fn status(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    fn diag(&self, d: &Diagnostic) {
        let mut err = std::io::stderr().lock();
        let label = if self.color { "error".red().bold().to_string() } else { "error".to_string() };
        let _ = writeln!(err, "{label}: {}: {}", d.location(), d.message);
        if let Some(h) = &d.hint {
            let hl = if self.color { "hint".cyan().to_string() } else { "hint".to_string() };
            let _ = writeln!(err, "  {hl}: {h}");
        }
    }

    pub fn error(&self, e: &CliError) {
        match e {
            CliError::Spec(SpecErrors(diags)) => {
                for d in diags {
                    self.diag(d);
                }
                let n = diags.len();
                eprintln!("{n} problem{} found; nothing was sent to AWS", if n == 1 { "" } else { "s" });
            }
            CliError::Msg { message, hint } => {
                let label = if self.color { "error".red().bold().to_string() } else { "error".to_string() };
                eprintln!("{label}: {message}");
                if let Some(h) = hint {
                    eprintln!("  hint: {h}");
                }
            }
        }
    }
}

/// See [`Ui::spinner`]. Stops (and clears its line) when dropped.
pub struct Spinner {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    /// How long a read may take before the spinner shows.
    const DELAY: std::time::Duration = std::time::Duration::from_millis(400);

    fn start(enabled: bool, color: bool, what: &str) -> Spinner {
        if !enabled {
            return Spinner { stop: None, thread: None };
        }
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let what = what.to_string();
        let thread = std::thread::spawn(move || {
            let (base, _) = crate::aws::stats::progress();
            let started = std::time::Instant::now();
            let mut bar: Option<indicatif::ProgressBar> = None;
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(std::time::Duration::from_millis(100))
            {
                if started.elapsed() < Self::DELAY {
                    continue;
                }
                let b = bar.get_or_insert_with(|| {
                    let b = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
                    let tpl = if color { "{spinner:.cyan} {msg} {elapsed:.dim}" } else { "{spinner} {msg} {elapsed}" };
                    b.set_style(indicatif::ProgressStyle::with_template(tpl).expect("template"));
                    b
                });
                let (calls, last) = crate::aws::stats::progress();
                let pages = calls.saturating_sub(base);
                b.set_message(format!(
                    "{what}: {pages} page{} read{}",
                    if pages == 1 { "" } else { "s" },
                    if last.is_empty() { String::new() } else { format!(" ({last})") }
                ));
                b.tick();
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        });
        Spinner { stop: Some(tx), thread: Some(thread) }
    }

    pub fn finish(mut self) {
        self.end();
    }

    fn end(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_spinner_off_a_terminal_or_with_quiet() {
        let ui = Ui { color: false, quiet: false, verbose: false, tty: false };
        assert!(ui.spinner("reading").thread.is_none());
        let ui = Ui { color: false, quiet: true, verbose: false, tty: true };
        assert!(ui.spinner("reading").thread.is_none());
        let ui = Ui { color: false, quiet: false, verbose: false, tty: true };
        let s = ui.spinner("reading");
        assert!(s.thread.is_some());
        s.finish();
    }
}
