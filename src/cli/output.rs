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
        let color = !no_color && tty && std::env::var_os("NO_COLOR").is_none();
        Ui { color, quiet, verbose, tty }
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
