//! Holding and releasing writes: `/v1/writes/pause` and `/v1/writes/resume`.

use super::api::Writes;
use super::{ControlState, Shared};
use axum::extract::State;
use axum::Json;

/// The write gate as the control port shows it.
pub(super) fn state(s: &ControlState) -> Writes {
    Writes {
        held: s.gate.held() as u64,
        paused: s.gate.is_paused(),
    }
}

pub(super) async fn pause(State(s): State<Shared>) -> Json<Writes> {
    s.gate.pause();
    tracing::info!("writes paused through the control port");
    Json(state(&s))
}

pub(super) async fn resume(State(s): State<Shared>) -> Json<Writes> {
    s.gate.resume();
    tracing::info!("writes resumed through the control port");
    Json(state(&s))
}
