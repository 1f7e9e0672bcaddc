//! One script per arrow of RFC 9293's state diagram (§3.3.2), plus resets,
//! FINs and SYNs in each state, and the give-up limits.

use super::*;
use wirelab_spec::model::{CongestionControl, LossRecovery};

// ---- LISTEN ----

#[test]
fn listen_rcv_syn_sends_syn_ack() {
    let mut s = socket_listen();
    assert_eq!(s.state(), State::Listen);
    send!(s, SYN, R, 0);
    assert_eq!(s.state(), State::SynReceived);
    let synack = recv!(s, SYN | ACK, L, R + 1);
    assert_eq!(synack.mss, Some(MSS));
    assert_eq!(synack.window, 65_535);
    assert_eq!(
        (synack.src_port, synack.dst_port),
        (LOCAL_PORT, REMOTE_PORT)
    );
    recv_nothing!(s);
}

#[test]
fn listen_close() {
    let mut s = socket_listen();
    s.close();
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.error(), None);
}

#[test]
fn listen_ignores_rst_and_resets_ack() {
    let mut s = socket_listen();
    send!(s, RST, R, 0);
    recv_nothing!(s);
    send!(s, ACK, R, 1234);
    recv!(s, RST, 1234, 0);
    assert_eq!(s.state(), State::Listen);
}

#[test]
fn accept_is_listen_plus_syn() {
    let syn = remote(SYN, R, 0, 0);
    let mut s = Socket::accept(&cfg(), &syn, LOCAL_SEQ, MSS, SimTime::ZERO);
    assert_eq!(s.state(), State::SynReceived);
    recv!(s, SYN | ACK, L, R + 1);
    // Not a SYN: closed, with a reset to send.
    let ack = remote(ACK, R, 5, 0);
    let mut s = Socket::accept(&cfg(), &ack, LOCAL_SEQ, MSS, SimTime::ZERO);
    assert_eq!(s.state(), State::Closed);
    recv!(s, RST, 5, 0);
}

// ---- SYN-SENT ----

#[test]
fn connect_sends_syn_with_options() {
    let settings = TcpSettings::default();
    let mut s = Socket::connect(&settings, LOCAL_PORT, REMOTE_PORT, L, MSS, SimTime::ZERO);
    assert_eq!(s.state(), State::SynSent);
    let syn = s.poll_transmit(SimTime::ZERO).unwrap();
    assert_eq!(syn.flags, SYN);
    assert_eq!(syn.seq, L);
    assert_eq!(syn.mss, Some(MSS));
    assert_eq!(syn.wscale, Some(7));
    assert!(syn.sack_permitted);
    assert_eq!(syn.timestamps.map(|t| t.1), Some(0));
    assert_eq!(syn.window, 65_535);
    assert_eq!(s.poll_at(), Some(SimTime::from_secs(1)));
}

#[test]
fn syn_sent_rcv_syn_ack_establishes() {
    let mut s = socket_syn_sent();
    s.now = SimTime::from_millis(10);
    send!(s, SYN | ACK, R, L + 1);
    assert_eq!(s.state(), State::Established);
    recv!(s, ACK, L + 1, R + 1);
    assert_eq!(s.established_at(), Some(SimTime::from_millis(10)));
    // The SYN was timed: one RTT sample of 10 ms.
    assert_eq!(s.stats().rtt_samples, 1);
    assert_eq!(s.stats().rtt_ns_min, 10_000_000);
    assert_eq!(s.poll_at(), None);
}

#[test]
fn syn_sent_rcv_syn_is_simultaneous_open() {
    let mut s = socket_syn_sent();
    send!(s, SYN, R, 0);
    assert_eq!(s.state(), State::SynReceived);
    recv!(s, SYN | ACK, L, R + 1);
    // The peer's SYN-ACK (RFC 9293 Figure 8, line 6).
    send!(s, SYN | ACK, R, L + 1);
    assert_eq!(s.state(), State::Established);
    recv_nothing!(s);
}

#[test]
fn simultaneous_open_completes_on_a_plain_ack_too() {
    let mut s = socket_syn_sent();
    send!(s, SYN, R, 0);
    recv!(s, SYN | ACK, L, R + 1);
    send!(s, ACK, R + 1, L + 1);
    assert_eq!(s.state(), State::Established);
}

#[test]
fn syn_sent_close() {
    let mut s = socket_syn_sent();
    s.close();
    assert_eq!(s.state(), State::Closed);
    recv_nothing!(s);
}

#[test]
fn syn_sent_rst_with_acceptable_ack_is_refused() {
    let mut s = socket_syn_sent();
    send!(s, RST | ACK, 0, L + 1);
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.error(), Some(CloseReason::Refused));
    recv_nothing!(s);
}

#[test]
fn syn_sent_ignores_rst_without_ack_and_resets_bad_ack() {
    let mut s = socket_syn_sent();
    send!(s, RST, R, 0);
    assert_eq!(s.state(), State::SynSent);
    send!(s, SYN | ACK, R, L + 7);
    recv!(s, RST, L + 7, 0);
    assert_eq!(s.state(), State::SynSent);
    send!(s, RST | ACK, R, L + 7);
    assert_eq!(s.state(), State::SynSent);
    recv_nothing!(s);
}

#[test]
fn syn_retransmissions_back_off_and_give_up() {
    let mut s = socket_syn_sent();
    let mut expected = SimTime::ZERO;
    for attempt in 0..SYN_RETRIES_MAX {
        expected = expected + SimTime::from_secs(1 << attempt);
        assert_eq!(fire_timer(&mut s), expected);
        recv!(s, SYN, L, 0);
    }
    assert_eq!(s.stats().segments_retransmitted, u64::from(SYN_RETRIES_MAX));
    fire_timer(&mut s);
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.error(), Some(CloseReason::TimedOut));
    assert_eq!(s.closed_at(), Some(SimTime::from_secs(127)));
}

#[test]
fn a_lost_syn_means_three_second_rto_and_no_sample() {
    let mut s = socket_syn_sent();
    fire_timer(&mut s);
    recv!(s, SYN, L, 0);
    s.now = SimTime::from_millis(1_050);
    send!(s, SYN | ACK, R, L + 1);
    assert_eq!(s.stats().rtt_samples, 0);
    assert_eq!(s.stats().rto_ns, 3_000_000_000);
}

#[test]
fn initial_rto_sets_the_handshake_timers() {
    // ns-3's ConnTimeout: 3 s before the first SYN or SYN-ACK is sent
    // again, doubling after.
    let settings = TcpSettings {
        initial_rto_ns: 3_000_000_000,
        ..cfg()
    };
    let mut s = connect(&settings);
    recv!(s, SYN, L, 0);
    assert_eq!(fire_timer(&mut s), SimTime::from_secs(3));
    recv!(s, SYN, L, 0);
    assert_eq!(fire_timer(&mut s), SimTime::from_secs(9));
    recv!(s, SYN, L, 0);

    let mut s = Socket::listen(&settings, LOCAL_PORT, L, MSS, SimTime::ZERO);
    send!(s, SYN, R, 0);
    recv!(s, SYN | ACK, L, R + 1);
    assert_eq!(fire_timer(&mut s), SimTime::from_secs(3));
    recv!(s, SYN | ACK, L, R + 1);
}

// ---- SYN-RECEIVED ----

#[test]
fn syn_received_rcv_ack_establishes() {
    let s = socket_established();
    assert_eq!(s.established_at(), Some(SimTime::ZERO));
}

#[test]
fn syn_received_bad_ack_is_reset() {
    let mut s = socket_syn_received();
    send!(s, ACK, R + 1, L + 5);
    recv!(s, RST, L + 5, 0);
    assert_eq!(s.state(), State::SynReceived);
}

#[test]
fn syn_received_close_sends_fin_after_handshake() {
    let mut s = socket_syn_received();
    s.close();
    recv_nothing!(s);
    send!(s, ACK, R + 1, L + 1);
    assert_eq!(s.state(), State::FinWait1);
    recv!(s, FIN | ACK, L + 1, R + 1);
}

#[test]
fn syn_received_dup_syn_repeats_syn_ack() {
    let mut s = socket_syn_received();
    send!(s, SYN, R, 0);
    recv!(s, SYN | ACK, L, R + 1);
    assert_eq!(s.stats().segments_retransmitted, 1);
}

#[test]
fn syn_received_retransmits_syn_ack_on_timeout() {
    let mut s = socket_syn_received();
    assert_eq!(fire_timer(&mut s), SimTime::from_secs(1));
    recv!(s, SYN | ACK, L, R + 1);
}

#[test]
fn syn_received_rst_returns_to_listen() {
    let mut s = socket_syn_received();
    send!(s, RST, R + 1, 0);
    assert_eq!(s.state(), State::Listen);
    // And it can accept again.
    send!(s, SYN, R + 100, 0);
    recv!(s, SYN | ACK, L, R + 101);
}

#[test]
fn syn_received_rst_closes_accepted_and_active_opens() {
    let syn = remote(SYN, R, 0, 0);
    let mut s = Socket::accept(&cfg(), &syn, LOCAL_SEQ, MSS, SimTime::ZERO);
    recv!(s, SYN | ACK, L, R + 1);
    send!(s, RST, R + 1, 0);
    assert_eq!(
        (s.state(), s.error()),
        (State::Closed, Some(CloseReason::Reset))
    );

    let mut s = socket_syn_sent();
    send!(s, SYN, R, 0);
    recv!(s, SYN | ACK, L, R + 1);
    send!(s, RST, R + 1, 0);
    assert_eq!(
        (s.state(), s.error()),
        (State::Closed, Some(CloseReason::Refused))
    );
}

// ---- ESTABLISHED ----

#[test]
fn established_close_sends_fin() {
    let s = socket_fin_wait_1();
    assert_eq!(s.state(), State::FinWait1);
}

#[test]
fn established_rcv_fin_goes_to_close_wait() {
    let s = socket_close_wait();
    assert!(s.recv_finished());
}

#[test]
fn established_data_is_acknowledged_and_readable() {
    let mut s = socket_established();
    send!(s, ACK, R + 1, L + 1, 1000);
    recv!(s, ACK, L + 1, R + 1001);
    assert_eq!(s.take_readable(), 1000);
    assert_eq!(s.take_readable(), 0);
    assert_eq!(s.stats().bytes_delivered, 1000);
}

#[test]
fn out_of_order_data_is_acknowledged_at_once_and_reassembled() {
    let mut s = socket_established();
    send!(s, ACK, R + 1001, L + 1, 1000);
    recv!(s, ACK, L + 1, R + 1);
    send!(s, ACK, R + 1, L + 1, 1000);
    recv!(s, ACK, L + 1, R + 2001);
    assert_eq!(s.take_readable(), 2000);
}

#[test]
fn fin_after_a_gap_waits_for_the_data() {
    let mut s = socket_established();
    send!(s, FIN | ACK, R + 501, L + 1, 500);
    recv!(s, ACK, L + 1, R + 1);
    assert_eq!(s.state(), State::Established);
    send!(s, ACK, R + 1, L + 1, 500);
    recv!(s, ACK, L + 1, R + 1002);
    assert_eq!(s.state(), State::CloseWait);
}

#[test]
fn established_sends_data_and_takes_acks() {
    let mut s = socket_established();
    assert_eq!(s.send(3000), 3000);
    recv!(s, ACK, L + 1, R + 1, 1460);
    recv!(s, ACK, L + 1461, R + 1, 1460);
    // Nagle: the small rest waits until nothing is in flight.
    recv_nothing!(s);
    send!(s, ACK, R + 1, L + 2921);
    recv!(s, ACK, L + 2921, R + 1, 80);
    send!(s, ACK, R + 1, L + 3001);
    assert_eq!(s.stats().bytes_acked, 3000);
    assert_eq!(s.poll_at(), None);
    assert!(s.send_finished());
}

#[test]
fn send_is_bounded_by_the_buffer() {
    let mut s = socket_established();
    assert_eq!(s.send(100_000), 65_535);
    assert_eq!(s.send(1), 0);
}

#[test]
fn unacceptable_segment_is_answered_with_ack() {
    let mut s = socket_established();
    send!(s, ACK, R + 100_000, L + 1, 10);
    recv!(s, ACK, L + 1, R + 1);
    assert_eq!(s.stats().bytes_delivered, 0);
}

#[test]
fn ack_of_unsent_data_is_answered_with_ack() {
    let mut s = socket_established();
    send!(s, ACK, R + 1, L + 50);
    recv!(s, ACK, L + 1, R + 1);
}

#[test]
fn syn_in_established_gets_challenge_ack() {
    let mut s = socket_established();
    send!(s, SYN, R + 5, 0);
    recv!(s, ACK, L + 1, R + 1);
    assert_eq!(s.state(), State::Established);
}

#[test]
fn abort_sends_reset() {
    let mut s = socket_established();
    s.abort();
    assert_eq!(
        (s.state(), s.error()),
        (State::Closed, Some(CloseReason::Aborted))
    );
    assert!(!s.is_finished());
    recv!(s, RST, L + 1, 0);
    recv_nothing!(s);
    assert!(s.is_finished());
}

// ---- closing ----

#[test]
fn fin_wait_1_rcv_ack_of_fin() {
    let s = socket_fin_wait_2();
    assert_eq!(s.poll_at(), None);
}

#[test]
fn fin_wait_1_rcv_fin_is_simultaneous_close() {
    let mut s = socket_closing();
    send!(s, ACK, R + 2, L + 2);
    assert_eq!(s.state(), State::TimeWait);
}

#[test]
fn fin_wait_1_rcv_fin_and_ack_goes_to_time_wait() {
    let mut s = socket_fin_wait_1();
    send!(s, FIN | ACK, R + 1, L + 2);
    assert_eq!(s.state(), State::TimeWait);
    recv!(s, ACK, L + 2, R + 2);
}

#[test]
fn fin_wait_1_retransmits_fin() {
    let mut s = socket_fin_wait_1();
    fire_timer(&mut s);
    recv!(s, FIN | ACK, L + 1, R + 1);
    assert_eq!(s.stats().timeouts, 1);
}

#[test]
fn fin_wait_2_rcv_fin_goes_to_time_wait() {
    let s = socket_time_wait();
    assert_eq!(s.poll_at(), Some(SimTime(TIME_WAIT_NS)));
}

#[test]
fn time_wait_expires_after_two_msl() {
    let mut s = socket_time_wait();
    s.on_timer(SimTime(TIME_WAIT_NS - 1));
    assert_eq!(s.state(), State::TimeWait);
    s.on_timer(SimTime::from_secs(60));
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.error(), None);
    assert_eq!(s.closed_at(), Some(SimTime::from_secs(60)));
}

#[test]
fn time_wait_rcv_fin_acks_and_restarts_the_timer() {
    let mut s = socket_time_wait();
    s.now = SimTime::from_secs(10);
    send!(s, FIN | ACK, R + 1, L + 2);
    recv!(s, ACK, L + 2, R + 2);
    assert_eq!(s.poll_at(), Some(SimTime::from_secs(70)));
}

#[test]
fn close_wait_close_goes_to_last_ack() {
    let s = socket_last_ack();
    assert!(s.poll_at().is_some());
}

#[test]
fn last_ack_rcv_ack_closes() {
    let mut s = socket_last_ack();
    send!(s, ACK, R + 2, L + 2);
    assert_eq!((s.state(), s.error()), (State::Closed, None));
    recv_nothing!(s);
}

#[test]
fn fin_again_in_close_wait_closing_last_ack_is_acknowledged() {
    for (mut s, snd_nxt) in [
        (socket_close_wait(), L + 1),
        (socket_closing(), L + 2),
        (socket_last_ack(), L + 2),
    ] {
        let state = s.state();
        send!(s, FIN | ACK, R + 1, L + 1);
        recv!(s, ACK, snd_nxt, R + 2);
        assert_eq!(s.state(), state);
    }
}

// ---- resets ----

#[test]
fn rst_in_each_synchronized_state() {
    let cases = [
        (socket_established(), R + 1, Some(CloseReason::Reset)),
        (socket_fin_wait_1(), R + 1, Some(CloseReason::Reset)),
        (socket_fin_wait_2(), R + 1, Some(CloseReason::Reset)),
        (socket_close_wait(), R + 2, Some(CloseReason::Reset)),
        (socket_closing(), R + 2, None),
        (socket_last_ack(), R + 2, None),
        (socket_time_wait(), R + 2, None),
    ];
    for (mut s, rcv_nxt, reason) in cases {
        let state = s.state();
        send!(s, RST, rcv_nxt, 0);
        assert_eq!(s.state(), State::Closed, "from {state:?}");
        assert_eq!(s.error(), reason, "from {state:?}");
        recv_nothing!(s);
    }
}

#[test]
fn rst_in_window_but_not_exact_gets_challenge_ack() {
    let mut s = socket_established();
    send!(s, RST, R + 10, 0);
    assert_eq!(s.state(), State::Established);
    recv!(s, ACK, L + 1, R + 1);
}

#[test]
fn rst_outside_the_window_is_ignored() {
    let mut s = socket_established();
    send!(s, RST, R + 1_000_000, 0);
    send!(s, RST, R, 0);
    assert_eq!(s.state(), State::Established);
    recv_nothing!(s);
}

#[test]
fn closed_socket_answers_with_reset() {
    let mut s = socket_established();
    s.abort();
    recv!(s, RST, L + 1, 0);
    send!(s, ACK, R + 1, L + 1, 10);
    recv!(s, RST, L + 1, 0);
    send!(s, RST, R + 1, 0);
    recv_nothing!(s);
}

#[test]
fn reset_for_follows_rfc_9293() {
    let syn = remote(SYN, R, 0, 0);
    let rst = reset_for(&syn).unwrap();
    assert_eq!((rst.flags, rst.seq, rst.ack), (RST | ACK, 0, R + 1));
    assert_eq!((rst.src_port, rst.dst_port), (LOCAL_PORT, REMOTE_PORT));
    let ack = remote(ACK, R, 77, 5);
    let rst = reset_for(&ack).unwrap();
    assert_eq!((rst.flags, rst.seq), (RST, 77));
    assert_eq!(reset_for(&remote(RST, R, 0, 0)), None);
}

// ---- give up ----

#[test]
fn data_retransmissions_back_off_and_give_up_after_fifteen() {
    let mut s = socket_established();
    s.send(100);
    recv!(s, ACK, L + 1, R + 1, 100);
    // The handshake's RTT sample (0 s) set the RTO to its 200 ms floor.
    let mut rto = SimTime::from_millis(200);
    let mut at = SimTime::ZERO;
    for _ in 0..RETRIES_MAX {
        at = at + rto;
        assert_eq!(fire_timer(&mut s), at);
        recv!(s, ACK, L + 1, R + 1, 100);
        rto = SimTime((rto.as_nanos() * 2).min(rto::RTO_NS_MAX));
    }
    assert_eq!(s.stats().timeouts, u64::from(RETRIES_MAX));
    fire_timer(&mut s);
    assert_eq!(
        (s.state(), s.error()),
        (State::Closed, Some(CloseReason::TimedOut))
    );
}

#[test]
fn options_are_negotiated_only_when_both_sides_offer() {
    let settings = TcpSettings::default();
    let mut syn = remote(SYN, R, 0, 0);
    syn.mss = Some(1200);
    let mut s = Socket::accept(&settings, &syn, L, MSS, SimTime::ZERO);
    let synack = s.poll_transmit(SimTime::ZERO).unwrap();
    assert_eq!(synack.wscale, None);
    assert!(!synack.sack_permitted);
    assert_eq!(synack.timestamps, None);
    assert_eq!(s.mss_send, 1200);

    syn.wscale = Some(3);
    syn.sack_permitted = true;
    syn.timestamps = Some((555, 0));
    let mut s = Socket::accept(&settings, &syn, L, MSS, SimTime::ZERO);
    let synack = s.poll_transmit(SimTime::ZERO).unwrap();
    assert_eq!(synack.wscale, Some(7));
    assert!(synack.sack_permitted);
    assert_eq!(synack.timestamps.map(|t| t.1), Some(555));
    // Data segments carry MSS minus the 12 bytes of timestamps.
    let mut ack = remote(ACK, R + 1, L + 1, 0);
    ack.window = 1000;
    ack.timestamps = Some((556, synack.timestamps.unwrap().0));
    s.process(SimTime::ZERO, &ack);
    assert_eq!(s.snd_wnd, 8000);
    s.send(10_000);
    let data = s.poll_transmit(SimTime::ZERO).unwrap();
    assert_eq!(data.payload_len, 1188);
    assert_eq!(data.timestamps.map(|t| t.1), Some(556));
}

// ---- RTT samples (Karn, timestamps) and delayed ACKs ----

#[test]
fn karn_takes_no_sample_from_a_retransmitted_segment() {
    let mut s = socket_established();
    assert_eq!(s.stats().rtt_samples, 1);
    s.send(100);
    recv!(s, ACK, L + 1, R + 1, 100);
    fire_timer(&mut s);
    recv!(s, ACK, L + 1, R + 1, 100);
    s.now = s.now + SimTime::from_millis(50);
    send!(s, ACK, R + 1, L + 101);
    assert_eq!(s.stats().rtt_samples, 1);
    // The backoff stays until a valid sample.
    assert_eq!(s.stats().rto_ns, 400_000_000);
}

#[test]
fn timestamps_give_samples_even_for_retransmissions() {
    let settings = TcpSettings {
        timestamps: true,
        ..cfg()
    };
    let mut syn = remote(SYN, R, 0, 0);
    syn.timestamps = Some((1, 0));
    let mut s = Socket::accept(&settings, &syn, L, MSS, SimTime::ZERO);
    let synack = recv!(s, SYN | ACK, L, R + 1);
    let mut ack = remote(ACK, R + 1, L + 1, 0);
    ack.timestamps = Some((2, synack.timestamps.unwrap().0));
    s.process(SimTime::ZERO, &ack);
    assert_eq!(s.state(), State::Established);
    s.send(100);
    recv!(s, ACK, L + 1, R + 1, 100);
    fire_timer(&mut s);
    let again = recv!(s, ACK, L + 1, R + 1, 100);
    let later = s.now + SimTime::from_millis(50);
    let mut ack = remote(ACK, R + 1, L + 101, 0);
    ack.timestamps = Some((3, again.timestamps.unwrap().0));
    s.process(later, &ack);
    assert_eq!(s.stats().rtt_samples, 2);
    assert_eq!(s.stats().rtt_ns_sum, 50_000_000);
    assert_eq!(s.stats().srtt_ns, 50_000_000 / 8);
}

#[test]
fn delayed_ack_every_second_full_segment() {
    let settings = TcpSettings {
        delayed_ack_ns: Some(40_000_000),
        ..cfg()
    };
    let mut s = Socket::listen(&settings, LOCAL_PORT, L, MSS, SimTime::ZERO);
    send!(s, SYN, R, 0);
    recv!(s, SYN | ACK, L, R + 1);
    send!(s, ACK, R + 1, L + 1);
    send!(s, ACK, R + 1, L + 1, 1460);
    recv_nothing!(s);
    assert_eq!(s.poll_at(), Some(SimTime::from_millis(40)));
    send!(s, ACK, R + 1461, L + 1, 1460);
    recv!(s, ACK, L + 1, R + 2921);
    // A lone segment waits for the timer.
    send!(s, ACK, R + 2921, L + 1, 1460);
    recv_nothing!(s);
    assert_eq!(fire_timer(&mut s), SimTime::from_millis(40));
    recv!(s, ACK, L + 1, R + 4381);
    // Out of order: at once.
    s.now = SimTime::from_millis(50);
    send!(s, ACK, R + 9000, L + 1, 1460);
    recv!(s, ACK, L + 1, R + 4381);
}

/// `recovery: ns3`: the first data segment of a connection is
/// acknowledged at once, as ns-3 does (`m_delAckCount = m_delAckMaxCount`
/// when the handshake completes), and every second one after it; the
/// default waits for the second segment or the timer.
#[test]
fn ns3_acknowledges_the_first_data_segment_at_once() {
    for (recovery, first_acked) in [(LossRecovery::Ns3, true), (LossRecovery::Rfc, false)] {
        let settings = TcpSettings {
            delayed_ack_ns: Some(200_000_000),
            recovery,
            ..cfg()
        };
        let mut s = Socket::listen(&settings, LOCAL_PORT, L, MSS, SimTime::ZERO);
        send!(s, SYN, R, 0);
        recv!(s, SYN | ACK, L, R + 1);
        send!(s, ACK, R + 1, L + 1);
        send!(s, ACK, R + 1, L + 1, 1460);
        if first_acked {
            recv!(s, ACK, L + 1, R + 1461);
            // The pairs start after it: segments 2 and 3.
            send!(s, ACK, R + 1461, L + 1, 1460);
            recv_nothing!(s);
            send!(s, ACK, R + 2921, L + 1, 1460);
            recv!(s, ACK, L + 1, R + 4381);
        } else {
            recv_nothing!(s);
            send!(s, ACK, R + 1461, L + 1, 1460);
            recv!(s, ACK, L + 1, R + 2921);
        }
    }
}

/// Loss recovery entered on the third duplicate ACK, after RFC 3042
/// limited transmit sent two new segments: `cfg` with NewReno and SACK
/// as asked, 10 segments in flight, the first lost. Returns the socket
/// just after the fast retransmit.
fn recovery_after_limited_transmit(recovery: LossRecovery, sack: bool) -> Socket {
    let settings = TcpSettings {
        congestion: CongestionControl::NewReno,
        recovery,
        sack,
        ..cfg()
    };
    let mut s = Socket::listen(&settings, LOCAL_PORT, LOCAL_SEQ, MSS, SimTime::ZERO);
    let mut syn = remote(SYN, R, 0, 0);
    syn.sack_permitted = sack;
    s.process(SimTime::ZERO, &syn);
    recv!(s, SYN | ACK, L, R + 1);
    send!(s, ACK, R + 1, L + 1);
    let mss = u32::from(MSS);
    assert_eq!(s.send(u64::from(20 * mss)), u64::from(20 * mss));
    for i in 0..10 {
        recv!(s, ACK, L + 1 + i * mss, R + 1, mss);
    }
    recv_nothing!(s);
    // Segments 2, 3 and 4 arrive; each duplicate ACK SACKs what came.
    for dup in 1..=3u32 {
        let mut ack = remote(ACK, R + 1, L + 1, 0);
        if sack {
            ack.sack[0] = (L + 1 + mss, L + 1 + (dup + 1) * mss);
            ack.sack_len = 1;
        }
        let now = s.now;
        s.process(now, &ack);
        if dup < 3 {
            // Limited transmit: one new segment per duplicate ACK.
            recv!(s, ACK, L + 1 + (9 + dup) * mss, R + 1, mss);
        }
    }
    recv!(s, ACK, L + 1, R + 1, mss);
    s
}

/// RFC 5681 §3.2 (2): "When [RFC3042] is in use, additional data sent in
/// limited transmit MUST NOT be included in this calculation": ssthresh
/// is half of the 10 segments, not of the 12 then in flight.
#[test]
fn ssthresh_leaves_out_limited_transmit() {
    let mss = u64::from(MSS);
    for sack in [false, true] {
        let s = recovery_after_limited_transmit(LossRecovery::Rfc, sack);
        assert_eq!(s.stats().ssthresh_bytes, 5 * mss, "sack {sack}");
    }
}

/// `recovery: ns3`: ns-3 halves pipe, which leaves out the SACKed and the
/// lost segments as well: (12 − 3 − 1) / 2. Without SACK, FlightSize less
/// one segment per duplicate ACK but the last one: (12 − 2) / 2.
#[test]
fn ns3_recovery_halves_pipe() {
    let mss = u64::from(MSS);
    let s = recovery_after_limited_transmit(LossRecovery::Ns3, true);
    assert_eq!(s.stats().ssthresh_bytes, 4 * mss);
    let s = recovery_after_limited_transmit(LossRecovery::Ns3, false);
    assert_eq!(s.stats().ssthresh_bytes, 5 * mss);
}

// ---- `recovery: ns3` and `mss_option` ----

/// An established socket with SACK and ten segments in flight, under
/// `recovery`.
fn socket_sending_with_sack(recovery: LossRecovery) -> Socket {
    let settings = TcpSettings {
        sack: true,
        recovery,
        ..cfg()
    };
    let mut syn = remote(SYN, R, 0, 0);
    syn.sack_permitted = true;
    let mut s = Socket::accept(&settings, &syn, L, MSS, SimTime::ZERO);
    recv!(s, SYN | ACK, L, R + 1);
    send!(s, ACK, R + 1, L + 1);
    s.send(10 * u64::from(MSS));
    for i in 0..10 {
        recv!(s, ACK, L + 1 + i * u32::from(MSS), R + 1, u32::from(MSS));
    }
    s
}

/// An ACK from the peer for `ack` with one SACK block.
fn sack_ack(ack: u32, block: (u32, u32)) -> Tcp {
    let mut seg = remote(ACK, R + 1, ack, 0);
    seg.sack[0] = block;
    seg.sack_len = 1;
    seg
}

/// ns-3.44 takes an ACK that moves SND.UNA but also SACKs new data for a
/// duplicate: the window does not grow on it and it counts towards the
/// three duplicates, so fast retransmit comes one ACK earlier than by
/// RFC 6675, where the cumulative ACK resets DupAcks.
#[test]
fn ns3_takes_a_cumulative_ack_with_sack_news_for_a_duplicate() {
    let mss = u32::from(MSS);
    let seg = |i: u32| L + 1 + i * mss;
    for (recovery, grows, retransmits) in
        [(LossRecovery::Rfc, true, 0), (LossRecovery::Ns3, false, 1)]
    {
        let mut s = socket_sending_with_sack(recovery);
        let cwnd = s.stats().cwnd_bytes;
        // Segment 0 arrives, 1 is lost, 2 is SACKed.
        let now = s.now;
        s.process(now, &sack_ack(seg(1), (seg(2), seg(3))));
        assert_eq!(s.stats().cwnd_bytes > cwnd, grows, "{recovery:?}");
        // Two plain duplicates.
        s.process(now, &sack_ack(seg(1), (seg(2), seg(3))));
        s.process(now, &sack_ack(seg(1), (seg(2), seg(3))));
        assert_eq!(s.stats().fast_retransmits, retransmits, "{recovery:?}");
    }
}

/// `mss_option: false` (ns-3) sends no MSS option, and a SYN without one
/// then means the host's own MSS; with the option on, RFC 9293's 536.
#[test]
fn mss_option_off_sends_none_and_assumes_its_own_mss() {
    for (mss_option, expected) in [(true, 536), (false, MSS)] {
        let settings = TcpSettings {
            mss_option,
            ..cfg()
        };
        let mut s = connect(&settings);
        let syn = recv!(s, SYN, L, 0);
        assert_eq!(syn.mss.is_some(), mss_option);
        let mut synack = remote(SYN | ACK, R, L + 1, 0);
        synack.mss = None;
        let now = s.now;
        s.process(now, &synack);
        assert_eq!(s.state(), State::Established);
        assert_eq!(s.smss(), u64::from(expected), "mss_option {mss_option}");
    }
}

/// ns-3.44 restarts the retransmission timer on the first partial ACK of
/// a recovery only (RFC 6582 §4's "Impatient" variant); RFC 6298 (5.3)
/// restarts it on every ACK of new data.
#[test]
fn ns3_restarts_the_timer_on_the_first_partial_ack_only() {
    let mss = u32::from(MSS);
    let seg = |i: u32| L + 1 + i * mss;
    for recovery in [LossRecovery::Rfc, LossRecovery::Ns3] {
        let mut s = socket_sending_with_sack(recovery);
        // Segments 1 and 3 lost: recovery on the third ACK.
        let mut ack = sack_ack(seg(1), (seg(2), seg(3)));
        s.process(s.now, &ack);
        ack.sack = [(seg(4), seg(5)), (seg(2), seg(3)), (0, 0)];
        ack.sack_len = 2;
        s.process(s.now, &ack);
        ack.sack[0] = (seg(4), seg(6));
        s.process(s.now, &ack);
        assert_eq!(s.stats().fast_retransmits, 1, "{recovery:?}");
        while s.poll_transmit(s.now).is_some() {}
        // Two partial ACKs, 50 ms apart.
        s.now = SimTime::from_millis(100);
        s.process(s.now, &sack_ack(seg(3), (seg(4), seg(6))));
        let first = s.poll_at().expect("a timer");
        s.now = SimTime::from_millis(150);
        s.process(s.now, &sack_ack(seg(6), (0, 0)));
        let second = s.poll_at().expect("a timer");
        match recovery {
            LossRecovery::Ns3 => assert_eq!(second, first),
            LossRecovery::Rfc => assert_eq!(second, first + SimTime::from_millis(50)),
        }
    }
}

/// ns-3.44's `BytesInFlight` keeps a retransmission once it is SACKed
/// (until SND.UNA passes it); RFC 6675's pipe drops it.
#[test]
fn ns3_pipe_keeps_a_sacked_retransmission() {
    let mss = u32::from(MSS);
    let seg = |i: u32| L + 1 + i * mss;
    for recovery in [LossRecovery::Rfc, LossRecovery::Ns3] {
        let mut s = socket_sending_with_sack(recovery);
        // Segments 0–2 lost, 3–5 SACKed: recovery on the third ACK.
        for end in 4..=6 {
            s.process(s.now, &sack_ack(seg(0), (seg(3), seg(end))));
        }
        assert_eq!(s.stats().fast_retransmits, 1, "{recovery:?}");
        let mut resent = Vec::new();
        while let Some(out) = s.poll_transmit(s.now) {
            resent.push(out.seq);
        }
        assert_eq!(resent[..2], [seg(0), seg(1)], "{recovery:?}");
        let before = s.pipe();
        // Segment 1's retransmission arrives, 0's does not.
        let mut ack = sack_ack(seg(0), (seg(1), seg(2)));
        ack.sack[1] = (seg(3), seg(6));
        ack.sack_len = 2;
        s.process(s.now, &ack);
        let fell = before - s.pipe();
        match recovery {
            LossRecovery::Rfc => assert_eq!(fell, u64::from(mss)),
            LossRecovery::Ns3 => assert_eq!(fell, 0),
        }
    }
}

/// With data waiting, wirelab's first data segment carries the ACK of
/// the SYN-ACK (RFC 9293: queued data "MAY be included"); ns-3 sends a
/// pure ACK first.
#[test]
fn ns3_acknowledges_the_syn_ack_alone_before_its_data() {
    for (recovery, pure_ack_first) in [(LossRecovery::Rfc, false), (LossRecovery::Ns3, true)] {
        let settings = TcpSettings { recovery, ..cfg() };
        let mut s = connect(&settings);
        s.send(10_000);
        recv!(s, SYN, L, 0);
        send!(s, SYN | ACK, R, L + 1);
        assert_eq!(s.state(), State::Established);
        if pure_ack_first {
            recv!(s, ACK, L + 1, R + 1);
        }
        recv!(s, ACK, L + 1, R + 1, u32::from(MSS));
    }
}
