//! `lms-server`: reads its configuration from the command line and the environment
//! (`lms-server --help` lists every variable) and serves until SIGINT/SIGTERM.

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    // An invalid value is refused here by clap, naming the option and its variable (exit 2).
    let args = lms_server::ServerArgs::parse();
    let config = match lms_server::Config::from_args(args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("erreur : {error}");
            return ExitCode::from(2);
        }
    };
    lms_server::init_logging(&config);
    match lms_server::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("erreur : {error:#}");
            ExitCode::from(1)
        }
    }
}
