//! Fair shares of a provider's request slots between users.
//!
//! A provider allows a few requests at once (`MOSAIC_PROVIDER_<NAME>_MAX_CONCURRENT`). A plain
//! semaphore serves waiters first come, first served, so a user who queues three replies makes
//! everyone who asks after them wait for all three. Here a freed slot goes to the waiting user who
//! holds the fewest slots at that moment; on a tie, to the one served longest ago (or never), then
//! to the one who asked first. Users take turns: one user's first reply never waits behind another
//! user's second.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;
use uuid::Uuid;

/// The slots of one provider and who holds or waits for them.
#[derive(Debug)]
pub(crate) struct FairSlots {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    free: usize,
    /// Counts grants, to tell who was served longer ago.
    grants: u64,
    /// Per user holding or waiting for a slot: slots held, and the grant that last served them.
    users: HashMap<Uuid, Share>,
    /// Waiters in the order they asked.
    waiting: VecDeque<(Uuid, oneshot::Sender<()>)>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Share {
    held: usize,
    last_served: u64,
}

impl FairSlots {
    /// `capacity` slots (at least one).
    pub fn new(capacity: usize) -> Arc<FairSlots> {
        Arc::new(FairSlots {
            state: Mutex::new(State {
                free: capacity.max(1),
                grants: 0,
                users: HashMap::new(),
                waiting: VecDeque::new(),
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every change under the lock is a few field updates that cannot panic halfway.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a slot for `user`; the slot is given back when the returned guard is dropped.
    /// Dropping this future while it waits (a timeout) gives up its place, and a slot granted at
    /// that very moment goes back to the others.
    pub async fn acquire(self: &Arc<Self>, user: Uuid) -> Slot {
        loop {
            let (tx, rx) = oneshot::channel();
            {
                let mut state = self.state();
                state.waiting.push_back((user, tx));
                state.grant();
            }
            let mut pending = Pending { slots: self.clone(), user, rx: Some(rx) };
            let granted = match pending.rx.as_mut() {
                Some(rx) => rx.await.is_ok(),
                None => false,
            };
            // Received (or the queue is gone): nothing for the guard to give back.
            pending.rx = None;
            if granted {
                return Slot { slots: self.clone(), user };
            }
        }
    }

    fn release(&self, user: Uuid) {
        let mut state = self.state();
        if let Some(share) = state.users.get_mut(&user) {
            share.held = share.held.saturating_sub(1);
        }
        state.free += 1;
        state.grant();
    }

    /// How many slots `user` holds (for tests).
    #[cfg(test)]
    fn held_by(&self, user: Uuid) -> usize {
        self.state().users.get(&user).map_or(0, |s| s.held)
    }
}

impl State {
    /// Hands free slots to waiters: the user holding the fewest first, then the one served longest
    /// ago, then the earliest to ask. Forgets users who neither hold nor wait.
    fn grant(&mut self) {
        // Waiters that gave up are dropped.
        self.waiting.retain(|(_, tx)| !tx.is_closed());
        while self.free > 0 {
            let share = |user: &Uuid| self.users.get(user).copied().unwrap_or_default();
            let Some(next) = (0..self.waiting.len()).min_by_key(|&i| {
                let s = share(&self.waiting[i].0);
                (s.held, s.last_served, i)
            }) else {
                break;
            };
            let Some((user, tx)) = self.waiting.remove(next) else { break };
            if tx.send(()).is_ok() {
                self.free -= 1;
                self.grants += 1;
                let share = self.users.entry(user).or_default();
                share.held += 1;
                share.last_served = self.grants;
            }
        }
        let waiting: Vec<Uuid> = self.waiting.iter().map(|(user, _)| *user).collect();
        self.users.retain(|user, share| share.held > 0 || waiting.contains(user));
    }
}

/// A place in the queue; if it is dropped after a slot was sent but before it was taken, the slot
/// goes back.
struct Pending {
    slots: Arc<FairSlots>,
    user: Uuid,
    rx: Option<oneshot::Receiver<()>>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take() {
            rx.close();
            if rx.try_recv().is_ok() {
                self.slots.release(self.user);
            }
        }
    }
}

/// One held slot, given back on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<FairSlots>,
    user: Uuid,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.release(self.user);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Waits until `n` waiters are queued.
    async fn queued(slots: &FairSlots, n: usize) {
        while slots.state().waiting.len() < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_user_holding_fewest() {
        let slots = FairSlots::new(1);
        let (greedy, patient) = (Uuid::now_v7(), Uuid::now_v7());
        let first = slots.acquire(greedy).await;
        let (order_tx, mut order) = tokio::sync::mpsc::unbounded_channel();
        // The greedy user queues two more, then the patient user asks once.
        let mut tasks = Vec::new();
        for (n, user) in [(1, greedy), (2, greedy), (3, patient)] {
            let (mine, order_tx) = (slots.clone(), order_tx.clone());
            tasks.push(tokio::spawn(async move {
                let slot = mine.acquire(user).await;
                order_tx.send(n).expect("order");
                tokio::time::sleep(Duration::from_millis(5)).await;
                drop(slot);
            }));
            queued(&slots, n).await;
        }
        drop(first);
        for t in tasks {
            t.await.expect("task");
        }
        let got: Vec<usize> = std::iter::from_fn(|| order.try_recv().ok()).collect();
        // First come, first served would be [1, 2, 3]: the patient user would wait for both of the
        // greedy user's queued replies. The greedy user was served already, so the patient user
        // goes first, then the greedy user's two in order.
        assert_eq!(got, [3, 1, 2]);
        assert_eq!(slots.held_by(greedy) + slots.held_by(patient), 0, "every slot came back");
    }

    #[tokio::test]
    async fn a_user_with_slots_waits_behind_one_without() {
        let slots = FairSlots::new(2);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let a1 = slots.acquire(a).await;
        let b1 = slots.acquire(b).await;
        let (order_tx, mut order) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        // `a` asks again first, then a third user `c` who holds nothing.
        let c = Uuid::now_v7();
        for (n, user) in [(1, a), (2, c)] {
            let (mine, order_tx) = (slots.clone(), order_tx.clone());
            tasks.push(tokio::spawn(async move {
                let slot = mine.acquire(user).await;
                order_tx.send(n).expect("order");
                slot
            }));
            queued(&slots, n).await;
        }
        // `b` finishes: `a` still holds one, `c` none, so `c` is served although it asked later.
        drop(b1);
        let first = order.recv().await.expect("one served");
        assert_eq!(first, 2, "the user without a slot is served first");
        drop(a1);
        assert_eq!(order.recv().await, Some(1));
        for t in tasks {
            drop(t.await.expect("task"));
        }
        assert_eq!(slots.state().free, 2);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_loses_no_slot() {
        let slots = FairSlots::new(1);
        let user = Uuid::now_v7();
        let held = slots.acquire(user).await;
        let timed_out = tokio::time::timeout(Duration::from_millis(20), slots.acquire(Uuid::now_v7())).await;
        assert!(timed_out.is_err(), "no slot was free");
        drop(held);
        // The slot is free again, not handed to the waiter that left.
        let again = tokio::time::timeout(Duration::from_millis(200), slots.acquire(user)).await;
        assert!(again.is_ok(), "the freed slot was lost");
        drop(again);
        assert_eq!(slots.state().free, 1);
        assert!(slots.state().waiting.is_empty());
    }
}
