//! Tenant isolation with `auth_enabled: true`: no `X-Scope-OrgID` means 401 `no org id`
//! on every endpoint, and a tenant never sees another tenant's data on any endpoint.

mod common;

use std::time::Duration;

use common::{Config, Fenrir, data_of, values, vector_of};
use serde_json::json;

const S: i64 = 1_000_000_000;

#[tokio::test]
async fn missing_org_id_is_401_on_every_endpoint() {
    let f = Fenrir::start(Config::new().set("auth_enabled", true)).await;
    let body = json!({"streams": [{"stream": {"job": "x"}, "values": [[common::now_ns().to_string(), "l"]]}]});
    f.push_json(None, &body)
        .await
        .assert_error(401, "no org id");
    let r = f
        .send(f.post_raw(
            "/api/prom/push",
            None,
            "application/json",
            None,
            br#"{"streams":[]}"#.to_vec(),
        ))
        .await;
    r.assert_error(401, "no org id");

    let q = || ("query", r#"{job="x"}"#.to_string());
    for (path, params) in [
        ("/loki/api/v1/query_range", vec![q()]),
        (
            "/loki/api/v1/query",
            vec![("query", "count_over_time({job=\"x\"}[1m])".to_string())],
        ),
        ("/loki/api/v1/labels", vec![]),
        ("/loki/api/v1/label/job/values", vec![]),
        (
            "/loki/api/v1/series",
            vec![("match[]", r#"{job="x"}"#.to_string())],
        ),
    ] {
        let r = f.get(path, &params, None).await;
        assert_eq!(
            (r.status, r.body.trim_end()),
            (401, "no org id"),
            "GET {path} without X-Scope-OrgID"
        );
    }
}

#[tokio::test]
async fn tenants_never_see_each_other() {
    let f = Fenrir::start(Config::new().set("auth_enabled", true)).await;
    let base = common::whole_second_ago(Duration::from_secs(300));
    let end = base + 10 * S;
    // same stream labels in both tenants, plus one label only tenant b has
    let a = json!({"streams": [{"stream": {"job": "app", "who": "a"},
        "values": [[(base + S).to_string(), "from a"]]}]});
    let b = json!({"streams": [{"stream": {"job": "app", "who": "b", "secret": "yes"},
        "values": [[(base + 2 * S).to_string(), "from b"]]}]});
    f.push_ok(Some("tenant-a"), &a).await;
    f.push_ok(Some("tenant-b"), &b).await;

    let q = r#"{job="app"}"#;
    assert_eq!(
        f.streams(Some("tenant-a"), q, base, end, 100, "forward")
            .await,
        json!([{"stream": {"job": "app", "who": "a"}, "values": values(&[(base + S, "from a")])}])
    );
    assert_eq!(
        f.streams(Some("tenant-b"), q, base, end, 100, "forward")
            .await,
        json!([{"stream": {"job": "app", "secret": "yes", "who": "b"},
                "values": values(&[(base + 2 * S, "from b")])}])
    );
    // a third tenant sees nothing at all
    assert_eq!(
        f.streams(Some("tenant-c"), q, base, end, 100, "forward")
            .await,
        json!([])
    );

    let range = vec![("start", base.to_string()), ("end", end.to_string())];
    for (tenant, labels, who, series) in [
        (
            "tenant-a",
            json!(["job", "who"]),
            json!(["a"]),
            json!([{"job": "app", "who": "a"}]),
        ),
        (
            "tenant-b",
            json!(["job", "secret", "who"]),
            json!(["b"]),
            json!([{"job": "app", "secret": "yes", "who": "b"}]),
        ),
    ] {
        let t = Some(tenant);
        let r = f.get("/loki/api/v1/labels", &range, t).await;
        assert_eq!(data_of(&r), labels, "labels of {tenant}");
        let r = f.get("/loki/api/v1/label/who/values", &range, t).await;
        assert_eq!(data_of(&r), who, "label values of {tenant}");
        let mut params = range.clone();
        params.push(("match[]", r#"{job="app"}"#.to_string()));
        let r = f.get("/loki/api/v1/series", &params, t).await;
        assert_eq!(data_of(&r), series, "series of {tenant}");

        let time = base + 60 * S;
        let params = [
            (
                "query",
                r#"sum(count_over_time({job="app"}[5m]))"#.to_string(),
            ),
            ("time", time.to_string()),
        ];
        let r = f.get("/loki/api/v1/query", &params, t).await;
        assert_eq!(
            vector_of(&r),
            json!([{"metric": {}, "value": [time / S, "1"]}]),
            "instant query of {tenant}"
        );
    }

    let secret = f
        .get("/loki/api/v1/label/secret/values", &range, Some("tenant-a"))
        .await;
    assert_eq!(secret.status, 200, "{}", secret.body);
    let secret_values = secret.json();
    // Loki omits `data` for a label the tenant does not have
    assert!(
        secret_values.get("data").is_none() || secret_values["data"] == json!([]),
        "tenant-a sees label values of tenant-b: {secret_values}"
    );
}
