//! `| decolorize`: removes ANSI escape sequences (colours, cursor codes) from the line,
//! with the pattern Loki uses (from acarl005/stripansi).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

static ANSI: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        "[\u{1b}\u{9b}][\\[\\]()#;?]*(?:(?:(?:[a-zA-Z0-9]*(?:;[a-zA-Z0-9]*)*)?\u{7})|(?:(?:[0-9]{1,4}(?:;[0-9]{0,4})*)?[0-9A-PRZcf-ntqry=><~]))",
    )
    .ok()
});

/// The line without ANSI escape sequences (borrowed when there are none).
pub(crate) fn decolorize(line: &str) -> Cow<'_, str> {
    if !line.contains(['\u{1b}', '\u{9b}']) {
        return Cow::Borrowed(line);
    }
    match ANSI.as_ref() {
        Some(re) => re.replace_all(line, ""),
        None => Cow::Borrowed(line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colour_codes() {
        assert_eq!(
            decolorize("web-1 kernel: \u{1b}[1;31mERROR\u{1b}[0m [86932.789] eth0"),
            "web-1 kernel: ERROR [86932.789] eth0"
        );
        assert!(matches!(decolorize("plain"), Cow::Borrowed("plain")));
    }
}
