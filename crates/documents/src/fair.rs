//! Fair shares of the render workers between tenants. Rendering is one pool for the whole
//! server, so without a rule one tenant's heavy batches would queue every other tenant's
//! work behind them. A tenant alone may use every worker (a batch renders on all cores);
//! while another tenant waits, a tenant takes no worker beyond its share, half the pool (at
//! least one), so the waiting tenant gets the next worker that frees.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Whose work a render is: the service passes the agency, so agencies share fairly.
pub type Tenant = i64;

/// The workers of the pool and who holds and awaits them.
pub struct FairSlots {
    workers: usize,
    per_tenant: usize,
    state: Mutex<State>,
    /// Woken whenever a worker frees or a waiter leaves, so waiters look again.
    changed: Notify,
}

#[derive(Default)]
struct State {
    busy: usize,
    /// Workers each tenant holds; waiting requests per tenant. Entries are removed at zero,
    /// so the maps hold only tenants that are rendering or waiting.
    held: HashMap<Tenant, usize>,
    waiting: HashMap<Tenant, usize>,
}

fn add(map: &mut HashMap<Tenant, usize>, tenant: Tenant) {
    *map.entry(tenant).or_insert(0) += 1;
}

fn remove(map: &mut HashMap<Tenant, usize>, tenant: Tenant) {
    if let Some(n) = map.get_mut(&tenant) {
        *n -= 1;
        if *n == 0 {
            map.remove(&tenant);
        }
    }
}

/// A worker held for one render; dropping it frees the worker.
pub struct Slot {
    slots: Arc<FairSlots>,
    tenant: Tenant,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.slots.lock();
        state.busy -= 1;
        remove(&mut state.held, self.tenant);
        drop(state);
        self.slots.changed.notify_waiters();
    }
}

/// A request counted as waiting until it is granted or given up (a dropped future).
struct Waiting<'a> {
    slots: &'a FairSlots,
    tenant: Tenant,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        remove(&mut self.slots.lock().waiting, self.tenant);
        self.slots.changed.notify_waiters();
    }
}

impl FairSlots {
    pub fn new(workers: usize) -> FairSlots {
        let workers = workers.max(1);
        FairSlots {
            workers,
            per_tenant: (workers / 2).max(1),
            state: Mutex::new(State::default()),
            changed: Notify::new(),
        }
    }

    /// How many workers one tenant may hold while another waits.
    pub fn per_tenant(&self) -> usize {
        self.per_tenant
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a worker: any free one while no other tenant waits, else within the share.
    pub async fn acquire(self: &Arc<Self>, tenant: Tenant) -> Slot {
        add(&mut self.lock().waiting, tenant);
        let waiting = Waiting {
            slots: self,
            tenant,
        };
        loop {
            // Registered before looking, so a worker freed in between still wakes us.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = self.lock();
                if self.may_take(&state, tenant) {
                    state.busy += 1;
                    add(&mut state.held, tenant);
                    drop(state);
                    drop(waiting);
                    return Slot {
                        slots: self.clone(),
                        tenant,
                    };
                }
            }
            changed.await;
        }
    }

    fn may_take(&self, state: &State, tenant: Tenant) -> bool {
        if state.busy >= self.workers {
            return false;
        }
        let held = state.held.get(&tenant).copied().unwrap_or(0);
        held < self.per_tenant || !state.waiting.keys().any(|t| *t != tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    /// Polls once: `Some` when the slot is granted without waiting. No clock involved, so the
    /// test cannot flake on a busy machine.
    fn poll_once(future: &mut Pin<Box<impl Future<Output = Slot>>>) -> Option<Slot> {
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(slot) => Some(slot),
            Poll::Pending => None,
        }
    }

    fn now(slots: &Arc<FairSlots>, tenant: Tenant) -> Option<Slot> {
        poll_once(&mut Box::pin(slots.acquire(tenant)))
    }

    #[test]
    fn a_tenant_alone_uses_every_worker() {
        let slots = Arc::new(FairSlots::new(4));
        let held: Vec<Slot> = (0..4).map(|_| now(&slots, 1).expect("free")).collect();
        assert!(now(&slots, 1).is_none(), "a fifth: all four are busy");
        drop(held);
        assert!(now(&slots, 1).is_some(), "free again");
    }

    #[test]
    fn while_another_tenant_waits_nobody_goes_beyond_their_share() {
        for workers in [2, 3, 4, 8] {
            let slots = Arc::new(FairSlots::new(workers));
            // Tenant 1 alone takes every worker, and queues eight more requests.
            let mut held: Vec<Slot> = (0..workers)
                .map(|_| now(&slots, 1).expect("free"))
                .collect();
            let mut ones: Vec<_> = (0..8).map(|_| Box::pin(slots.acquire(1))).collect();
            assert!(ones.iter_mut().all(|w| poll_once(w).is_none()));
            // Tenant 2 arrives and waits; the next worker that frees is its.
            let mut two = Box::pin(slots.acquire(2));
            assert!(poll_once(&mut two).is_none(), "{workers} workers: all busy");
            held.pop();
            assert!(
                ones.iter_mut().all(|w| poll_once(w).is_none()),
                "{workers} workers: tenant 1 is over its share while tenant 2 waits"
            );
            let b = poll_once(&mut two);
            assert!(
                b.is_some(),
                "{workers} workers: tenant 2 got the freed worker"
            );
        }
    }

    #[test]
    fn a_request_given_up_stops_counting_as_waiting() {
        let slots = Arc::new(FairSlots::new(2));
        let a = now(&slots, 1).expect("free");
        let b = now(&slots, 1).expect("free: tenant 1 is alone");
        let mut two = Box::pin(slots.acquire(2));
        assert!(poll_once(&mut two).is_none());
        drop(two);
        drop(b);
        assert!(now(&slots, 1).is_some(), "nobody else waits any more");
        drop(a);
    }

    #[test]
    fn a_single_worker_is_shared_in_turn() {
        let slots = Arc::new(FairSlots::new(1));
        assert_eq!(slots.per_tenant(), 1);
        let a = now(&slots, 1).expect("free");
        assert!(
            now(&slots, 2).is_none(),
            "one worker cannot run two renders"
        );
        drop(a);
        assert!(now(&slots, 2).is_some());
    }
}
