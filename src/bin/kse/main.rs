//! `kse`: Korean sentence embeddings from the command line.
//!
//! A client of the kse library (`kse::Encoder`): it reads sentences, calls
//! the library, and writes what comes back. One file per subcommand
//! (`encode`, `chunk`, `tokens`, `similarity`, `search`, `eval`,
//! `import-tfhub`), the command
//! line's schema in `cli`, what they share in `common`; `kse --help`
//! documents options and exit codes.

mod chunk;
mod cli;
mod common;
mod encode;
mod error;
mod eval;
mod import_tfhub;
mod input;
mod output;
mod progress;
mod search;
mod similarity;
mod tokens;

use std::io::Write;

use clap::Parser;

use cli::{Cli, Command};

fn main() {
    // Die quietly on a closed pipe (`kse search ... | head`), as Unix tools do.
    // SAFETY: restores the default disposition of one signal, before any threads start.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Encode(a) => encode::run(&cli.model, a),
        Command::Chunk(a) => chunk::run(&cli.model, a),
        Command::Tokens(a) => tokens::run(&cli.model, a),
        Command::Similarity(a) => similarity::run(&cli.model, a),
        Command::Search(a) => search::run(&cli.model, a),
        Command::Eval(a) => eval::run(&cli.model, a),
        Command::ImportTfhub(a) => import_tfhub::run(&a.args),
    };
    if let Err(e) = result {
        let _ = std::io::stdout().flush();
        let message = e.message.replace('\n', " ");
        eprintln!("kse: error: {message}");
        std::process::exit(e.exit as i32);
    }
}
