//! The retransmission timer's value (RFC 6298).
//!
//! Read: RFC 6298 §2 (the computation), §5 (managing the timer: backoff,
//! §5.7's 3 s after a lost SYN), §3 (Karn's algorithm: no samples from
//! retransmitted segments — the socket enforces that, except with RFC 7323
//! timestamps, whose echoes name the segment that is acknowledged).
//!
//! Arithmetic is in integer nanoseconds: G = 1 ms, K = 4, α = 1/8, β = 1/4.

/// RFC 6298 §2.5: "A maximum value MAY be placed on RTO provided it is at
/// least 60 seconds." Linux: `TCP_RTO_MAX` = 120 s.
pub const RTO_NS_MAX: u64 = 120_000_000_000;
/// RFC 6298 §5.7: the RTO after a SYN was retransmitted.
pub const RTO_NS_AFTER_SYN_LOSS: u64 = 3_000_000_000;
/// Clock granularity G (RFC 6298 §2): the simulator's timers are exact, the
/// modelled host's clock ticks in milliseconds.
pub const CLOCK_GRANULARITY_NS: u64 = 1_000_000;
/// K (RFC 6298 §2.2).
const K: u64 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RttEstimator {
    srtt_ns: u64,
    rttvar_ns: u64,
    /// The RTO before backoff, clamped to `[rto_ns_min, RTO_NS_MAX]`.
    rto_ns_base: u64,
    rto_ns_min: u64,
    /// How many times the timer has been backed off (RFC 6298 §5.5).
    backoff: u8,
    sampled: bool,
}

impl RttEstimator {
    /// RFC 6298 §2.1: "Until a round-trip time (RTT) measurement has been
    /// made for a segment sent between the sender and receiver, the sender
    /// SHOULD set RTO <- 1 second" — `rto_ns_initial`, the lab's
    /// `initial_rto` (1 s by default; ns-3's `ConnTimeout` is 3 s), at least
    /// `rto_ns_min`.
    pub fn new(rto_ns_min: u64, rto_ns_initial: u64) -> RttEstimator {
        RttEstimator {
            srtt_ns: 0,
            rttvar_ns: 0,
            rto_ns_base: rto_ns_initial.max(rto_ns_min).min(RTO_NS_MAX),
            rto_ns_min,
            backoff: 0,
            sampled: false,
        }
    }

    /// Take one RTT measurement R.
    ///
    /// > (2.2) When the first RTT measurement R is made, the host MUST set
    /// >   SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max (G, K*RTTVAR)
    /// >
    /// > (2.3) When a subsequent RTT measurement R' is made, a host MUST set
    /// >   RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
    /// >   SRTT <- (1 - alpha) * SRTT + alpha * R'
    /// >
    /// > (2.4) Whenever RTO is computed, if it is less than 1 second, then
    /// > the RTO SHOULD be rounded up to 1 second.
    ///
    /// (2.4) is the configurable `min_rto` here, 200 ms by default as in
    /// Linux. A valid sample also ends the backoff (RFC 6298 §5.7 note).
    pub fn sample(&mut self, r_ns: u64) {
        if self.sampled {
            let deviation_ns = self.srtt_ns.abs_diff(r_ns);
            self.rttvar_ns = (3 * self.rttvar_ns + deviation_ns) / 4;
            self.srtt_ns = (7 * self.srtt_ns + r_ns) / 8;
        } else {
            self.srtt_ns = r_ns;
            self.rttvar_ns = r_ns / 2;
            self.sampled = true;
        }
        let rto_ns = self.srtt_ns + CLOCK_GRANULARITY_NS.max(K * self.rttvar_ns);
        self.rto_ns_base = rto_ns.max(self.rto_ns_min).min(RTO_NS_MAX);
        self.backoff = 0;
    }

    /// RFC 6298 §5.5: "The host MUST set RTO <- RTO * 2 ("back off the
    /// timer")" — capped at the maximum (§2.5).
    pub fn back_off(&mut self) {
        if self.rto_ns() < RTO_NS_MAX {
            self.backoff = self.backoff.saturating_add(1);
        }
    }

    /// RFC 6298 §5.7: "If the timer expires awaiting the ACK of a SYN
    /// segment and the TCP implementation is using an RTO less than 3
    /// seconds, the RTO MUST be re-initialized to 3 seconds when data
    /// transmission begins".
    pub fn after_syn_loss(&mut self) {
        if !self.sampled {
            self.rto_ns_base = self.rto_ns_base.max(RTO_NS_AFTER_SYN_LOSS);
        }
        self.backoff = 0;
    }

    /// The current RTO, backed off.
    pub fn rto_ns(&self) -> u64 {
        let shift = u32::from(self.backoff.min(40));
        self.rto_ns_base
            .saturating_mul(1u64 << shift)
            .min(RTO_NS_MAX)
    }

    pub fn srtt_ns(&self) -> u64 {
        self.srtt_ns
    }

    pub fn rttvar_ns(&self) -> u64 {
        self.rttvar_ns
    }

    pub fn has_sample(&self) -> bool {
        self.sampled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const S: u64 = 1_000 * MS;

    #[test]
    fn initial_rto_is_one_second() {
        let rtt = RttEstimator::new(200 * MS, S);
        assert_eq!(rtt.rto_ns(), 1_000 * MS);
        assert!(!rtt.has_sample());
    }

    #[test]
    fn initial_rto_is_configurable_but_not_below_min_rto() {
        // ns-3's ConnTimeout.
        let mut rtt = RttEstimator::new(200 * MS, 3 * S);
        assert_eq!(rtt.rto_ns(), 3 * S);
        rtt.back_off();
        assert_eq!(rtt.rto_ns(), 6 * S);
        // The first sample replaces it.
        rtt.sample(100 * MS);
        assert_eq!(rtt.rto_ns(), 300 * MS);
        assert_eq!(RttEstimator::new(2 * S, 500 * MS).rto_ns(), 2 * S);
    }

    #[test]
    fn first_sample_sets_srtt_and_half_rttvar() {
        let mut rtt = RttEstimator::new(0, S);
        rtt.sample(100 * MS);
        assert_eq!(rtt.srtt_ns(), 100 * MS);
        assert_eq!(rtt.rttvar_ns(), 50 * MS);
        // RTO = SRTT + max(G, 4 * RTTVAR) = 100 + 200.
        assert_eq!(rtt.rto_ns(), 300 * MS);
    }

    #[test]
    fn first_sample_is_clamped_to_min_rto() {
        let mut rtt = RttEstimator::new(200 * MS, S);
        rtt.sample(10 * MS);
        // 10 + 4 * 5 = 30 ms, below the 200 ms floor.
        assert_eq!(rtt.rto_ns(), 200 * MS);
    }

    #[test]
    fn granularity_bounds_the_variance_term() {
        let mut rtt = RttEstimator::new(0, S);
        rtt.sample(100_000); // 0.1 ms: 4 * RTTVAR = 0.2 ms < G
        assert_eq!(rtt.rto_ns(), 100_000 + MS);
    }

    #[test]
    fn later_samples_use_alpha_one_eighth_beta_one_quarter() {
        let mut rtt = RttEstimator::new(0, S);
        rtt.sample(100 * MS);
        rtt.sample(200 * MS);
        // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5
        assert_eq!(rtt.rttvar_ns(), 62_500_000);
        // SRTT = 7/8 * 100 + 1/8 * 200 = 112.5
        assert_eq!(rtt.srtt_ns(), 112_500_000);
        assert_eq!(rtt.rto_ns(), 112_500_000 + 4 * 62_500_000);
        rtt.sample(112_500_000);
        assert_eq!(rtt.rttvar_ns(), 62_500_000 * 3 / 4);
        assert_eq!(rtt.srtt_ns(), 112_500_000);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_a_sample_ends_it() {
        let mut rtt = RttEstimator::new(200 * MS, S);
        let mut expected = 1_000 * MS;
        for _ in 0..10 {
            rtt.back_off();
            expected = (expected * 2).min(RTO_NS_MAX);
            assert_eq!(rtt.rto_ns(), expected);
        }
        assert_eq!(rtt.rto_ns(), RTO_NS_MAX);
        rtt.sample(100 * MS);
        assert_eq!(rtt.rto_ns(), 300 * MS);
    }

    #[test]
    fn a_lost_syn_means_three_seconds() {
        let mut rtt = RttEstimator::new(200 * MS, S);
        rtt.back_off();
        rtt.after_syn_loss();
        assert_eq!(rtt.rto_ns(), 3_000 * MS);
    }
}
