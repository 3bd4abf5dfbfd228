//! Go's `time.Location` as templates need it: `time.LoadLocation` over the system tz
//! database (TZif files under `/usr/share/zoneinfo`, or `$ZONEINFO` first, as Go reads
//! them on Unix) and the two lookups `time` does with a location: the offset and
//! abbreviation in effect at an instant, and the offset of an abbreviation (for
//! parsing `MST` layouts).
//!
//! `Local` is UTC: Loki's images run with UTC as the local zone. A machine without a
//! tz database has no named zones: every name but `UTC`, `Local` and `""` is unknown.
//!
//! Loaded zones are cached by name; the cache is bounded so that queries naming many
//! different zones cannot grow it without limit (past the bound, zones are read each
//! time).

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use tz::TimeZone;

/// Where Go's `LoadLocation` looks on Unix after `$ZONEINFO` (`platformZoneSources`).
const SOURCES: [&str; 4] = [
    "/usr/share/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/usr/lib/locale/TZ",
    "/etc/zoneinfo",
];

/// Largest zone file read; real TZif files are a few kB.
const MAX_ZONE_FILE: u64 = 1 << 20;

/// Most names (known or unknown) the cache remembers.
const MAX_CACHED: usize = 4096;

/// A Go `*time.Location`: UTC (also `Local`) or a zone from the tz database.
#[derive(Debug, Clone)]
pub(crate) enum Location {
    Utc,
    Zone(Arc<TimeZone>),
}

type Cache = RwLock<HashMap<String, Option<Arc<TimeZone>>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| RwLock::new(HashMap::new()))
}

impl Location {
    /// Go's `time.LoadLocation`: `None` where Go returns an error (unknown zone, a name
    /// with `..` or a leading slash, no tz database).
    pub fn load(name: &str) -> Option<Location> {
        if name.is_empty() || name == "UTC" || name == "Local" {
            return Some(Location::Utc);
        }
        if name.contains("..") || name.starts_with(['/', '\\']) {
            return None;
        }
        if let Some(hit) = cache().read().get(name) {
            return hit.clone().map(Location::Zone);
        }
        let zone = read_zone(name).map(Arc::new);
        let mut c = cache().write();
        if c.len() < MAX_CACHED {
            c.insert(name.to_string(), zone.clone());
        }
        zone.map(Location::Zone)
    }

    /// Go's `Location.lookup`: the offset east of UTC (seconds) and the abbreviation
    /// in effect at `unix`.
    pub fn lookup(&self, unix: i64) -> (i32, &str) {
        match self {
            Location::Utc => (0, "UTC"),
            Location::Zone(tz) => {
                let tz = TimeZone::as_ref(tz);
                let found = tz.find_local_time_type(unix).ok().or_else(|| {
                    // past the table with no rule for later times: the last zone in force
                    let types = tz.local_time_types();
                    let idx = tz
                        .transitions()
                        .last()
                        .map_or(0, |t| t.local_time_type_index());
                    types.get(idx).or(types.first())
                });
                match found {
                    Some(t) => (t.ut_offset(), t.time_zone_designation()),
                    None => (0, "UTC"),
                }
            }
        }
    }

    /// Go's `Location.lookupName`: the offset of the zone called `name`, preferring
    /// one that is in effect around `unix` (`unix` is the wall clock read as UTC).
    pub fn lookup_name(&self, name: &str, unix: i64) -> Option<i32> {
        match self {
            Location::Utc => (name == "UTC").then_some(0),
            Location::Zone(tz) => {
                let types = TimeZone::as_ref(tz).local_time_types();
                let named = || types.iter().filter(|t| t.time_zone_designation() == name);
                named()
                    .find(|t| {
                        let at = unix.saturating_sub(i64::from(t.ut_offset()));
                        self.lookup(at).1 == name
                    })
                    .map(|t| self.lookup(unix.saturating_sub(i64::from(t.ut_offset()))).0)
                    .or_else(|| named().next().map(|t| t.ut_offset()))
            }
        }
    }

    /// Go's `time.Date(..., loc)` for a wall clock given as seconds since the epoch
    /// read as UTC: the instant. In a gap or an overlap (DST changes) this picks an
    /// offset exactly as Go does: the offset in effect at the wall clock read as UTC,
    /// corrected once if that reading lands in another zone period.
    pub fn wall_to_unix(&self, wall: i64) -> i64 {
        let (offset, _) = self.lookup(wall);
        if offset == 0 {
            return wall;
        }
        let (offset, _) = self.lookup(wall.saturating_sub(i64::from(offset)));
        wall.saturating_sub(i64::from(offset))
    }
}

/// Reads and parses the TZif file of `name` from `$ZONEINFO` or the system sources.
fn read_zone(name: &str) -> Option<TimeZone> {
    let env = std::env::var("ZONEINFO").ok().filter(|d| !d.is_empty());
    read_zone_in(name, env.iter().map(String::as_str).chain(SOURCES))
}

/// Reads and parses the TZif file of `name` from the first directory that has a valid one.
fn read_zone_in<'d>(name: &str, dirs: impl IntoIterator<Item = &'d str>) -> Option<TimeZone> {
    dirs.into_iter().find_map(|dir| {
        let mut data = Vec::new();
        std::fs::File::open(format!("{dir}/{name}"))
            .ok()?
            .take(MAX_ZONE_FILE)
            .read_to_end(&mut data)
            .ok()?;
        TimeZone::from_tz_data(&data).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_go_rejects_are_unknown() {
        for name in ["../etc/passwd", "Europe/../Paris", "/etc/localtime", "\\x"] {
            assert!(Location::load(name).is_none(), "{name}");
        }
        assert!(Location::load("No/Such_Zone").is_none());
        assert!(matches!(Location::load("Local"), Some(Location::Utc)));
    }

    #[test]
    fn missing_or_bad_zone_files_are_unknown_zones() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        // no tz database at all
        assert!(read_zone_in("Europe/Paris", [d.as_str()]).is_none());
        // a file that is not TZif, and a directory
        std::fs::create_dir_all(dir.path().join("Bad")).unwrap();
        std::fs::write(dir.path().join("Bad/Zone"), b"not a zone").unwrap();
        assert!(read_zone_in("Bad/Zone", [d.as_str()]).is_none());
        assert!(read_zone_in("Bad", [d.as_str()]).is_none());
    }

    #[test]
    fn utc_lookups() {
        assert_eq!(Location::Utc.lookup(0), (0, "UTC"));
        assert_eq!(Location::Utc.lookup_name("UTC", 0), Some(0));
        assert_eq!(Location::Utc.lookup_name("CET", 0), None);
        assert_eq!(Location::Utc.wall_to_unix(1234), 1234);
    }
}
