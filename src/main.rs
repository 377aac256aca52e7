//! The `kubectl-debatemesh` binary: parse, set up logging, run, map the result to an exit code.

use std::{
    io::{IsTerminal, Write},
    process::ExitCode,
};

use debatemesh::{cli::Cli, error::ExitStatus, output};

fn main() -> ExitCode {
    install_panic_hook();
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    if args.get(1).map(String::as_str) == Some("__complete") {
        let _ = std::io::stdout().write_all(debatemesh::complete(&args[2..]).as_bytes());
        return ExitCode::SUCCESS;
    }

    let cli = match Cli::parse_args() {
        Ok(cli) => cli,
        Err(e) => return output::errors::clap(&e),
    };
    let no_color = cli.global.no_color;
    // Logs go to stderr: coloured only on a terminal, as the rest of the output.
    let log_color = !no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal();
    output::log::init(cli.global.verbose, log_color);
    let mut ui = output::Ui::stdio(no_color);
    let status = match debatemesh::run(cli, &mut ui) {
        Ok(status) => status,
        Err(e) if is_broken_pipe(&e) => ExitStatus::Success,
        Err(e) => {
            let _ = ui.flush();
            if !e.chain().any(|c| {
                c.downcast_ref::<debatemesh::error::Problems>().is_some_and(|p| p.is_reported())
            }) {
                output::errors::print(&e, no_color);
            }
            debatemesh::error::exit_status(&e)
        }
    };
    if let Err(e) = ui.flush()
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return ExitCode::from(ExitStatus::Problems.code());
    }
    ExitCode::from(status.code())
}

/// A closed stdout (`| head`) is success, not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A short bug-report message instead of a backtrace, unless RUST_BACKTRACE is set.
fn install_panic_hook() {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let place = info.location().map(|l| (l.file(), l.line()));
        output::stderr_line(&output::errors::crash_report(place));
        std::process::exit(101);
    }));
}
