//! A running change's place among its service's `--parallelism` slots (the engine's,
//! `crate::engine::run`). A change that waits on something other than its own AWS calls (the
//! settle time of a twin check, a pool listing another change is making) steps out of its
//! slot meanwhile ([`outside`]), so the slot serves a ready change; it steps back in before its
//! next call, ahead of the changes not started yet. Without this, 8 slots held by pool and
//! client creations sleeping 1.5 s each starve the ready writes (300 silo tenants: 3.5x the
//! quota floor).

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

/// What a change tells the engine about its slot.
#[derive(Debug)]
pub enum SlotMsg {
    /// The change no longer holds a slot of this lane.
    Out(usize),
    /// The change wants a slot of this lane again: answered when it has one.
    In(usize, oneshot::Sender<()>),
}

/// The slot of the running change: its lane and the engine's channel.
#[derive(Debug, Clone)]
pub struct Slot {
    pub lane: usize,
    pub tx: mpsc::UnboundedSender<SlotMsg>,
}

tokio::task_local! {
    static SLOT: Slot;
}

/// Runs `f` (a change's execution) holding `slot`.
pub async fn scope<F: Future>(slot: Slot, f: F) -> F::Output {
    SLOT.scope(slot, f).await
}

/// Awaits `f` outside the change's slot (outside the engine: just awaits it).
pub async fn outside<F: Future>(f: F) -> F::Output {
    let Ok(slot) = SLOT.try_with(Slot::clone) else { return f.await };
    if slot.tx.send(SlotMsg::Out(slot.lane)).is_err() {
        return f.await;
    }
    let out = f.await;
    let (tx, rx) = oneshot::channel();
    if slot.tx.send(SlotMsg::In(slot.lane, tx)).is_ok() {
        let _ = rx.await;
    }
    out
}

/// Sleeps `d` outside the change's slot.
pub async fn pause(d: std::time::Duration) {
    outside(tokio::time::sleep(d)).await
}
