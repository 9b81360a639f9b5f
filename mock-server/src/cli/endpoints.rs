//! `endpoints`: every route of the calls API contract (method, path, authentication) as a
//! table or JSON.

use std::fmt::Write as _;

use zulip_calls_protocol::endpoint::{API_PREFIX, Auth, EndpointInfo};

/// The routes of the contract as a table or JSON.
pub fn endpoints_listing(endpoints: &[EndpointInfo], json: bool) -> serde_json::Result<String> {
    if json {
        let rows: Vec<_> = endpoints
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name,
                    "method": e.method.as_str(),
                    "path": format!("{API_PREFIX}{}", e.path),
                    "auth": matches!(e.auth, Auth::Basic),
                })
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&rows)? + "\n");
    }
    let mut out = String::new();
    for e in endpoints {
        let auth = match e.auth {
            Auth::Basic => "basic",
            Auth::None => "none",
        };
        let _ = writeln!(
            out,
            "{:<7} {API_PREFIX}{:<40} {auth:<6} {}",
            e.method, e.path, e.name
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use zulip_calls_protocol::endpoint::all_endpoints;

    use super::*;

    #[test]
    fn endpoints_listing_has_a_row_per_route() {
        let all: Vec<_> = all_endpoints().collect();
        let table = endpoints_listing(&all, false).unwrap();
        assert_eq!(table.lines().count(), all.len());
        assert!(table.contains("/api/v1/calls/start"));
        let json: Vec<serde_json::Value> =
            serde_json::from_str(&endpoints_listing(&all, true).unwrap()).unwrap();
        assert_eq!(json.len(), all.len());
    }
}
