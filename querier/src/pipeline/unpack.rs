//! `| unpack`: reverses Promtail's `pack` stage. The line must be a JSON object; its
//! string members become labels (names unsanitised, `_extracted` on a clash) and the
//! `_entry` member replaces the line. Labels are only set when `_entry` is present; a
//! line that is not an object gets `__error__="JSONParserErr"`.

use super::json_scan::{self, ValueType};
use super::labels::{DUPLICATE_SUFFIX, ERR_JSON, LabelsBuilder};

/// The key Promtail's `pack` stores the original line under.
const PACKED_ENTRY_KEY: &[u8] = b"_entry";

/// Loki's `errUnexpectedJSONObject` (jsoniter's ObjectValue is 6).
const NOT_AN_OBJECT: &str = "expecting json object(6), but it is not";

/// Unpacks `line`; returns the new line when `_entry` was found.
pub(crate) fn process(line: &str, lbs: &mut LabelsBuilder) -> Option<String> {
    let data = line.as_bytes();
    let first = *data.first()?;
    if first != b'{' {
        lbs.set_err(ERR_JSON);
        lbs.set_err_details(NOT_AN_OBJECT);
        return None;
    }
    let mut entry: Option<String> = None;
    let mut found: Vec<(String, String)> = Vec::new();
    let res = json_scan::object_each(data, |key, value, ty| {
        if ty != ValueType::String {
            return Ok(());
        }
        if key == PACKED_ENTRY_KEY {
            let unescaped = json_scan::unescape(value).ok_or(json_scan::MALFORMED_STRING_ESCAPE)?;
            entry = Some(String::from_utf8_lossy(&unescaped).into_owned());
            return Ok(());
        }
        let mut name = String::from_utf8_lossy(key).into_owned();
        if lbs.base_has(&name) {
            name.push_str(DUPLICATE_SUFFIX);
        }
        if !lbs.should_extract(&name) {
            return Ok(());
        }
        found.push((name, json_scan::unescape_value(value).into_owned()));
        Ok::<(), &'static str>(())
    });
    if let Err(e) = res {
        lbs.set_err(ERR_JSON);
        lbs.set_err_details(e);
        return None;
    }
    let entry = entry?;
    for (k, v) in &found {
        lbs.set(k, v);
    }
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use logql::LabelSet;

    fn run(line: &str) -> (Option<String>, String) {
        let mut lbs = LabelsBuilder::new(LabelSet::from_pairs([("job", "edge")]));
        let out = process(line, &mut lbs);
        (out, lbs.to_label_set().to_string())
    }

    #[test]
    fn unpacks_entry_and_labels() {
        assert_eq!(
            run(r#"{"_entry":"level=warn msg=\"slow\"","container":"envoy","job":"x","n":1}"#),
            (
                Some(r#"level=warn msg="slow""#.to_string()),
                r#"{container="envoy", job="edge", job_extracted="x"}"#.to_string()
            )
        );
    }

    #[test]
    fn without_entry_nothing_changes() {
        assert_eq!(run(r#"{"a":"b"}"#), (None, r#"{job="edge"}"#.to_string()));
    }

    #[test]
    fn non_object_lines_error() {
        assert_eq!(
            run("Nov 20 sshd"),
            (
                None,
                r#"{__error__="JSONParserErr", __error_details__="expecting json object(6), but it is not", job="edge"}"#
                    .to_string()
            )
        );
        assert_eq!(
            run(r#"{"a":"b""#),
            (
                None,
                r#"{__error__="JSONParserErr", __error_details__="Value is array, but can't find closing ']' symbol", job="edge"}"#
                    .to_string()
            )
        );
    }
}
