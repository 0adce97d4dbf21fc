//! `LoopDump::to_json` is written by hand (see docs/architecture.md, "Ecosystem"): here a real
//! JSON parser reads it back, with task names chosen to break a careless writer.

use proptest::prelude::*;
use serde_json::Value;

/// Spawns one pending task per name on a fresh loop and returns the parsed dump.
fn dump_with(names: &[String]) -> Value {
    let json = tulip_runtime::run(async {
        let _tasks: Vec<_> = names
            .iter()
            .map(|n| {
                tulip_executor::Builder::new()
                    .name(n.clone())
                    .spawn(std::future::pending::<()>())
            })
            .collect();
        tulip_executor::yield_now().await; // registered after their first poll
        tulip_runtime::EventLoop::current().dump().to_json()
    });
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("invalid JSON ({e}): {json}"))
}

/// The names in the parsed dump, in task order (ids grow with spawn order).
fn names_of(v: &Value) -> Vec<String> {
    v["tasks"]
        .as_array()
        .expect("a task array")
        .iter()
        .map(|t| t["name"].as_str().expect("a string name").to_string())
        .collect()
}

#[test]
fn hostile_names_round_trip() {
    let mut names: Vec<String> = vec![
        String::new(),
        "\"".into(),
        "\\".into(),
        "\\\"".into(),
        "\"},{\"id\":1}".into(),
        "\u{7f}\u{80}\u{9f}".into(),
        "\u{2028}\u{2029}".into(),
        "é🌷\u{10ffff}\u{fffd}".into(),
        "</script>".into(),
    ];
    // Every control character, alone and together.
    names.extend((0u32..0x20).map(|c| char::from_u32(c).unwrap().to_string()));
    names.push((0u32..0x20).filter_map(char::from_u32).collect());
    let v = dump_with(&names);
    assert_eq!(names_of(&v), names);
    // The other fields have the types the docs promise.
    for t in v["tasks"].as_array().unwrap() {
        assert!(t["id"].is_u64() && t["polls"].is_u64(), "{t}");
        assert_eq!(t["state"], "idle");
        assert!(t["location"].as_str().unwrap().contains("dump_json.rs"));
        assert!(t["waiting_on"].is_null());
    }
    assert!(v["workers"].is_u64() && v["timers"].is_u64() && v["blocking_threads"].is_u64());
    assert!(v["debug"].is_boolean());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_names_round_trip(names in proptest::collection::vec(any::<String>(), 1..4)) {
        prop_assert_eq!(names_of(&dump_with(&names)), names);
    }
}
