//! Developer tasks: `cargo xtask <command>`.
//!
//! - `ci`: what `.ci/run` runs: fmt, clippy, migration and OpenAPI checks, tests,
//!   schemathesis, the fuzz targets.
//! - `openapi [--check]`: write `docs/openapi.json` (or fail if it is stale).
//! - `migration new <name>` / `migration check`: keep both backends' migrations in step.
//! - `bench http`: load-test the release binary (see docs/PERFORMANCE.md).
//! - `bench oauth2`: OAuth2 refresh grants and introspections per second.
//! - `schemathesis`: the API fuzzed from `docs/openapi.json` on both engines.

mod bench;
mod bench_members;
mod bench_oauth2;
mod bench_scim;
mod schemathesis;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// fmt --check, clippy -D warnings, migration and OpenAPI checks, the whole test suite,
    /// schemathesis on both engines, every fuzz target for a bounded time.
    Ci,
    /// Regenerate docs/openapi.json from the code, or check that it is current.
    Openapi {
        #[arg(long)]
        check: bool,
    },
    /// Create or check migrations.
    Migration {
        #[command(subcommand)]
        command: MigrationTask,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        command: bench::BenchTask,
    },
    /// Fuzz the running API from docs/openapi.json with schemathesis, every check on.
    Schemathesis {
        #[arg(long, value_enum, default_value_t = bench::Engines::Both)]
        backend: bench::Engines,
        /// Test cases per operation and phase.
        #[arg(long, default_value_t = 25)]
        max_examples: u32,
        /// Hypothesis seed (fixed, so that a failure is reproducible).
        #[arg(long, default_value_t = 19)]
        seed: u64,
        /// Fewest requests Warden must have answered per engine.
        #[arg(long, default_value_t = 2000)]
        min_requests: u64,
        #[arg(long, env = "WARDEN_TEST_POSTGRES_URL", default_value = bench::DEFAULT_POSTGRES)]
        postgres: String,
    },
}

#[derive(Subcommand)]
enum MigrationTask {
    /// Add `migrations/{postgres,sqlite}/<date>-<seq>_<name>/{up,down}.sql`.
    New { name: String },
    /// Fail unless both backends have the same migration names, each with up and down.
    Check,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run cargo {args:?}"))?;
    ensure!(status.success(), "cargo {} failed", args.join(" "));
    Ok(())
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Task::Ci => {
            cargo(&["fmt", "--all", "--check"])?;
            cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])?;
            migration_check()?;
            openapi(true)?;
            cargo(&["test", "--workspace"])?;
            let postgres = std::env::var("WARDEN_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| bench::DEFAULT_POSTGRES.to_owned());
            schemathesis::run(bench::Engines::Both, 25, 19, 2000, &postgres)?;
            let status = Command::new(root().join("fuzz/run.sh"))
                .status()
                .context("cannot run fuzz/run.sh")?;
            ensure!(status.success(), "fuzz/run.sh failed");
            Ok(())
        }
        Task::Openapi { check } => openapi(check),
        Task::Migration {
            command: MigrationTask::Check,
        } => migration_check(),
        Task::Migration {
            command: MigrationTask::New { name },
        } => migration_new(&name),
        Task::Bench { command } => bench::run(command),
        Task::Schemathesis {
            backend,
            max_examples,
            seed,
            min_requests,
            postgres,
        } => schemathesis::run(backend, max_examples, seed, min_requests, &postgres),
    }
}

fn openapi(check: bool) -> anyhow::Result<()> {
    let path = root().join("docs/openapi.json");
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "-p", "warden", "--", "openapi"])
        .current_dir(root())
        .output()
        .context("cannot run warden openapi")?;
    ensure!(
        output.status.success(),
        "warden openapi failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let current = String::from_utf8(output.stdout)?;
    if check {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        ensure!(
            committed == current,
            "docs/openapi.json is stale: run `cargo xtask openapi` and commit the result"
        );
        println!("docs/openapi.json is current");
    } else {
        std::fs::write(&path, current)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn migration_names(backend: &str) -> anyhow::Result<BTreeSet<String>> {
    let dir = root().join("migrations").join(backend);
    let mut names = BTreeSet::new();
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
    {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        for file in ["up.sql", "down.sql"] {
            ensure!(
                entry.path().join(file).is_file(),
                "{} has no {file}",
                entry.path().display()
            );
        }
        names.insert(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

fn migration_check() -> anyhow::Result<()> {
    let pg = migration_names("postgres")?;
    let sqlite = migration_names("sqlite")?;
    if pg != sqlite {
        let only_pg: Vec<_> = pg.difference(&sqlite).collect();
        let only_sqlite: Vec<_> = sqlite.difference(&pg).collect();
        bail!("migrations differ: only in postgres {only_pg:?}, only in sqlite {only_sqlite:?}");
    }
    println!("{} migrations, identical names on both backends", pg.len());
    Ok(())
}

fn migration_new(name: &str) -> anyhow::Result<()> {
    ensure!(
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "migration names are lowercase snake_case"
    );
    let existing = migration_names("postgres")?;
    let date = Command::new("date").arg("-u").arg("+%Y-%m-%d").output()?;
    let date = String::from_utf8(date.stdout)?.trim().to_owned();
    let folder = format!("{date}-{:06}_{name}", existing.len() + 1);
    for backend in ["postgres", "sqlite"] {
        let dir = root().join("migrations").join(backend).join(&folder);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("up.sql"), format!("-- {name}: {backend} up\n"))?;
        std::fs::write(
            dir.join("down.sql"),
            format!("-- {name}: {backend} down (must revert up.sql)\n"),
        )?;
    }
    println!("created migrations/{{postgres,sqlite}}/{folder}");
    Ok(())
}
