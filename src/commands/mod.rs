//! One file per command: each gathers its input, calls the pure parts and hands the result to
//! `output`.

pub mod allow;
pub mod authz;
pub mod can;
pub mod can_matrix;
mod can_output;
mod can_query;
pub mod check;
pub mod complete;
pub mod completion;
pub mod dashboard;
pub mod expose;
pub mod inject;
pub mod inject_restart;
pub mod inject_status;
pub mod input;
pub mod mtls;
pub mod resilience;
pub mod version;
pub mod writes;

use crate::{
    cli::{Cli, Command, InjectSubcommand, ResilienceSubcommand},
    error::ExitStatus,
    mesh::authorization_policy::Action,
    output::Ui,
};

/// Runs the parsed command line.
pub async fn run(cli: Cli, ui: &mut Ui) -> anyhow::Result<ExitStatus> {
    let global = &cli.global;
    match cli.command {
        Command::Inject(args) => match args.status {
            Some(InjectSubcommand::Status(status)) => inject_status::run(global, status, ui).await,
            None => inject::run(global, args, ui).await,
        },
        Command::Check(args) => check::run(global, args, ui).await,
        Command::Can(args) => can::run(global, args, ui).await,
        Command::Dashboard(args) => dashboard::run(global, args, ui).await,
        Command::Expose(args) => expose::run(global, args, ui).await,
        Command::Unexpose(args) => expose::unexpose::run(global, args, ui).await,
        Command::Mtls(args) => mtls::run(global, args, ui).await,
        Command::Allow(args) => allow::run(global, args, Action::Allow, ui).await,
        Command::Deny(args) => allow::run(global, args, Action::Deny, ui).await,
        Command::Resilience(args) => match args.show {
            Some(ResilienceSubcommand::Show(show)) => resilience::show::run(global, show, ui).await,
            None => resilience::run(global, *args, ui).await,
        },
        Command::Version(args) => version::run(global, args, ui).await,
        Command::Completion(args) => completion::run(args, ui),
    }
}
