//! The `fenrir` binary: parse flags, load the config, run the single binary.

use std::process::ExitCode;

use fenrir::{app, cli, config::Config};

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

/// Largest allocation glibc serves from its arenas instead of a fresh mmap (glibc's cap).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 << 20;

/// Free bytes glibc keeps at the top of a heap before returning them to the kernel.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 64 << 20;

/// Tunes glibc's malloc before any thread starts; a setting the user gave in the
/// environment (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`,
/// `GLIBC_TUNABLES`) wins.
/// - Arenas are capped at one per core: glibc gives busy threads arenas of their own (up
///   to 8 per core) and memory freed into one is not reused by threads of another, so
///   the decode buffers a query frees on a rayon or blocking thread stayed resident
///   (1 GiB benchmark: Q5 peak RSS 406 -> 257 MiB).
/// - Buffers up to 32 MiB come from the arenas and 64 MiB may stay free on a heap:
///   with glibc's defaults the decoded pages of every query and the segment buffers of
///   every flush were fresh mmaps or regrown heap tops, faulted in page by page (Q3:
///   17-21k page faults per run -> 1-8k, server CPU -8 %; push VmHWM 270 -> 247-261 MiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    let set = |var: &str| std::env::var_os(var).is_some();
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    let mut settings = Vec::new();
    if !set("MALLOC_ARENA_MAX") && !tunables.contains("malloc.arena_max") {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        settings.push((
            libc::M_ARENA_MAX,
            libc::c_int::try_from(cores.max(2)).unwrap_or(2),
        ));
    }
    if !set("MALLOC_MMAP_THRESHOLD_") && !tunables.contains("malloc.mmap_threshold") {
        settings.push((libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD));
    }
    if !set("MALLOC_TRIM_THRESHOLD_") && !tunables.contains("malloc.trim_threshold") {
        settings.push((libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD));
    }
    for (param, value) in settings {
        // SAFETY: mallopt only changes allocator tuning; called before other threads exist.
        unsafe {
            libc::mallopt(param, value);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

fn main() -> ExitCode {
    tune_malloc();
    let cli = match cli::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            eprint!("{}", cli::USAGE);
            return ExitCode::from(1);
        }
    };
    if cli.help {
        print!("{}", cli::USAGE);
        return ExitCode::SUCCESS;
    }
    if cli.version {
        print!("{}", cli::version_text());
        return ExitCode::SUCCESS;
    }
    let mut config = match &cli.config_file {
        Some(path) => match Config::load(path, cli.expand_env) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("failed parsing config: {e}");
                return ExitCode::from(1);
            }
        },
        None => Config::embedded(),
    };
    if let Err(e) = cli.apply(&mut config) {
        eprintln!("{e}");
        return ExitCode::from(1);
    }
    if let Err(e) = config.validate() {
        eprintln!("{e}");
        return ExitCode::from(1);
    }
    if cli.print_config_stderr {
        eprint!("{}", config.to_yaml());
    }
    if cli.verify_config {
        eprintln!("config is valid");
        return ExitCode::SUCCESS;
    }
    init_logging(&config.server.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("start tokio runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(app::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "fenrir stopped");
            ExitCode::from(1)
        }
    }
}
