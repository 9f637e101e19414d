//! Fair shares of the render workers between tenants. Rendering is one pool for the whole
//! server, so without a rule one tenant's heavy batches would queue every other tenant's
//! work behind them. Here a tenant holds at most half the workers at once (at least one),
//! so whenever the pool has two or more workers another tenant always finds one free or
//! next in line.
//!
//! A request first waits for its tenant's share, then for a worker: a tenant's waiting
//! requests queue on its own share, never in front of another tenant's at the pool.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Whose work a render is: the service passes the agency, so agencies share fairly.
pub type Tenant = i64;

/// The workers of the pool and each tenant's share of them.
pub struct FairSlots {
    workers: Arc<Semaphore>,
    per_tenant: usize,
    /// One entry per tenant that rendered since start: a handful of bytes per agency.
    shares: Mutex<HashMap<Tenant, Arc<Semaphore>>>,
}

/// A worker held for one render; dropping it frees the worker and the tenant's share.
pub struct Slot {
    _worker: OwnedSemaphorePermit,
    _share: OwnedSemaphorePermit,
}

impl FairSlots {
    pub fn new(workers: usize) -> FairSlots {
        let workers = workers.max(1);
        FairSlots {
            workers: Arc::new(Semaphore::new(workers)),
            per_tenant: (workers / 2).max(1),
            shares: Mutex::new(HashMap::new()),
        }
    }

    /// How many workers one tenant may hold at once.
    pub fn per_tenant(&self) -> usize {
        self.per_tenant
    }

    /// Waits for a worker within the tenant's share.
    pub async fn acquire(&self, tenant: Tenant) -> Slot {
        let share = self.share(tenant);
        let closed = "the semaphores are never closed";
        let share = share.acquire_owned().await.expect(closed);
        let worker = self.workers.clone().acquire_owned().await.expect(closed);
        Slot {
            _worker: worker,
            _share: share,
        }
    }

    fn share(&self, tenant: Tenant) -> Arc<Semaphore> {
        let mut shares = self.shares.lock().expect("the lock is never poisoned");
        shares
            .entry(tenant)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant)))
            .clone()
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

    fn now(slots: &FairSlots, tenant: Tenant) -> Option<Slot> {
        poll_once(&mut Box::pin(slots.acquire(tenant)))
    }

    #[test]
    fn one_tenant_holds_at_most_half_the_workers() {
        let slots = FairSlots::new(4);
        let a: Vec<Slot> = (0..2).map(|_| now(&slots, 1).expect("free")).collect();
        assert!(
            now(&slots, 1).is_none(),
            "a third worker for the same tenant"
        );
        drop(a);
        assert!(now(&slots, 1).is_some(), "its share is free again");
    }

    #[test]
    fn another_tenant_gets_a_worker_while_one_tenant_queues_many() {
        for workers in [2, 3, 4, 8] {
            let slots = FairSlots::new(workers);
            let held: Vec<Slot> = (0..slots.per_tenant())
                .map(|_| now(&slots, 1).expect("within the share"))
                .collect();
            // Eight more requests of tenant 1 wait, each polled once so it is queued.
            let mut waiting: Vec<_> = (0..8).map(|_| Box::pin(slots.acquire(1))).collect();
            assert!(waiting.iter_mut().all(|w| poll_once(w).is_none()));
            let b = now(&slots, 2);
            assert!(
                b.is_some(),
                "{workers} workers: tenant 2 waited behind tenant 1"
            );
            // When tenant 1 frees a worker, its next queued request takes it.
            drop(held);
            assert!(poll_once(&mut waiting[0]).is_some());
        }
    }

    #[test]
    fn a_single_worker_is_shared_in_turn() {
        let slots = FairSlots::new(1);
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
