//! Loki-style command line: single-dash Go flags (`-config.file=x`, `-config.file x`,
//! `--config.file x`), booleans with or without `=true`.
//!
//! Supported: `-config.file`, `-config.expand-env`, `-target`, `-version`,
//! `-verify-config`, `-print-config-stderr`, `-help`, and a few overrides that win over
//! the file as in Loki: `-server.http-listen-address`, `-server.http-listen-port`,
//! `-server.grpc-listen-port`, `-log.level`, `-auth.enabled`, `-querier.frontend-address`,
//! `-querier.max-concurrent`, `-ingester.client.addresses`.

use std::path::PathBuf;

use crate::config::Config;

/// What the command line asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cli {
    /// `-config.file`.
    pub config_file: Option<PathBuf>,
    /// `-config.expand-env`.
    pub expand_env: bool,
    /// `-target`.
    pub target: Option<String>,
    /// `-version`.
    pub version: bool,
    /// `-help`.
    pub help: bool,
    /// `-verify-config`: load and validate, then exit.
    pub verify_config: bool,
    /// `-print-config-stderr`: print the effective config at start.
    pub print_config_stderr: bool,
    /// Flag overrides applied after the file, as (flag, value).
    pub overrides: Vec<(String, String)>,
}

/// A command line that cannot be used; exit status 1 with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

const BOOL_FLAGS: &[&str] = &[
    "config.expand-env",
    "version",
    "help",
    "h",
    "verify-config",
    "print-config-stderr",
    "auth.enabled",
];
const VALUE_FLAGS: &[&str] = &[
    "config.file",
    "target",
    "server.http-listen-address",
    "server.http-listen-port",
    "server.grpc-listen-port",
    "log.level",
    "querier.frontend-address",
    "querier.max-concurrent",
    "ingester.client.addresses",
];

/// Usage text for `-help`.
pub const USAGE: &str = "Usage of fenrir:
  -config.file string
        Configuration file to load (Loki's YAML layout).
  -config.expand-env
        Expand ${VAR} and ${VAR:-default} in the config file from the environment.
  -target string
        Components to run: all, read, write, backend, query-frontend, querier, ingester,
        distributor. (default \"all\")
  -server.http-listen-address string
        HTTP listen address.
  -server.http-listen-port int
        HTTP listen port. (default 3100)
  -server.grpc-listen-port int
        gRPC listen port. (default 9095)
  -querier.frontend-address string
        Address of the query frontend a querier pulls work from (frontend_worker.frontend_address).
  -querier.max-concurrent int
        Sub-queries a querier runs at once. (default 10)
  -ingester.client.addresses string
        Comma-separated gRPC addresses of the write processes a querier reads from.
  -log.level value
        Only log messages with the given severity or above: debug, info, warn, error.
  -auth.enabled
        Require X-Scope-OrgID on every request.
  -verify-config
        Verify the configuration and exit.
  -print-config-stderr
        Dump the effective configuration to stderr on start.
  -version
        Print version information and exit.
";

/// Go's `strconv.ParseBool`.
fn parse_bool(flag: &str, value: &str) -> Result<bool, CliError> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(CliError(format!(
            "invalid boolean value {value:?} for -{flag}: parse error"
        ))),
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Cli, CliError> {
    let mut cli = Cli::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(CliError(format!("unexpected argument {arg:?}")));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        if BOOL_FLAGS.contains(&name) {
            let on = match &inline {
                Some(v) => parse_bool(name, v)?,
                None => true,
            };
            match name {
                "config.expand-env" => cli.expand_env = on,
                "version" => cli.version = on,
                "help" | "h" => cli.help = on,
                "verify-config" => cli.verify_config = on,
                "print-config-stderr" => cli.print_config_stderr = on,
                _ => cli.overrides.push((name.to_string(), on.to_string())),
            }
        } else if VALUE_FLAGS.contains(&name) {
            let value = match inline {
                Some(v) => v,
                None => args
                    .next()
                    .ok_or_else(|| CliError(format!("flag needs an argument: -{name}")))?,
            };
            match name {
                "config.file" => cli.config_file = Some(PathBuf::from(value)),
                "target" => cli.target = Some(value),
                _ => cli.overrides.push((name.to_string(), value)),
            }
        } else {
            return Err(CliError(format!("flag provided but not defined: -{name}")));
        }
    }
    Ok(cli)
}

impl Cli {
    /// Applies `-target` and the flag overrides on top of the loaded config.
    pub fn apply(&self, config: &mut Config) -> Result<(), CliError> {
        if let Some(t) = &self.target {
            config.target = t.trim().to_string();
        }
        for (flag, value) in &self.overrides {
            let port = |v: &str| {
                v.parse::<u16>().map_err(|_| {
                    CliError(format!("invalid value {v:?} for flag -{flag}: parse error"))
                })
            };
            match flag.as_str() {
                "server.http-listen-address" => config.server.http_listen_address = value.clone(),
                "server.http-listen-port" => config.server.http_listen_port = port(value)?,
                "server.grpc-listen-port" => config.server.grpc_listen_port = port(value)?,
                "log.level" => config.server.log_level = value.clone(),
                "querier.frontend-address" => {
                    config.frontend_worker.frontend_address = value.clone();
                }
                "querier.max-concurrent" => {
                    config.querier.max_concurrent = value.parse().map_err(|_| {
                        CliError(format!(
                            "invalid value {value:?} for flag -{flag}: parse error"
                        ))
                    })?;
                }
                "ingester.client.addresses" => {
                    config.ingester_client.addresses = value
                        .split(',')
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .map(str::to_string)
                        .collect();
                }
                "auth.enabled" => config.auth_enabled = value == "true",
                other => return Err(CliError(format!("flag provided but not defined: -{other}"))),
            }
        }
        Ok(())
    }
}

/// The `-version` text, in Loki's layout.
pub fn version_text() -> String {
    format!(
        "fenrir, version {} (branch: , revision: )\n  platform:         {}/{}\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Cli, CliError> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn go_style_flags() {
        let c = parse_str(&[
            "-config.file=/etc/loki.yaml",
            "-config.expand-env=true",
            "-target=all",
        ])
        .unwrap();
        assert_eq!(c.config_file, Some(PathBuf::from("/etc/loki.yaml")));
        assert!(c.expand_env);
        assert_eq!(c.target.as_deref(), Some("all"));
        let c = parse_str(&["--config.file", "x.yaml", "--config.expand-env", "-version"]).unwrap();
        assert_eq!(c.config_file, Some(PathBuf::from("x.yaml")));
        assert!(c.expand_env && c.version);
        assert!(!parse_str(&["-config.expand-env=false"]).unwrap().expand_env);
        assert!(parse_str(&[]).unwrap() == Cli::default());
    }

    #[test]
    fn bad_flags_are_reported_like_go() {
        assert_eq!(
            parse_str(&["-nope"]).unwrap_err().0,
            "flag provided but not defined: -nope"
        );
        assert_eq!(
            parse_str(&["-config.file"]).unwrap_err().0,
            "flag needs an argument: -config.file"
        );
        assert_eq!(
            parse_str(&["-config.expand-env=maybe"]).unwrap_err().0,
            "invalid boolean value \"maybe\" for -config.expand-env: parse error"
        );
        assert_eq!(
            parse_str(&["file.yaml"]).unwrap_err().0,
            "unexpected argument \"file.yaml\""
        );
    }

    #[test]
    fn overrides_win_over_the_file() {
        let c = parse_str(&[
            "-server.http-listen-port=3200",
            "-log.level",
            "debug",
            "-auth.enabled=false",
            "-target=querier",
        ])
        .unwrap();
        let mut cfg = Config::default();
        c.apply(&mut cfg).unwrap();
        assert_eq!(cfg.server.http_listen_port, 3200);
        assert_eq!(cfg.server.log_level, "debug");
        assert!(!cfg.auth_enabled);
        assert_eq!(
            cfg.validate().unwrap_err().to_string(),
            "invalid config: frontend_worker.frontend_address: a querier needs the query frontend's gRPC address"
        );
        let bad = parse_str(&["-server.http-listen-port=x"]).unwrap();
        assert!(bad.apply(&mut cfg).is_err());
    }
}
