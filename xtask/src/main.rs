//! Developer tasks: `cargo xtask <command>`.
//!
//! - `ci`: what `.ci/run` runs: fmt, clippy, migration check, OpenAPI check, tests.
//! - `openapi [--check]`: write `docs/openapi.json` (or fail if it is stale).
//! - `migration new <name>` / `migration check`: keep both backends' migrations in step.
//! - `bench http`: load-test the release binary (see docs/PERFORMANCE.md).
//! - `bench oauth2`: OAuth2 refresh grants and introspections per second.

mod bench;
mod bench_members;
mod bench_oauth2;
mod bench_scim;

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
    /// fmt --check, clippy -D warnings, migration and OpenAPI checks, the whole test suite.
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
            cargo(&["test", "--workspace"])
        }
        Task::Openapi { check } => openapi(check),
        Task::Migration {
            command: MigrationTask::Check,
        } => migration_check(),
        Task::Migration {
            command: MigrationTask::New { name },
        } => migration_new(&name),
        Task::Bench { command } => bench::run(command),
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
