package org.q2q.ptcp.internal;

/**
 * Round-trip time estimation and retransmission timeout per RFC 6298.
 *
 * <ul>
 *   <li>first sample R: SRTT = R, RTTVAR = R/2;
 *   <li>later samples: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, SRTT = 7/8 SRTT + 1/8 R;
 *   <li>RTO = SRTT + max(G, 4 RTTVAR), clamped to [min RTO, max RTO], doubled on each backoff.
 * </ul>
 *
 * <p>Not thread-safe; event-loop only. See <a href="https://www.rfc-editor.org/rfc/rfc6298">RFC 6298</a>.
 */
public final class RttEstimator {
  /** Clock granularity G, nanoseconds. */
  private static final long GRANULARITY = 1_000_000L;
  /** Smoothed RTT, ns; 0 before the first sample. */
  private long srtt;
  /** RTT variation, ns. */
  private long rttvar;
  /** Minimum RTT seen, ns; Long.MAX_VALUE before the first sample. */
  private long minRtt = Long.MAX_VALUE;
  /** Latest sample, ns. */
  private long latest;
  private boolean hasSample;
  private final long initialRto;
  private final long minRto;
  private final long maxRto;
  /** Number of consecutive backoffs applied to the RTO. */
  private int backoff;

  /** Creates an estimator; all arguments in nanoseconds. */
  public RttEstimator(long initialRto, long minRto, long maxRto) {
    this.initialRto = initialRto;
    this.minRto = minRto;
    this.maxRto = maxRto;
  }

  /** Feeds one RTT sample, ns (Karn: never from a retransmitted segment). */
  public void onSample(long rtt) {
    rtt = Math.max(rtt, 1);
    latest = rtt;
    minRtt = Math.min(minRtt, rtt);
    if (!hasSample) {
      srtt = rtt;
      rttvar = rtt / 2;
      hasSample = true;
    } else {
      rttvar = (3 * rttvar + Math.abs(srtt - rtt)) / 4;
      srtt = (7 * srtt + rtt) / 8;
    }
  }

  /** Whether at least one sample was taken. */
  public boolean hasSample() {
    return hasSample;
  }

  /** Smoothed RTT, ns, or the initial RTO before the first sample. */
  public long srtt() {
    return hasSample ? srtt : initialRto;
  }

  /** Minimum RTT seen, ns, or the initial RTO before the first sample. */
  public long minRtt() {
    return hasSample ? minRtt : initialRto;
  }

  /** Latest sample, ns. */
  public long latest() {
    return latest;
  }

  /** RTT variation, ns. */
  public long rttvar() {
    return rttvar;
  }

  /** Current RTO including backoff, ns. */
  public long rto() {
    long base = hasSample ? srtt + Math.max(GRANULARITY, 4 * rttvar) : initialRto;
    base = Math.max(base, minRto);
    for (int i = 0; i < backoff && base < maxRto; i++) {
      base *= 2;
    }
    return Math.min(base, maxRto);
  }

  /** Doubles the RTO (RFC 6298 5.5). */
  public void backoff() {
    if (backoff < 30) {
      backoff++;
    }
  }

  /** Clears the backoff after new data is acknowledged. */
  public void resetBackoff() {
    backoff = 0;
  }

  /** Consecutive backoffs. */
  public int backoffCount() {
    return backoff;
  }
}
