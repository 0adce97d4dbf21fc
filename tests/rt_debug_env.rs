//! `TULIP_DEBUG=1` turns debug mode on (its own test binary: it changes the environment).

#[test]
fn tulip_debug_env_turns_debug_mode_on() {
    assert!(!tulip::Runner::builder()
        .watchdog(None)
        .build()
        .handle()
        .debug());
    std::env::set_var("TULIP_DEBUG", "1");
    assert!(tulip::Runner::builder()
        .watchdog(None)
        .build()
        .handle()
        .debug());
    std::env::set_var("TULIP_DEBUG", "0");
    assert!(!tulip::Runner::builder()
        .watchdog(None)
        .build()
        .handle()
        .debug());
    std::env::remove_var("TULIP_DEBUG");
}
