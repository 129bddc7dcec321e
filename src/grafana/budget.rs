//! The per-organisation request budget: a token bucket per grafana.com organisation, so the
//! total call rate stays bounded however many resources, namespaces and tokens share it
//! (SPEC §5). A token whose organisation is unknown gets a bucket of its own.

use std::{
    hash::{BuildHasher, RandomState},
    num::NonZeroU32,
    sync::Arc,
};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::Token;

/// Requests per second and burst allowed for each organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Default for Budget {
    /// 5 requests per second with bursts of 20: 18,000 an hour, well under grafana.com's
    /// general API limits, and far above what a converged set of resources needs.
    fn default() -> Self {
        Self {
            per_second: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// One bucket per organisation (or per token, where its organisation is unknown). Keys are a
/// hash with a per-process random key, so the limiter never holds a token itself.
#[derive(Clone)]
pub struct Limiter {
    buckets: Arc<DefaultKeyedRateLimiter<u64>>,
    hasher: RandomState,
}

impl Limiter {
    pub fn new(budget: Budget) -> Self {
        let quota = Quota::per_second(budget.per_second).allow_burst(budget.burst);
        Self {
            buckets: Arc::new(RateLimiter::keyed(quota)),
            hasher: RandomState::new(),
        }
    }

    /// Waits until the token's organisation may send one more request.
    pub async fn acquire(&self, token: &Token) {
        let key = self.hasher.hash_one(token.budget_key());
        self.buckets.until_key_ready(&key).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn budget(per_second: u32, burst: u32) -> Budget {
        Budget {
            per_second: NonZeroU32::new(per_second).expect("non-zero"),
            burst: NonZeroU32::new(burst).expect("non-zero"),
        }
    }

    #[tokio::test]
    async fn a_burst_passes_then_the_rate_holds() {
        let limiter = Limiter::new(budget(10, 5));
        let token = Token::new("org-a");
        let started = Instant::now();
        for _ in 0..5 {
            limiter.acquire(&token).await;
        }
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "the burst should not wait"
        );
        for _ in 0..5 {
            limiter.acquire(&token).await;
        }
        // Five more at 10/s take about half a second.
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn tokens_of_one_organisation_share_its_bucket() {
        let limiter = Limiter::new(budget(2, 1));
        let team_a = Token::new("glc_team_a").with_org("acme");
        let team_b = Token::new("glc_team_b").with_org("acme");
        let started = Instant::now();
        limiter.acquire(&team_a).await;
        limiter.acquire(&team_b).await;
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "a second token of the same org got a budget of its own: {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn an_organisation_named_like_a_token_gets_no_share_of_its_bucket() {
        let limiter = Limiter::new(budget(1, 1));
        let started = Instant::now();
        limiter.acquire(&Token::new("acme")).await;
        limiter.acquire(&Token::new("other").with_org("acme")).await;
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "a token and an org of the same text shared a bucket"
        );
    }

    #[tokio::test]
    async fn organisations_have_separate_buckets() {
        let limiter = Limiter::new(budget(1, 1));
        let started = Instant::now();
        limiter.acquire(&Token::new("t1").with_org("org-a")).await;
        limiter.acquire(&Token::new("t2").with_org("org-b")).await;
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "org-b waited for org-a's bucket"
        );
    }
}
