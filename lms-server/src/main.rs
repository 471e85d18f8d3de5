//! `lms-server`: reads its configuration from the environment and serves until SIGINT/SIGTERM.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match lms_server::Config::from_env() {
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
