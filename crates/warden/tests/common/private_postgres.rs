//! A PostgreSQL server of the test's own, for faults the machine's shared server must
//! not suffer (being stopped under load): a fresh cluster in a temporary folder, on a
//! free port, started and stopped with the server's own tools.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A private PostgreSQL cluster; stopped and removed when dropped.
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    /// Creates the cluster (trust authentication, superuser `postgres`) and starts it.
    /// Panics, failing the test, when PostgreSQL's server tools are not installed.
    pub fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| {
                versions
                    .filter_map(Result::ok)
                    .map(|v| v.path().join("bin"))
                    .filter(|bin| bin.join("initdb").exists())
                    .max()
            })
            .expect("the fault tests need PostgreSQL's server tools in /usr/lib/postgresql/*/bin");
        let dir = tempfile::Builder::new()
            .prefix("warden-private-pg")
            .tempdir()
            .expect("a temporary folder");
        // PostgreSQL refuses to run as root: the cluster belongs to `postgres` then.
        if is_root() {
            let chown = Command::new("chown")
                .args(["postgres:postgres", &dir.path().display().to_string()])
                .status()
                .expect("chown");
            assert!(
                chown.success(),
                "cannot hand the cluster folder to postgres"
            );
        }
        let port = super::free_address()
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .expect("a free port");
        let cluster = Self { bin, dir, port };
        cluster.tool(
            "initdb",
            &[
                "-D",
                &cluster.data().display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        cluster.start_server();
        cluster
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once, as a crash or an operator's `immediate` stop would:
    /// every connection is cut.
    pub fn stop(&self) {
        self.pg_ctl(&["stop", "-m", "immediate"]);
    }

    /// Starts the stopped server again, on the same port and data.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.pg_ctl(&["start", "-w", "-o", &options, "-l", &log]);
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data().display().to_string();
        let mut all = vec!["-D", data.as_str()];
        all.extend_from_slice(args);
        self.tool("pg_ctl", &all);
    }

    fn tool(&self, name: &str, args: &[&str]) {
        let program = self.bin.join(name);
        let output = as_postgres(&program, args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        assert!(
            output.status.success(),
            "{name} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "stop", "-m", "immediate"],
        )
        .output();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// `program args`, run as the `postgres` user when this process is root.
fn as_postgres(program: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}
