//! End-to-end template tests: source, labels, line, timestamp -> exact Go/Loki output.

use logql::LabelSet;

use super::{Template, TemplateContext};

/// 2026-11-20T00:01:37.549Z
const TS: i64 = 1_795_132_897_549_000_000;

fn labels() -> LabelSet {
    LabelSet::from_pairs([
        ("app", "sshd"),
        ("host", "db-1"),
        ("level", "warn"),
        ("status", "401"),
        ("latency_ms", "22"),
        ("path", "/api/cart"),
        ("duration", "37ms"),
        ("trace_id", "224093da58ae0eb6"),
        ("msg", "report generated"),
        ("empty", ""),
        ("json", r#"{"a":{"b":[1,2.5,"x"]},"n":null,"s":"str"}"#),
    ])
}

const LINE: &str = "Nov 20 00:01:37 db-1 sshd[11852]: session opened";

fn render(src: &str) -> String {
    let t = Template::parse(src).unwrap_or_else(|e| panic!("parse {src}: {e}"));
    let l = labels();
    let ctx = TemplateContext {
        labels: &l,
        line: LINE,
        ts: TS,
    };
    t.render_to_string(&ctx)
        .unwrap_or_else(|e| panic!("render {src}: {e}"))
}

fn render_err(src: &str) -> String {
    let t = Template::parse(src).unwrap_or_else(|e| panic!("parse {src}: {e}"));
    let l = labels();
    let ctx = TemplateContext {
        labels: &l,
        line: LINE,
        ts: TS,
    };
    t.render_to_string(&ctx).unwrap_err().0
}

fn parse_err(src: &str) -> String {
    Template::parse(src).unwrap_err().0
}

#[test]
fn fields_and_text() {
    assert_eq!(render("{{.level | ToUpper}} {{.app}}"), "WARN sshd");
    assert_eq!(render("[{{ .nope }}] {{ .host }}"), "[] db-1");
    assert_eq!(render("{{.app}}"), "sshd");
    assert_eq!(render("{{.nope}}"), "");
    assert_eq!(render("plain"), "plain");
}

#[test]
fn conformance_case_outputs() {
    // line_format_if_else_122
    assert_eq!(
        render(
            r#"{{ if eq .level "error" }}E{{ else if eq .level "warn" }}W{{ else }}.{{ end }} {{.status}}"#
        ),
        "W 401"
    );
    // line_format_math_float_127 (latency_ms=22)
    assert_eq!(
        render("{{ divf .latency_ms 1000 }}s {{ addf .latency_ms 0.5 }} {{ subf .latency_ms 1 }}"),
        "0.022s 22.5 21"
    );
    // line_format_replace_trunc_120
    assert_eq!(
        render(r#"{{ replace "/api/" "API:" .path }} {{ trunc 8 .trace_id }}"#),
        "API:cart 224093da"
    );
    // line_format_regex_replace_all_125
    assert_eq!(
        render(r#"{{ regexReplaceAll "([0-9.]+)ms" .duration "${1} millis" }}"#),
        "37 millis"
    );
    // line_format_alignment_repeat_137
    assert_eq!(
        render(r#"{{ alignLeft 6 .app }}|{{ alignRight 10 .host }}|{{ repeat 3 "-" }}"#),
        "sshd  |      db-1|---"
    );
    // line_format_line_func_123
    assert_eq!(render("{{ __line__ | trunc 15 }}..."), "Nov 20 00:01:37...");
    // label_format_timestamp_template_144
    assert_eq!(render(r#"{{ __timestamp__ | date "15:04" }}"#), "00:01");
    // line_format_lower_title_128
    assert_eq!(
        render("{{ .msg | upper }} {{ .msg | title }} {{ .level | ToLower }}"),
        "REPORT GENERATED Report Generated warn"
    );
    // line_format_trim_prefix_suffix_133
    assert_eq!(
        render(
            r#"{{ trimPrefix "/api/" .path }} {{ trimSuffix "ms" .duration }} {{ TrimSpace "  x  " }}"#
        ),
        "cart 37 x"
    );
    // line_format_contains_hasprefix_135
    assert_eq!(
        render(
            r#"{{ if contains "car" .path }}car{{ end }}{{ if hasPrefix "/api/re" .path }}refund{{ end }}:{{ .path }}"#
        ),
        "car:/api/cart"
    );
    // line_format_count_func_138
    assert_eq!(
        render(r#"{{ count "[aeiou]" __line__ }} vowels"#),
        "7 vowels"
    );
    // label_format_replace_func_146
    let t =
        Template::parse_named("label", r#"{{ regexReplaceAll "\\.[0-9]+$" .ip ".0" }}"#).unwrap();
    let l = LabelSet::from_pairs([("ip", "10.0.4.189")]);
    let ctx = TemplateContext {
        labels: &l,
        line: "",
        ts: 0,
    };
    assert_eq!(t.render_to_string(&ctx).unwrap(), "10.0.4.0");
}

#[test]
fn trim_markers_and_comments() {
    assert_eq!(render("a  {{- .app -}}  b"), "asshdb");
    assert_eq!(render("a {{/* comment */}} b"), "a  b");
    assert_eq!(render("a {{- /* comment */ -}} b"), "ab");
    assert_eq!(render("{{-3}}"), "-3");
}

#[test]
fn variables_and_scopes() {
    assert_eq!(
        render("{{ $x := .app }}{{ $x }}-{{ $x = \"z\" }}{{ $x }}"),
        "sshd-z"
    );
    assert_eq!(
        render("{{ with $h := .host }}{{ $h }}/{{ . }}{{ end }}"),
        "db-1/db-1"
    );
    assert_eq!(render("{{ with .nope }}yes{{ else }}no{{ end }}"), "no");
    assert_eq!(render("{{ with .app }}{{ $.host }}{{ end }}"), "db-1");
    assert_eq!(
        parse_err("{{ if true }}{{ $v := 1 }}{{ end }}{{ $v }}"),
        "template: line:1: undefined variable \"$v\""
    );
}

#[test]
fn range_over_json_lists_maps_and_ints() {
    assert_eq!(
        render("{{ range $i, $e := (fromJson .json).a.b }}{{ $i }}={{ $e }};{{ end }}"),
        "0=1;1=2.5;2=x;"
    );
    assert_eq!(
        render("{{ range $k, $v := fromJson .json }}{{ $k }} {{ end }}"),
        "a n s "
    );
    assert_eq!(render("{{ range 3 }}{{ . }}{{ end }}"), "012");
    assert_eq!(
        render(
            "{{ range $i, $e := (fromJson .json).a.b }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $e }}{{ end }}"
        ),
        "1"
    );
    assert_eq!(
        render(
            "{{ range $i, $e := (fromJson .json).a.b }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $e }}{{ end }}"
        ),
        "1x"
    );
    // a missing label is "" and Go cannot range over a string
    assert_eq!(
        render_err("{{ range .nope }}x{{ end }}"),
        "template: line:1:9: executing \"line\" at <{{range .nope}}x{{en...>: range can't iterate over "
    );
    assert_eq!(
        render("{{ range (fromJson \"[]\") }}x{{ else }}empty{{ end }}"),
        "empty"
    );
}

#[test]
fn json_values() {
    assert_eq!(render("{{ (fromJson .json).s }}"), "str");
    assert_eq!(render("{{ (fromJson .json).n }}"), "<no value>");
    assert_eq!(render("{{ (fromJson .json).missing }}"), "<no value>");
    assert_eq!(render("{{ (fromJson .json).a }}"), "map[b:[1 2.5 x]]");
    assert_eq!(render("{{ index (fromJson .json) \"s\" }}"), "str");
    assert_eq!(render("{{ fromJson \"not json\" }}"), "<no value>");
}

#[test]
fn builtins() {
    assert_eq!(render("{{ len .app }} {{ len . }}"), "4 11");
    assert_eq!(
        render("{{ index . \"host\" }}|{{ index . \"nope\" }}"),
        "db-1|"
    );
    assert_eq!(
        render("{{ printf \"%s-%05.1f-%d-%v\" .app 5.55555 42 true }}"),
        "sshd-005.6-42-true"
    );
    assert_eq!(render("{{ print 1 2 \"a\" 3 }}"), "1 2a3");
    assert_eq!(render("{{ println .app 1 }}"), "sshd 1\n");
    assert_eq!(
        render("{{ and .app .empty }}|{{ or .empty .host }}|{{ not .empty }}"),
        "|db-1|true"
    );
    assert_eq!(
        render(
            "{{ eq .level \"x\" \"warn\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le \"b\" \"a\" }} {{ gt 2.5 1.5 }} {{ ge 2 2 }}"
        ),
        "true true true false true true"
    );
    assert_eq!(render("{{ slice .app 1 3 }}"), "sh");
    assert_eq!(
        render("{{ html \"<a href='x'>\" }}"),
        "&lt;a href=&#39;x&#39;&gt;"
    );
    assert_eq!(render("{{ urlquery \"a b&c\" }}"), "a+b%26c");
    assert_eq!(render("{{ (len .app) | printf \"%03d\" }}"), "004");
}

#[test]
fn sprig_math() {
    assert_eq!(
        render(
            "{{ add 1 2 \"3\" }} {{ sub 5 .latency_ms }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 2 }}"
        ),
        "6 -17 24 3 1"
    );
    assert_eq!(
        render("{{ max 1 5 3 }} {{ min 4 2 9 }} {{ maxf 1.5 2 }} {{ minf 1.5 2 }}"),
        "5 2 2 1.5"
    );
    assert_eq!(
        render("{{ addf 0.1 0.2 }} {{ mulf 1.1 3 }} {{ divf 2 3 }}"),
        "0.3 3.3 0.6666666666666667"
    );
    assert_eq!(
        render("{{ ceil 1.2 }} {{ floor 1.8 }} {{ round 5.55555 2 }} {{ round 2.5 0 }}"),
        "2 1 5.56 3"
    );
    assert_eq!(
        render(
            "{{ int \"42\" }} {{ float64 \"1.5\" }} {{ int 3.9 }} {{ float64 .latency_ms | mulf 2 }}"
        ),
        "42 1.5 3 44"
    );
    assert_eq!(render("{{ add 1000000 0 | float64 | mulf 1 }}"), "1e+06");
}

#[test]
fn sprig_strings() {
    assert_eq!(
        render("{{ b64enc \"hello\" }} {{ b64dec \"aGVsbG8=\" }} {{ b64dec \"!!\" }}"),
        "aGVsbG8= hello illegal base64 data at input byte 0"
    );
    assert_eq!(
        render("{{ substr 1 3 .app }}|{{ substr -1 2 .app }}|{{ substr 2 -1 .app }}"),
        "sh|ss|hd"
    );
    assert_eq!(render("{{ trunc -2 .app }}|{{ trunc 10 .app }}"), "hd|sshd");
    assert_eq!(
        render("{{ indent 2 \"a\\nb\" }}|{{ nindent 1 \"x\" }}"),
        "  a\n  b|\n x"
    );
    assert_eq!(
        render(
            "{{ trim \"  a \" }}|{{ trimAll \"-\" \"--a--\" }}|{{ Trim \"xxaxx\" \"x\" }}|{{ TrimLeft \"xxa\" \"x\" }}|{{ TrimRight \"axx\" \"x\" }}"
        ),
        "a|a|a|a|a"
    );
    assert_eq!(
        render("{{ Replace \"aaa\" \"a\" \"b\" 2 }}|{{ Replace \"aaa\" \"a\" \"b\" -1 }}"),
        "bba|bbb"
    );
    assert_eq!(
        render(
            "{{ hasSuffix \"ms\" .duration }} {{ TrimPrefix .path \"/api\" }} {{ TrimSuffix .duration \"ms\" }}"
        ),
        "true /cart 37"
    );
    assert_eq!(
        render("{{ urlencode \"a b/c\" }} {{ urldecode \"a+b%2Fc\" }}"),
        "a+b%2Fc a b/c"
    );
    assert_eq!(
        render("{{ regexReplaceAllLiteral \"[0-9]+\" .duration \"$1\" }}"),
        "$1ms"
    );
    assert_eq!(
        render("{{ .nope | default \"none\" }} {{ .app | default \"none\" }}"),
        "none sshd"
    );
    assert_eq!(
        render("{{ title \"hello wORLD foo_bar\" }}"),
        "Hello WORLD Foo_bar"
    );
}

#[test]
fn loki_conversions() {
    assert_eq!(
        render(
            "{{ bytes \"1.5KB\" }} {{ bytes \"2 MiB\" }} {{ duration \"1m30s\" }} {{ duration_seconds \"250ms\" }}"
        ),
        "1500 2.097152e+06 90 0.25"
    );
    assert_eq!(
        render(
            "{{ __timestamp__ | unixEpochMillis }} {{ __timestamp__ | unixEpochNanos }} {{ __timestamp__ | unixEpoch }}"
        ),
        "1795132897549 1795132897549000000 1795132897"
    );
    assert_eq!(
        render("{{ __timestamp__ }}"),
        "2026-11-20 00:01:37.549 +0000 UTC"
    );
    assert_eq!(
        render("{{ unixToTime \"1795132897\" }}"),
        "2026-11-20 00:01:37 +0000 UTC"
    );
    assert_eq!(
        render("{{ (unixToTime \"1795132897549\").UnixMilli }}"),
        "1795132897549"
    );
    assert_eq!(
        render("{{ toDate \"2006-01-02\" \"2026-11-20\" | unixEpoch }}"),
        "1795132800"
    );
    assert_eq!(
        render("{{ toDateInZone \"2006-01-02\" \"UTC\" \"bad\" }}"),
        "0001-01-01 00:00:00 +0000 UTC"
    );
    assert_eq!(
        render("{{ date \"2006-01-02\" (toDate \"02/01/2006\" \"20/11/2026\") }}"),
        "2026-11-20"
    );
    assert_eq!(
        render("{{ __timestamp__.Format \"Jan 2 15:04:05.000\" }}"),
        "Nov 20 00:01:37.549"
    );
    assert_eq!(
        render("{{ with __timestamp__ }}{{ .Year }}-{{ .Hour }}{{ end }}"),
        "2026-0"
    );
}

#[test]
fn number_and_literal_printing() {
    assert_eq!(
        render("{{ 3 }} {{ 1.5 }} {{ 1e3 }} {{ 0x10 }} {{ 'a' }} {{ true }} {{ `raw\\n` }}"),
        "3 1.5 1000 16 97 true raw\\n"
    );
    assert_eq!(render("{{ \"a\\tb\" }}"), "a\tb");
}

#[test]
fn execution_errors_use_go_wording() {
    assert_eq!(
        render_err("{{ trunc .status .app }}"),
        "template: line:1:9: executing \"line\" at <.status>: wrong type for value; expected int; got string"
    );
    assert_eq!(
        render_err("{{ div 1 0 }}"),
        "template: line:1:3: executing \"line\" at <div 1 0>: error calling div: runtime error: integer divide by zero"
    );
    assert_eq!(
        render_err("{{ eq .status 401 }}"),
        "template: line:1:3: executing \"line\" at <eq .status 401>: error calling eq: incompatible types for comparison"
    );
    assert_eq!(
        render_err("{{ .app.x }}"),
        "template: line:1:3: executing \"line\" at <.app.x>: can't evaluate field x in type string"
    );
    assert_eq!(
        render_err("{{ upper }}"),
        "template: line:1:3: executing \"line\" at <upper>: wrong number of args for upper: want 1 got 0"
    );
    assert_eq!(
        render_err("{{ unixToTime \"abc\" }}"),
        "template: line:1:3: executing \"line\" at <unixToTime \"abc\">: error calling unixToTime: unable to parse time 'abc': strconv.ParseInt: parsing \"abc\": invalid syntax"
    );
    assert_eq!(
        render_err("{{ repeat 2 3 }}"),
        "template: line:1:12: executing \"line\" at <3>: expected string; found 3"
    );
    assert_eq!(
        render_err("{{ .app | upper | trunc }}"),
        "template: line:1:18: executing \"line\" at <trunc>: wrong number of args for trunc: want 2 got 1"
    );
}

#[test]
fn parse_errors_name_the_template() {
    assert_eq!(
        parse_err("{{ nope }}"),
        "template: line:1: function \"nope\" not defined"
    );
    let e = Template::parse_named("label", "{{ if }}").unwrap_err().0;
    assert_eq!(e, "template: label:1: missing value for if");
}

#[test]
fn failed_render_leaves_output_untouched() {
    let t = Template::parse("abc{{ div 1 0 }}").unwrap();
    let l = labels();
    let ctx = TemplateContext {
        labels: &l,
        line: LINE,
        ts: TS,
    };
    let mut out = String::from("keep");
    assert!(t.render(&ctx, &mut out).is_err());
    assert_eq!(out, "keep");
}

#[test]
fn required_labels_lists_fields() {
    let t =
        Template::parse("{{ .a }}{{ if .b }}{{ .a | printf \"%s\" }}{{ else }}{{ (.c) }}{{ end }}")
            .unwrap();
    assert_eq!(t.required_labels(), vec!["a", "b", "c"]);
}

#[test]
fn nil_and_missing_values() {
    assert_eq!(
        render("{{ eq .app nil }} {{ eq (fromJson .json).n nil }}"),
        "false true"
    );
    assert_eq!(
        render("{{ (fromJson .json).n | default \"dflt\" }}"),
        "dflt"
    );
    assert_eq!(render("{{ print (fromJson .json).n }}"), "<nil>");
    assert_eq!(
        render("{{ printf \"%v|%s\" (fromJson .json).n .app }}"),
        "<nil>|sshd"
    );
    assert_eq!(
        render("{{ or .empty .nope }}|{{ .empty | or \"p\" }}"),
        "|p"
    );
    assert_eq!(
        render_err("{{ lt (fromJson .json).n 1 }}"),
        "template: line:1:3: executing \"line\" at <lt (fromJson .json)....>: error calling lt: invalid type for comparison"
    );
    assert_eq!(
        render_err("{{ .app | .host }}"),
        "template: line:1:10: executing \"line\" at <.host>: host is not a method but has arguments"
    );
    assert_eq!(
        parse_err("{{ .app | 3 }}"),
        "template: line:1: non executable command in pipeline stage 2"
    );
}

#[test]
fn variadic_arity_errors_count_only_explicit_args() {
    assert_eq!(
        render_err("{{ printf }}"),
        "template: line:1:3: executing \"line\" at <printf>: wrong number of args for printf: want at least 1 got 0"
    );
}

#[test]
fn template_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
}

#[test]
fn oversized_padding_is_an_error() {
    assert!(
        render_err("{{ alignLeft 100000000 .app }}")
            .ends_with("error calling alignLeft: strings: Repeat output length overflow")
    );
    assert_eq!(render("{{ printf \"%9999999d\" 1 }}"), "%!(BADWIDTH)1");
    assert_eq!(
        render("{{ toDate \"Jan\" \"é\" }}"),
        "0001-01-01 00:00:00 +0000 UTC"
    );
}

#[test]
fn deepest_accepted_nesting_renders() {
    let src = format!("{{{{ {}.app{} }}}}", "(".repeat(98), ")".repeat(98));
    assert_eq!(render(&src), "sshd");
    let src = format!("{}x{}", "{{ if 1 }}".repeat(99), "{{ end }}".repeat(99));
    assert_eq!(render(&src), "x");
}

#[test]
fn case_mapping_is_per_rune_like_go() {
    assert_eq!(
        render("{{ upper \"straße\" }} {{ lower \"ΟΔΟΣ\" }} {{ ToUpper \"héllo\" }}"),
        "STRAßE οδοσ HÉLLO"
    );
}

#[test]
fn define_and_template_run_with_the_given_dot() {
    assert_eq!(
        render("{{define \"x\"}}[{{.app}}]{{end}}{{template \"x\" .}}-{{template \"x\" .}}"),
        "[sshd]-[sshd]"
    );
    // the definition may come after its use; text around it is kept
    assert_eq!(
        render("a{{template \"x\" .host}}b{{define \"x\"}}<{{.}}>{{end}}c"),
        "a<db-1>bc"
    );
    // no pipeline: the dot is missing
    assert_eq!(
        render("{{define \"x\"}}{{.}}|{{.app}}{{end}}{{template \"x\"}}"),
        "<no value>|<no value>"
    );
    // `$` is the new dot; raw string names
    assert_eq!(
        render("{{define `d`}}{{$}}|{{.}}{{end}}{{template `d` .app | upper}}"),
        "SSHD|SSHD"
    );
    // variables declared by the call's pipeline persist in the caller
    assert_eq!(
        render("{{define \"d\"}}{{.}}{{end}}{{template \"d\" $v := .host}}/{{$v}}"),
        "db-1/db-1"
    );
    // a definition with only space is replaced by a later one
    assert_eq!(
        render("{{define \"a\"}} {{end}}{{define \"a\"}}2{{end}}{{template \"a\"}}"),
        "2"
    );
    assert_eq!(render("{{define \"x\"}}only a definition{{end}}"), "");
    // a definition of the template's own name runs when the body is only space
    assert_eq!(render("{{define \"line\"}}D{{.app}}{{end}} \n "), "Dsshd");
}

#[test]
fn block_is_define_plus_template() {
    assert_eq!(render("{{block \"b\" .host}}<{{.}}>{{end}}"), "<db-1>");
    assert_eq!(
        render("{{block \"b\" .app}}<{{.}}>{{end}}{{template \"b\" .level}}"),
        "<sshd><warn>"
    );
    assert_eq!(
        render("{{range $i, $e := fromJson `[1,2]`}}{{block \"b\" $e}}({{.}}){{end}}{{end}}"),
        "(1)(2)"
    );
}

#[test]
fn recursive_templates_run_until_their_base_case() {
    assert_eq!(
        render(
            "{{define \"c\"}}{{.}}{{if gt . 0}},{{template \"c\" sub . 1}}{{end}}{{end}}{{template \"c\" 3}}"
        ),
        "3,2,1,0"
    );
}

#[test]
fn template_exec_errors_use_go_wording() {
    assert_eq!(
        render_err("{{template \"nope\" .}}"),
        "template: line:1:11: executing \"line\" at <{{template \"nope\" .}...>: no such template \"nope\""
    );
    // errors inside a definition name it, at its position in the source
    assert_eq!(
        render_err("{{define \"e\"}}{{div 1 0}}{{end}}{{template \"e\" .}}"),
        "template: line:1:16: executing \"e\" at <div 1 0>: error calling div: runtime error: integer divide by zero"
    );
    assert_eq!(
        render_err("{{define \"e\"}}\n {{.app.x}}{{end}}{{template \"e\" .}}"),
        "template: line:2:3: executing \"e\" at <.app.x>: can't evaluate field x in type string"
    );
    let t = Template::parse_named("label", "{{block \"b\" .}}{{div 1 0}}{{end}}").unwrap();
    let l = labels();
    let ctx = TemplateContext {
        labels: &l,
        line: LINE,
        ts: TS,
    };
    assert_eq!(
        t.render_to_string(&ctx).unwrap_err().0,
        "template: label:1:17: executing \"b\" at <div 1 0>: error calling div: runtime error: integer divide by zero"
    );
}

#[test]
fn infinite_recursion_is_an_error_not_a_stack_overflow() {
    assert_eq!(
        render_err("{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}"),
        "template: line:1:25: executing \"r\" at <{{template \"r\" .}}>: exceeded maximum template depth (200)"
    );
    assert_eq!(
        render_err("{{template \"line\" .}}"),
        "template: line:1:11: executing \"line\" at <{{template \"line\" .}...>: exceeded maximum template depth (200)"
    );
    // recursion through the deepest nesting a body may have, on a worker-sized stack
    let src = format!(
        "{{{{define \"r\"}}}}{}{{{{template \"r\" {}.{}}}}}{}{{{{end}}}}{{{{template \"r\" .}}}}",
        "{{ with 1 }}".repeat(97),
        "(".repeat(2),
        ")".repeat(2),
        "{{ end }}".repeat(97),
    );
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let t = Template::parse(&src).unwrap();
            let l = labels();
            let ctx = TemplateContext {
                labels: &l,
                line: LINE,
                ts: TS,
            };
            t.render_to_string(&ctx).unwrap_err().0
        })
        .unwrap();
    assert!(
        handle
            .join()
            .unwrap()
            .ends_with("exceeded maximum template depth (200)")
    );
}

#[test]
fn define_template_block_parse_errors_use_go_wording() {
    assert_eq!(
        parse_err("{{define \"x\"}}a"),
        "template: line:1: unexpected EOF"
    );
    assert_eq!(
        parse_err("{{define x}}{{end}}"),
        "template: line:1: unexpected \"x\" in define clause"
    );
    assert_eq!(
        parse_err("{{define \"x\" 1}}{{end}}"),
        "template: line:1: unexpected \"1\" in define clause"
    );
    assert_eq!(
        parse_err("{{define \"x\"}}a{{else}}b{{end}}"),
        "template: line:1: unexpected {{else}} in define clause"
    );
    assert_eq!(
        parse_err("{{if 1}}{{define \"x\"}}{{end}}{{end}}"),
        "template: line:1: unexpected <define> in command"
    );
    assert_eq!(
        parse_err("{{template .x}}"),
        "template: line:1: unexpected \".x\" in template clause"
    );
    assert_eq!(
        parse_err("{{block \"b\"}}x{{end}}"),
        "template: line:1: missing value for block clause"
    );
    assert_eq!(
        parse_err("{{block \"b\" .}}x{{else}}y{{end}}"),
        "template: line:1: unexpected {{else}} in block clause"
    );
    assert_eq!(
        parse_err("{{define \"a\"}}1{{end}}\n{{define \"a\"}}2{{end}}"),
        "template: line:2: template: multiple definition of template \"a\""
    );
    assert_eq!(
        parse_err("{{define \"b\"}}1{{end}}{{block \"b\" .}}2{{end}}"),
        "template: line:1: template: multiple definition of template \"b\""
    );
    assert_eq!(
        parse_err("{{define \"line\"}}D{{end}}x\n"),
        "template: line:2: template: multiple definition of template \"line\""
    );
    // a definition is a new scope: no outer variables, no enclosing range
    assert_eq!(
        parse_err("{{$x := 1}}{{define \"v\"}}{{$x}}{{end}}"),
        "template: line:1: undefined variable \"$x\""
    );
    assert_eq!(
        parse_err("{{range .a}}{{block \"b\" .}}{{break}}{{end}}{{end}}"),
        "template: line:1: {{break}} outside {{range}}"
    );
}

#[test]
fn required_labels_skip_template_calls_and_definitions_like_loki() {
    let t = Template::parse("{{.a}}{{template \"x\" .b}}{{define \"x\"}}{{.c}}{{end}}").unwrap();
    assert_eq!(t.required_labels(), vec!["a"]);
}

/// Named zones need the system tz database (Debian: the `tzdata` package).
fn require_tzdata() {
    assert!(
        std::path::Path::new("/usr/share/zoneinfo/Europe/Paris").exists(),
        "these tests need the tz database: apt-get install -y tzdata"
    );
}

#[test]
fn to_date_in_zone_parses_in_named_zones() {
    require_tzdata();
    let paris = |v: &str, tail: &str| {
        render(&format!(
            "{{{{ toDateInZone \"2006-01-02 15:04\" \"Europe/Paris\" \"{v}\"{tail} }}}}"
        ))
    };
    assert_eq!(
        paris("2024-06-01 12:00", ""),
        "2024-06-01 12:00:00 +0200 CEST"
    );
    assert_eq!(paris("2024-06-01 12:00", " | unixEpoch"), "1717236000");
    assert_eq!(
        paris("2024-06-01 12:00", " | unixEpochMillis"),
        "1717236000000"
    );
    assert_eq!(
        render(
            "{{ (toDateInZone \"2006-01-02 15:04\" \"Europe/Paris\" \"2024-06-01 12:00\").Format \"Mon 15:04 MST -0700 Z07:00\" }}"
        ),
        "Sat 12:00 CEST +0200 +02:00"
    );
    assert_eq!(
        render(
            "{{ with toDateInZone \"2006-01-02 15:04\" \"Europe/Paris\" \"2024-06-01 12:00\" }}{{ .Hour }} {{ .UTC }}{{ end }}"
        ),
        "12 2024-06-01 10:00:00 +0000 UTC"
    );
    assert_eq!(
        paris("2024-01-15 08:30", ""),
        "2024-01-15 08:30:00 +0100 CET"
    );
    assert_eq!(
        render("{{ toDateInZone \"2006-01-02 15:04\" \"America/New_York\" \"2024-07-04 09:00\" }}"),
        "2024-07-04 09:00:00 -0400 EDT"
    );
    assert_eq!(
        render("{{ toDateInZone \"2006-01-02 15:04\" \"Asia/Kolkata\" \"2024-07-04 09:00\" }}"),
        "2024-07-04 09:00:00 +0530 IST"
    );
    // sprig's date shows times in Local, which is UTC in Loki's images
    assert_eq!(
        render(
            "{{ toDateInZone \"2006-01-02 15:04\" \"Europe/Paris\" \"2024-06-01 12:00\" | date \"15:04 MST\" }}"
        ),
        "10:00 UTC"
    );
}

#[test]
fn to_date_in_zone_picks_offsets_in_dst_changes_like_go() {
    require_tzdata();
    let paris = |v: &str| {
        render(&format!(
            "{{{{ toDateInZone \"2006-01-02 15:04\" \"Europe/Paris\" \"{v}\" }}}}"
        ))
    };
    // 02:30 does not exist on 2024-03-31: Go's time.Date lands on 03:30 CEST
    assert_eq!(paris("2024-03-31 02:30"), "2024-03-31 03:30:00 +0200 CEST");
    // 02:30 happens twice on 2024-10-27: Go's time.Date picks the second (CET)
    assert_eq!(paris("2024-10-27 02:30"), "2024-10-27 02:30:00 +0100 CET");
    assert_eq!(paris("2024-10-27 01:59"), "2024-10-27 01:59:00 +0200 CEST");
    assert_eq!(paris("2024-10-27 03:00"), "2024-10-27 03:00:00 +0100 CET");
}

#[test]
fn to_date_in_zone_keeps_zones_written_in_the_value() {
    require_tzdata();
    let paris = |layout: &str, v: &str| {
        render(&format!(
            "{{{{ toDateInZone \"{layout}\" \"Europe/Paris\" \"{v}\" }}}}"
        ))
    };
    // the zone's own offset: shown in the zone
    assert_eq!(
        paris("2006-01-02 15:04 -0700", "2024-06-01 12:00 +0200"),
        "2024-06-01 12:00:00 +0200 CEST"
    );
    // another offset: an unnamed fixed zone, printed as the offset
    assert_eq!(
        paris("2006-01-02 15:04 -0700", "2024-06-01 12:00 +0000"),
        "2024-06-01 12:00:00 +0000 +0000"
    );
    assert_eq!(
        paris("2006-01-02T15:04Z07:00", "2024-06-01T12:00Z"),
        "2024-06-01 12:00:00 +0000 UTC"
    );
    // an abbreviation of the zone: its offset, then shown as the zone is at that time
    assert_eq!(
        paris("2006-01-02 15:04 MST", "2024-01-15 08:30 CEST"),
        "2024-01-15 07:30:00 +0100 CET"
    );
    assert_eq!(
        paris("2006-01-02 15:04 MST", "2024-06-01 12:00 CEST"),
        "2024-06-01 12:00:00 +0200 CEST"
    );
    // unknown abbreviations: the wall clock read as UTC, shown in a zone of that name
    assert_eq!(
        render("{{ toDate \"2006-01-02 15:04 MST\" \"2024-01-15 10:00 XYZ\" }}"),
        "2024-01-15 10:00:00 +0000 XYZ"
    );
    assert_eq!(
        render("{{ toDate \"2006-01-02 15:04 MST\" \"2024-01-15 10:00 GMT+3\" }}"),
        "2024-01-15 13:00:00 +0300 GMT+3"
    );
    assert_eq!(
        render("{{ toDate \"2006-01-02 15:04 MST\" \"2024-01-15 10:00 UTC\" }}"),
        "2024-01-15 10:00:00 +0000 UTC"
    );
    assert_eq!(
        render("{{ toDate \"2006-01-02 MST\" \"2024-01-15 XY\" }}"),
        "0001-01-01 00:00:00 +0000 UTC"
    );
}

#[test]
fn to_date_in_zone_falls_back_to_utc_like_loki() {
    let at = |zone: &str| {
        render(&format!(
            "{{{{ toDateInZone \"2006-01-02 15:04\" \"{zone}\" \"2024-06-01 12:00\" }}}}"
        ))
    };
    // Loki: LoadLocation fails -> UTC, and UTC, Local and "" are UTC
    for zone in [
        "Mars/Olympus",
        "../../../etc/passwd",
        "/usr/share/zoneinfo/Europe/Paris",
        "UTC",
        "Local",
        "",
    ] {
        assert_eq!(at(zone), "2024-06-01 12:00:00 +0000 UTC", "{zone}");
    }
    // a value that does not parse: Go's zero time
    assert_eq!(
        render("{{ toDateInZone \"2006-01-02\" \"Europe/Paris\" \"June 1\" }}"),
        "0001-01-01 00:00:00 +0000 UTC"
    );
}

#[test]
fn date_in_zone_is_not_a_loki_function() {
    // sprig has dateInZone/date_in_zone, but Loki does not expose them
    assert_eq!(
        parse_err("{{ dateInZone \"15:04\" now \"UTC\" }}"),
        "template: line:1: function \"dateInZone\" not defined"
    );
    assert_eq!(
        parse_err("{{ date_in_zone \"15:04\" now \"UTC\" }}"),
        "template: line:1: function \"date_in_zone\" not defined"
    );
}
