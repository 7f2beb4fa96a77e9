//! Diagnostics the plugin library exports for test hosts that load it: their own copy of this
//! crate has another registry, so they ask the library's through these unmangled functions.

use trimeter_link::{Registry, Role};

/// The link state ([`status::pack_slot_state`]) of the first instance in this process with
/// role `role` (0 Off, 1 Start, 2 End) in group `group`, or -1: a diagnostic for test hosts that
/// load the plugin library (their own copy of this crate has another registry). Exported
/// unmangled.
#[no_mangle]
pub extern "C" fn trimeter_link_state(role: u8, group: u8) -> i64 {
    let role = role_of(role);
    Registry::global()
        .occupied()
        .into_iter()
        .find(|(_, view)| view.role == role && view.group == group)
        .map_or(-1, |(_, view)| i64::from(view.link_state))
}

/// How many instances with role `role` (0 Off, 1 Start, 2 End) in group `group` report the
/// health `health` (the order of [`status::Health`]): a diagnostic for test hosts. Exported
/// unmangled.
#[no_mangle]
pub extern "C" fn trimeter_link_health_count(role: u8, group: u8, health: u8) -> u64 {
    Registry::global()
        .occupied()
        .into_iter()
        .filter(|(_, view)| {
            view.role == role_of(role) && view.group == group && view.link_state as u8 == health
        })
        .count() as u64
}

fn role_of(code: u8) -> Role {
    match code {
        1 => Role::Start,
        2 => Role::End,
        _ => Role::Off,
    }
}

/// How many instances of this process are in the registry now: a diagnostic for test hosts.
/// Exported unmangled.
#[no_mangle]
pub extern "C" fn trimeter_link_instances() -> u64 {
    Registry::global().len() as u64
}
