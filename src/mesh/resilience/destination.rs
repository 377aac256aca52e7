//! Edits of a DestinationRule's top-level traffic policy: set connection-pool limits and
//! outlier detection, or put back what was there before. Only the leaves the command manages
//! change inside `trafficPolicy.connectionPool` and `trafficPolicy.outlierDetection`; the rest
//! of the rule (TLS, load balancer, subsets, port-level settings, fields of a newer Istio) is
//! kept as the server returned it.
//!
//! Istio refuses an empty `trafficPolicy` and an empty `connectionPool` ("must have at least
//! one field"), so putting a block back never leaves one of those empty behind.

use serde_json::{Map, Value, json};

use super::record::{Key, Record};
use super::settings::{OutlierSettings, PoolSettings};
use crate::mesh::validate::MeshDuration;

/// The outcome of editing one DestinationRule.
#[derive(Debug, Clone, PartialEq)]
pub struct Edited {
    /// The object after the edit.
    pub object: Value,
    /// Recorded blocks `--clear` left because someone changed them since.
    pub kept: Vec<String>,
}

/// Sets the pool limits and outlier detection on the top-level traffic policy of `live`.
pub fn set(live: &Value, pool: &PoolSettings, outlier: &OutlierSettings) -> Value {
    let mut object = live.clone();
    if pool.is_empty() && outlier.is_empty() {
        return object;
    }
    let mut record = Record::read(live);
    let policy = traffic_policy(&mut object);
    if !pool.is_empty() {
        let next = merged_pool(policy.get("connectionPool"), pool);
        record.note(Key::policy("connectionPool"), policy.get("connectionPool"), Some(&next));
        policy.insert("connectionPool".into(), next);
    }
    if !outlier.is_empty() {
        let next = merged_outlier(policy.get("outlierDetection"), outlier);
        record.note(Key::policy("outlierDetection"), policy.get("outlierDetection"), Some(&next));
        policy.insert("outlierDetection".into(), next);
    }
    record.write(&mut object);
    object
}

/// `spec.trafficPolicy`, created empty when missing.
fn traffic_policy(object: &mut Value) -> &mut Map<String, Value> {
    if !object.get("spec").is_some_and(Value::is_object) {
        object["spec"] = json!({});
    }
    let spec = &mut object["spec"];
    if !spec.get("trafficPolicy").is_some_and(Value::is_object) {
        spec["trafficPolicy"] = json!({});
    }
    spec["trafficPolicy"].as_object_mut().expect("trafficPolicy was just made an object")
}

/// `block[group][field] = value`, creating `group` when needed.
fn put(block: &mut Map<String, Value>, group: &str, field: &str, value: Value) {
    let entry = block.entry(group).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry[field] = value;
}

fn duration(d: MeshDuration) -> Value {
    Value::String(d.canonical())
}

/// The `connectionPool` block after the change.
pub fn merged_pool(existing: Option<&Value>, pool: &PoolSettings) -> Value {
    let mut block = existing.and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some(n) = pool.max_connections {
        put(&mut block, "tcp", "maxConnections", json!(n));
    }
    if let Some(d) = pool.connect_timeout {
        put(&mut block, "tcp", "connectTimeout", duration(d));
    }
    if let Some(n) = pool.max_pending_requests {
        put(&mut block, "http", "http1MaxPendingRequests", json!(n));
    }
    if let Some(n) = pool.max_requests_per_connection {
        put(&mut block, "http", "maxRequestsPerConnection", json!(n));
    }
    if let Some(n) = pool.max_retries {
        put(&mut block, "http", "maxRetries", json!(n));
    }
    Value::Object(block)
}

/// The `outlierDetection` block after the change.
pub fn merged_outlier(existing: Option<&Value>, outlier: &OutlierSettings) -> Value {
    let mut block = existing.and_then(Value::as_object).cloned().unwrap_or_default();
    let mut set = |field: &str, value: Option<Value>| {
        if let Some(value) = value {
            block.insert(field.into(), value);
        }
    };
    set("consecutive5xxErrors", outlier.consecutive_5xx_errors.map(|n| json!(n)));
    set("consecutiveGatewayErrors", outlier.consecutive_gateway_errors.map(|n| json!(n)));
    set("interval", outlier.interval.map(duration));
    set("baseEjectionTime", outlier.base_ejection_time.map(duration));
    set("maxEjectionPercent", outlier.max_ejection_percent.map(|n| json!(n)));
    set("minHealthPercent", outlier.min_health_percent.map(|n| json!(n)));
    Value::Object(block)
}

/// Puts back what the record says this command replaced, where the block still holds what
/// the command wrote.
pub fn clear(live: &Value) -> Edited {
    let mut object = live.clone();
    let mut record = Record::read(live);
    let taken = record.take(|k| k.route.is_none() && k.index.is_none());
    let mut kept = Vec::new();
    if !taken.is_empty() {
        let policy = traffic_policy(&mut object);
        for entry in taken {
            let field = entry.key.field.as_str();
            if policy.get(field) != entry.set.as_ref() {
                kept.push(entry.key.describe());
                continue;
            }
            match entry.was {
                Some(was) => policy.insert(field.into(), was),
                None => policy.remove(field),
            };
        }
        if policy.is_empty() {
            object["spec"].as_object_mut().map(|spec| spec.remove("trafficPolicy"));
        }
    }
    record.write(&mut object);
    Edited { object, kept }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::resilience::settings::Preset;

    fn rule() -> Value {
        json!({
            "metadata": {"name": "cart", "namespace": "shop"},
            "spec": {
                "host": "cart",
                "trafficPolicy": {
                    "tls": {"mode": "ISTIO_MUTUAL"},
                    "connectionPool": {"http": {"http2MaxRequests": 1000, "idleTimeout": "5m"}}
                },
                "subsets": [{"name": "v1", "labels": {"version": "v1"}}]
            }
        })
    }

    #[test]
    fn set_keeps_other_fields_and_clear_gives_back_the_original() {
        let s = Preset::Standard.settings();
        let edited = set(&rule(), &s.pool, &s.outlier);
        let policy = &edited["spec"]["trafficPolicy"];
        assert_eq!(
            policy["connectionPool"],
            json!({"tcp": {"maxConnections": 100},
                   "http": {"http2MaxRequests": 1000, "idleTimeout": "5m", "http1MaxPendingRequests": 100}})
        );
        assert_eq!(
            policy["outlierDetection"],
            json!({"consecutive5xxErrors": 5, "interval": "30s", "baseEjectionTime": "60s",
                   "maxEjectionPercent": 100})
        );
        assert_eq!(policy["tls"], json!({"mode": "ISTIO_MUTUAL"}));
        assert_eq!(edited["spec"]["subsets"], rule()["spec"]["subsets"]);
        assert_eq!(set(&edited, &s.pool, &s.outlier), edited, "a second run changes nothing");
        assert_eq!(clear(&edited).object, rule());
    }

    #[test]
    fn clearing_a_rule_that_had_no_policy_removes_the_empty_policy() {
        let bare = json!({"metadata": {"name": "r"}, "spec": {"host": "cart"}});
        let s = Preset::Standard.settings();
        let edited = set(&bare, &s.pool, &OutlierSettings::default());
        assert!(edited["spec"]["trafficPolicy"].get("outlierDetection").is_none());
        assert_eq!(clear(&edited).object, bare);

        let mut changed = set(&bare, &s.pool, &s.outlier);
        changed["spec"]["trafficPolicy"]["outlierDetection"]["interval"] = json!("5s");
        let cleared = clear(&changed);
        assert_eq!(cleared.kept, ["trafficPolicy.outlierDetection"]);
        assert!(cleared.object["spec"]["trafficPolicy"].get("connectionPool").is_none());
        assert_eq!(cleared.object["spec"]["trafficPolicy"]["outlierDetection"]["interval"], "5s");
    }
}
