//! Password hashing with argon2id at OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
//!
//! Hashing takes tens of milliseconds of CPU and 19 MiB of memory on purpose. It runs on at most
//! [`HASHING_THREADS`] threads, never on the async workers, each reusing one work area while
//! attempts keep coming, so memory stays at threads × 19 MiB however many people sign in at once.
//! A thread frees its work area after [`RELEASE_AFTER`] without work and ends after [`EXIT_AFTER`]
//! more: freeing alone is not enough, because the allocator (mimalloc) hands freed memory back to
//! the system only when some later allocation activity notices its purge delay has passed, and an
//! idle server has none; a thread that ends collects its heap, purging what expired. The next
//! attempt starts a thread again (a few microseconds next to a 20 ms hash). At most [`QUEUE`]
//! attempts wait for a thread; past that an attempt is refused as busy at once
//! ([`DbError::Busy`]) instead of queueing without end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use flume::{RecvTimeoutError, TrySendError};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::DbError;

/// The shortest password sign-up accepts.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted (argon2 does not care, but an unbounded input is a DoS vector).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Threads that hash, each with its own 19 MiB work area; more attempts wait their turn.
pub const HASHING_THREADS: usize = 2;
/// Attempts that may wait for a hashing thread (about a second of work); more are refused as busy.
pub const QUEUE: usize = 32;
/// How long a hashing thread keeps its work area without work before freeing it.
pub const RELEASE_AFTER: Duration = Duration::from_secs(2);
/// How long a hashing thread without a work area waits for work before it ends: longer than
/// mimalloc's purge delay (1 s), so the freed area has expired when the ending thread collects.
pub const EXIT_AFTER: Duration = Duration::from_millis(1500);
/// OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const OUTPUT_LEN: usize = 32;

type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

/// Work areas held right now (for the tests and the benchmark's memory rows).
static WORK_AREAS: AtomicUsize = AtomicUsize::new(0);
/// Hashing threads running right now.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// How many hashing threads hold a work area right now.
pub fn work_areas_held() -> usize {
    WORK_AREAS.load(Ordering::Relaxed)
}

/// How many hashing threads are running right now.
pub fn hashing_threads() -> usize {
    THREADS.load(Ordering::SeqCst)
}

/// One thread's 19 MiB, counted while held.
struct WorkArea(Vec<Block>);

impl WorkArea {
    fn new() -> WorkArea {
        WORK_AREAS.fetch_add(1, Ordering::Relaxed);
        WorkArea(vec![Block::default(); MEMORY_KIB as usize])
    }
}

impl Drop for WorkArea {
    fn drop(&mut self) {
        WORK_AREAS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The hashing threads' queue.
fn queue() -> &'static (flume::Sender<Job>, flume::Receiver<Job>) {
    static QUEUE_PAIR: OnceLock<(flume::Sender<Job>, flume::Receiver<Job>)> = OnceLock::new();
    QUEUE_PAIR.get_or_init(|| flume::bounded::<Job>(QUEUE))
}

/// Starts a hashing thread while jobs wait and fewer than [`HASHING_THREADS`] run.
fn start_threads(rx: &flume::Receiver<Job>) {
    loop {
        let running = THREADS.load(Ordering::SeqCst);
        if running >= HASHING_THREADS || rx.is_empty() {
            return;
        }
        if THREADS.compare_exchange(running, running + 1, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            continue;
        }
        let rx = rx.clone();
        let spawned = std::thread::Builder::new().name(format!("argon2-{running}")).spawn(move || work(&rx));
        if let Err(err) = spawned {
            THREADS.fetch_sub(1, Ordering::SeqCst);
            tracing::error!(error = %err, "cannot start a password hashing thread");
            return;
        }
    }
}

/// A hashing thread: runs jobs with its work area, made when work comes, freed when none came for
/// [`RELEASE_AFTER`]; ends when none came for [`EXIT_AFTER`] more.
fn work(rx: &flume::Receiver<Job>) {
    let mut area: Option<WorkArea> = None;
    loop {
        let wait = if area.is_some() { RELEASE_AFTER } else { EXIT_AFTER };
        match rx.recv_timeout(wait) {
            Ok(job) => job(&mut area.get_or_insert_with(WorkArea::new).0),
            Err(RecvTimeoutError::Timeout) if area.is_some() => area = None,
            Err(RecvTimeoutError::Timeout) => {
                THREADS.fetch_sub(1, Ordering::SeqCst);
                // A job sent while this thread was deciding to end may have found it still counted
                // and started no thread: start one for it.
                start_threads(rx);
                return;
            }
            Err(RecvTimeoutError::Disconnected) => {
                THREADS.fetch_sub(1, Ordering::SeqCst);
                return;
            }
        }
    }
}

/// Runs `work` on a hashing thread with its work area, or refuses at once when the queue is full.
async fn on_hashing_thread<T: Send + 'static>(
    work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
) -> Result<T, DbError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (jobs, waiting) = queue();
    match jobs.try_send(Box::new(move |memory| {
        let _ = tx.send(work(memory));
    })) {
        Ok(()) => start_threads(waiting),
        Err(TrySendError::Full(_)) => {
            return Err(DbError::Busy("too many sign-ins are being checked right now".into()))
        }
        Err(TrySendError::Disconnected(_)) => return Err(DbError::Internal("password hashing is unavailable".into())),
    }
    rx.await.map_err(|_| DbError::Internal("password hashing failed".into()))
}

fn params(output_len: usize) -> Result<Params, argon2::Error> {
    Params::new(MEMORY_KIB, PASSES, 1, Some(output_len))
}

/// Checks a new password before it is hashed: its length (ASVS 6.2.1, 6.2.9) and that it is not
/// one of the most common passwords (ASVS 6.2.4), whatever its letter case.
pub fn check_new(password: &str) -> Result<(), DbError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(DbError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_BYTES} bytes)"
        )));
    }
    if is_common(password) {
        return Err(DbError::Invalid(
            "this password is one of the most common ones and easy to guess: choose another (a few unrelated words make a strong one)".into(),
        ));
    }
    Ok(())
}

/// Whether `password` is on the bundled list of the 10 000 most common passwords.
pub fn is_common(password: &str) -> bool {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    let list = LIST.get_or_init(|| {
        include_str!("common_passwords.txt").lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
    });
    list.binary_search(&password.to_lowercase().as_str()).is_ok()
}

/// Hashes `password` into a PHC string, on a hashing thread.
pub async fn hash(password: String) -> Result<String, DbError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| DbError::Internal(format!("no randomness: {e}")))?;
    on_hashing_thread(move |memory| hash_with(password.as_bytes(), &salt, memory)).await?
}

fn hash_with(password: &[u8], salt: &[u8], memory: &mut [Block]) -> Result<String, DbError> {
    let invalid = |e: &dyn std::fmt::Display| DbError::Internal(format!("password hashing: {e}"));
    let params = params(OUTPUT_LEN).map_err(|e| invalid(&e))?;
    let mut out = [0u8; OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..params.block_count()])
        .map_err(|e| invalid(&e))?;
    let salt = SaltString::encode_b64(salt).map_err(|e| invalid(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().map_err(|e: argon2::password_hash::Error| invalid(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| invalid(&e))?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against a stored PHC string, on a hashing thread. A malformed stored hash, or
/// one asking for more memory than a work area has, counts as a mismatch; a full queue is
/// [`DbError::Busy`].
pub async fn verify(password: String, phc: String) -> Result<bool, DbError> {
    on_hashing_thread(move |memory| verify_with(password.as_bytes(), &phc, memory)).await
}

fn verify_with(password: &[u8], phc: &str, memory: &mut [Block]) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(stored) = Params::try_from(&parsed) else { return false };
    let Ok(params) = Params::new(stored.m_cost(), stored.t_cost(), stored.p_cost(), Some(expected.len())) else {
        return false;
    };
    if params.block_count() > memory.len() {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else { return false };
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..params.block_count()])
        .is_ok()
        && Output::new(&out).is_ok_and(|o| o == expected)
}

/// A hash of a random password, verified against when the email is unknown so that a wrong email
/// and a wrong password take the same time.
pub async fn decoy_hash() -> String {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY.get_or_init(|| async { hash("decoy-password-never-matches".into()).await.unwrap_or_default() }).await.clone()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn verifies_only_the_right_password() {
        let phc = super::hash("correct horse".into()).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(super::verify("correct horse".into(), phc.clone()).await.expect("verify"));
        assert!(!super::verify("wrong horse".into(), phc).await.expect("verify"));
        assert!(!super::verify("x".into(), "not a hash".into()).await.expect("verify"));
    }

    /// Hashes stored before the hashing threads existed (argon2's own PHC API) still verify, and
    /// ours verify with it: same algorithm, parameters, salt encoding and output.
    #[tokio::test]
    async fn compatible_with_argon2s_own_phc_api() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
        let argon = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(19_456, 2, 1, None).expect("params"),
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        let theirs = argon.hash_password(b"old password", &salt).expect("hash").to_string();
        assert!(super::verify("old password".into(), theirs.clone()).await.expect("verify"));
        assert!(!super::verify("other".into(), theirs).await.expect("verify"));
        let ours = super::hash("new password".into()).await.expect("hash");
        let parsed = argon2::PasswordHash::new(&ours).expect("phc");
        assert!(argon.verify_password(b"new password", &parsed).is_ok());
    }

    /// Many attempts at once all finish, through the fixed number of hashing threads.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_attempts_share_the_hashing_threads() {
        let phc = super::hash("together".into()).await.expect("hash");
        let attempts: Vec<_> = (0..8)
            .map(|i| tokio::spawn(super::verify(if i % 2 == 0 { "together" } else { "apart" }.into(), phc.clone())))
            .collect();
        for (i, attempt) in attempts.into_iter().enumerate() {
            assert_eq!(attempt.await.expect("join").expect("verify"), i % 2 == 0);
        }
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert!(super::is_common("password1") && super::is_common("PassWord1") && super::is_common("iloveyou"));
        assert!(!super::is_common("correct horse battery staple"));
        assert!(super::check_new("Password1").is_err());
        assert!(super::check_new("unusual-gravel-teapot").is_ok());
    }
}
