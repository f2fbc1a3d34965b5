package org.q2q.ptcp;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;
import org.q2q.ptcp.internal.Assembler;
import org.q2q.ptcp.internal.Bbr;
import org.q2q.ptcp.internal.ByteRing;
import org.q2q.ptcp.internal.CongestionController;
import org.q2q.ptcp.internal.Cubic;
import org.q2q.ptcp.internal.Header;
import org.q2q.ptcp.internal.Mtud;
import org.q2q.ptcp.internal.NewReno;
import org.q2q.ptcp.internal.Pacer;
import org.q2q.ptcp.internal.RttEstimator;
import org.q2q.ptcp.internal.Scoreboard;
import org.q2q.ptcp.internal.SentSegment;
import org.q2q.ptcp.internal.SeqNum;
import org.q2q.ptcp.internal.Timer;
import org.q2q.ptcp.internal.TimerTable;

/**
 * One PTCP connection: a reliable, ordered, congestion-controlled byte stream, driven by its
 * {@link PtcpEndpoint}. Sans-IO; its methods fall into quinn's four groups:
 *
 * <ul>
 *   <li>(A) getters: {@link #state()}, {@link #remoteAddress()}, {@link #readableBytes()}, statistics;
 *   <li>(B) inputs, called by the endpoint: {@code onPacket}, {@code handleTimeout};
 *   <li>(C) application commands: {@link #write}, {@link #read}, {@link #shutdownOutput()},
 *       {@link #close()}, {@link #abort()} (they do no I/O; the next {@code pollTransmit} acts);
 *   <li>(D) outputs, via the endpoint: {@code pollTransmit}, {@code nextTimeout}, events.
 * </ul>
 *
 * <p>Stream offsets are 64-bit (offset 0 = ISN+1); wire sequence numbers are their low 32 bits.
 * Not thread-safe; use only from the thread driving the endpoint.
 */
public final class PtcpConnection {
  private static final int DELIVER_CHUNK = 64 * 1024;

  private final PtcpEndpoint endpoint;
  private final PtcpConfig cfg;
  private final int localCid;
  /** Peer's connection id (0 until the SYN-ACK, for a client). */
  private int remoteCid;
  private final InetSocketAddress remote;
  private final boolean client;
  private PtcpState state;
  /** Client only: heard a non-SYN packet from the server, so the server holds state. */
  private boolean handshakeConfirmed;
  private Object attachment;

  // ---- send side (offsets) ----
  /** Our initial sequence number (wire). */
  private final int iss;
  /** Oldest unacknowledged offset (SND.UNA). */
  private long sndUna;
  /** Next offset sent for the first time (SND.NXT). */
  private long sndNxt;
  /** One past the highest sequence offset sent, FIN included. */
  private long sndMax;
  /** Right edge of the peer's receive window, offset. */
  private long sndWndEdge;
  /** Segment offset and ack offset of the last window update (SND.WL1, SND.WL2). */
  private long sndWl1 = Long.MIN_VALUE;
  private long sndWl2 = Long.MIN_VALUE;
  /** Peer's window-scale shift. */
  private int peerWscale;
  private final ByteRing sendBuf;
  private boolean finQueued;
  /** Offset the FIN occupies (= stream length), -1 until shutdownOutput. */
  private long finOffset = -1;
  private boolean finSent;
  private boolean finAcked;
  /** A write was short; signal WRITABLE when space frees. */
  private boolean writeBlocked;
  private final Scoreboard board = new Scoreboard();
  private final RttEstimator rtt;
  private final CongestionController cc;
  private final Pacer pacer = new Pacer();
  private final Mtud mtud;
  /** Largest datagram this connection sends or accepts (the path ceiling for probing), bytes. */
  private final int maxDatagram;
  /** Client: a SYN must be (re)sent. */
  private boolean synPending;
  /** Time the first SYN was sent, ns. */
  private long synSentTime;
  private boolean synRetransmitted;
  /** A PING (keepalive or zero-window probe) must be sent. */
  private boolean pingPending;
  /** Size of an MTU probe to send now, or 0. */
  private int probePending;
  /** Size to report in a PROBE_ACK option, or 0. */
  private int probeAckToSend;
  /** TIME_WAIT after an idle timeout: say nothing at all. */
  private boolean quiet;
  /** A tail-loss probe was sent since the last progress. */
  private boolean tlpSent;
  /** Consecutive retransmission timeouts without progress. */
  private int consecutiveRtos;

  // ---- receive side (offsets) ----
  /** Peer's initial sequence number (IRS, wire). */
  private int irs;
  /** Next offset expected from the peer (RCV.NXT); includes the FIN once received. */
  private long rcvNxt;
  /** Our window-scale shift. */
  private final int localWscale;
  private final ByteRing recvBuf;
  /** Out-of-order ranges; their bytes are stored in {@link #recvBuf} ahead of its end. */
  private final Assembler asm;
  /** Right edge of the window we advertised, offset; never moves left. */
  private long rcvAdvEdge;
  /** Offset of the peer's FIN, -1 until seen. */
  private long peerFinOffset = -1;
  private boolean finReceived;
  /** The application closed its input: received data is acknowledged and discarded. */
  private boolean inputDiscard;
  private boolean readableSignalled;
  /** An ACK must be sent without delay. */
  private boolean ackNow;
  /** Challenge ACKs per second at most, per connection. */
  static final int CHALLENGE_ACKS_PER_SECOND = 10;
  private final org.q2q.ptcp.internal.TokenBucket challengeAcks =
      new org.q2q.ptcp.internal.TokenBucket(CHALLENGE_ACKS_PER_SECOND, CHALLENGE_ACKS_PER_SECOND);
  private long challengeAcksSuppressed;
  /** Payload bytes received since our last ACK. */
  private long unackedBytes;
  /** Largest payload received in one segment, bytes. */
  private int maxSegmentSeen = 536;

  /** The frequent events, created once (events are values; one per edge, not per datagram). */
  private final PtcpEvent readableEvent = new PtcpEvent(PtcpEvent.Type.READABLE, this, null);
  private final PtcpEvent writableEvent = new PtcpEvent(PtcpEvent.Type.WRITABLE, this, null);

  // ---- timers ----
  private final TimerTable timers = new TimerTable();
  /** Last time the peer proved it is alive and making progress, ns. */
  private long lastProgress;

  // ---- statistics ----
  private long segmentsSent;
  private long segmentsRetransmitted;
  private long bytesSent;
  private long bytesReceived;
  private long retransmissionTimeouts;

  PtcpConnection(PtcpEndpoint endpoint, PtcpConfig cfg, int localCid, InetSocketAddress remote,
      boolean client, int iss, long now, int maxDatagram) {
    this.endpoint = endpoint;
    this.cfg = cfg;
    this.localCid = localCid;
    this.remote = remote;
    this.client = client;
    this.iss = iss;
    this.rtt = new RttEstimator(cfg.initialRto, cfg.minRto, cfg.maxRto);
    this.maxDatagram = maxDatagram;
    this.mtud = new Mtud(cfg.initialDatagramSize, cfg.minDatagramSize, maxDatagram);
    int mss = cfg.initialDatagramSize - Header.FIXED_LENGTH;
    this.cc = switch (cfg.congestion) {
      case CUBIC -> new Cubic(mss, cfg.initialWindowSegments);
      case BBR -> new Bbr(mss, cfg.initialWindowSegments);
      case NEW_RENO -> new NewReno(mss, cfg.initialWindowSegments);
    };
    this.sendBuf = new ByteRing(cfg.sendBufferSize, 0);
    this.recvBuf = new ByteRing(cfg.receiveBufferSize, 0);
    this.asm = new Assembler(recvBuf);
    this.localWscale = windowScaleFor(cfg.receiveBufferSize);
    this.lastProgress = now;
    if (client) {
      state = PtcpState.SYN_SENT;
      synPending = true;
      timers.set(Timer.IDLE, now + cfg.connectTimeout);
    } else {
      state = PtcpState.ESTABLISHED;
      handshakeConfirmed = true;
    }
  }

  /** Smallest shift that makes the buffer size fit the 16-bit window field. */
  static int windowScaleFor(int bufferSize) {
    int s = 0;
    while ((bufferSize >> s) > 0xffff && s < 14) {
      s++;
    }
    return s;
  }

  // =====================================================================================
  // (A) getters
  // =====================================================================================

  /** Current state. */
  public PtcpState state() {
    return state;
  }

  /** Whether the connection is finished (CLOSED, or TIME_WAIT lingering). */
  public boolean isClosed() {
    return state == PtcpState.CLOSED || state == PtcpState.TIME_WAIT;
  }

  /** Our connection id. */
  public int localConnectionId() {
    return localCid;
  }

  /** The peer's connection id (0 before the handshake). */
  public int remoteConnectionId() {
    return remoteCid;
  }

  /** The peer's UDP address. */
  public InetSocketAddress remoteAddress() {
    return remote;
  }

  /** Whether we opened the connection. */
  public boolean isClient() {
    return client;
  }

  /** Bytes ready to {@link #read}. */
  public int readableBytes() {
    return recvBuf.size();
  }

  /** Bytes {@link #write} would accept now. */
  public int writableBytes() {
    return finQueued || isClosed() ? 0 : sendBuf.free();
  }

  /** Bytes written but not yet acknowledged by the peer. */
  public long unacknowledgedBytes() {
    return sendBuf.size();
  }

  /** Whether the peer's FIN was received. */
  public boolean isInputShutdown() {
    return finReceived;
  }

  /** Whether {@link #shutdownOutput()} was called. */
  public boolean isOutputShutdown() {
    return finQueued;
  }

  /** Whether every byte read and the peer's FIN is consumed (reads return -1). */
  public boolean isEndOfStream() {
    return finReceived && recvBuf.size() == 0;
  }

  /** Smoothed RTT, ns. */
  public long smoothedRttNanos() {
    return rtt.srtt();
  }

  /** Current RTO including backoff, ns. */
  public long rtoNanos() {
    return rtt.rto();
  }

  /** Congestion window, bytes. */
  public long congestionWindow() {
    return cc.window();
  }

  /** Current datagram size, bytes. */
  public int datagramSize() {
    return mtud.current();
  }

  /** Bytes in flight. */
  public long bytesInFlight() {
    return board.inFlight();
  }

  /** The congestion controller's state and why sending last stopped, for logs. */
  public String congestionState() {
    return cc.toString() + " blocked[cwnd=" + blocked[0] + " pace=" + blocked[1] + " rwnd=" + blocked[2]
        + " sws=" + blocked[3] + " idle=" + blocked[4] + "] sndWnd=" + (sndWndEdge - sndNxt)
        + " unsent=" + (sendBuf.endOffset() - sndNxt) + " tlp=" + tailLossProbes + " spurious=" + spuriousRetransmissions;
  }

  /** Tail-loss probes sent. */
  private long tailLossProbes;
  /**
   * Retransmissions acknowledged sooner than half the minimum RTT after they were sent, so the
   * original had arrived: spurious (a diagnostic, like Linux's DSACK-based count).
   */
  private long spuriousRetransmissions;
  /** Time of the ACK being processed, ns. */
  private long ackTime;

  /** Counts of reasons sendData returned false: cwnd, pacing, receive window, SWS, nothing to send. */
  private final long[] blocked = new long[5];

  /** Data segments sent, retransmissions included. */
  public long segmentsSent() {
    return segmentsSent;
  }

  /** Data segments retransmitted. */
  public long segmentsRetransmitted() {
    return segmentsRetransmitted;
  }

  /** Retransmission timeouts that fired. */
  public long retransmissionTimeouts() {
    return retransmissionTimeouts;
  }

  /** Payload bytes sent (retransmissions included). */
  public long bytesSent() {
    return bytesSent;
  }

  /** New payload bytes received in order. */
  public long bytesReceived() {
    return bytesReceived;
  }

  /** Opaque application object (the adapter's channel). */
  public Object attachment() {
    return attachment;
  }

  /** Attaches an application object. */
  public void attach(Object o) {
    attachment = o;
  }

  /** Earliest timer deadline, ns, or Long.MAX_VALUE. */
  long nextTimeout() {
    return timers.next();
  }

  /** Our ISN as an unsigned value (tests). */
  long isnForTests() {
    return iss & 0xffffffffL;
  }

  /** Deadline of {@code t} for tests, or -1 when unarmed. */
  long timerDeadline(Timer t) {
    return timers.isSet(t) ? timers.get(t) : -1;
  }

  @Override
  public String toString() {
    return "PtcpConnection[" + Integer.toHexString(localCid) + "->" + remote + " " + state + "]";
  }

  // =====================================================================================
  // (C) application commands
  // =====================================================================================

  /**
   * Copies as many bytes of {@code src} as the send buffer holds; returns the count (possibly 0, then
   * a WRITABLE event follows). Throws if the output was shut down or the connection is closed.
   */
  public int write(ByteBuffer src) {
    if (state == PtcpState.CLOSED) {
      throw new IllegalStateException("connection closed");
    }
    if (finQueued || state == PtcpState.TIME_WAIT) {
      throw new IllegalStateException("output shut down");
    }
    int want = src.remaining();
    int n = sendBuf.append(src);
    if (n < want) {
      writeBlocked = true;
    }
    return n;
  }

  /** Moves received bytes into {@code dst}; returns the count, or -1 at end of stream. */
  public int read(ByteBuffer dst) {
    int n = recvBuf.read(dst);
    if (recvBuf.size() == 0) {
      readableSignalled = false;
    }
    if (n == 0 && finReceived && recvBuf.size() == 0) {
      return -1;
    }
    if (n > 0) {
      maybeWindowUpdate();
    }
    return n;
  }

  private void maybeWindowUpdate() {
    if (isClosed() || finReceived) {
      return;
    }
    long possible = rcvNxt + recvBuf.free();
    long mss = maxSegmentSeen;
    if (possible - rcvAdvEdge >= Math.min(cfg.receiveBufferSize / 4, 16 * mss)) {
      ackNow = true;
    }
  }

  /** Sends a FIN after all written bytes (half-close); reading continues. Idempotent. */
  public void shutdownOutput() {
    if (finQueued || state == PtcpState.CLOSED || state == PtcpState.TIME_WAIT) {
      return;
    }
    finQueued = true;
    finOffset = sendBuf.endOffset();
    if (state == PtcpState.ESTABLISHED) {
      state = PtcpState.FIN_WAIT_1;
    } else if (state == PtcpState.CLOSE_WAIT) {
      state = PtcpState.LAST_ACK;
    }
  }

  /**
   * Graceful close: shuts the output down (FIN after pending bytes) and discards further input. The
   * CLOSED event follows once both directions are finished.
   */
  public void close() {
    if (state == PtcpState.SYN_SENT) {
      abort();
      return;
    }
    inputDiscard = true;
    recvBuf.releaseTo(recvBuf.endOffset());
    asm.clear();
    shutdownOutput();
  }

  /** Abortive close: sends an RST and drops all state at once; the CLOSED event has no error. */
  public void abort() {
    if (state == PtcpState.CLOSED) {
      return;
    }
    if (state != PtcpState.TIME_WAIT && (state != PtcpState.SYN_SENT || remoteCid != 0)) {
      endpoint.queueReset(remote, remoteCid, localCid, SeqNum.toWire(iss, sndMax),
          SeqNum.toWire(irs, rcvNxt), PtcpErrorCode.CONNECTION_RESET);
    }
    boolean notify = state != PtcpState.TIME_WAIT;
    terminate();
    if (notify) {
      endpoint.emit(new PtcpEvent(PtcpEvent.Type.CLOSED, this, null));
    }
  }

  // =====================================================================================
  // (B) inputs
  // =====================================================================================

  /** Server side: adopts the parameters of a validated cookie ACK; the connection is ESTABLISHED. */
  void acceptHandshake(long now, Header h) {
    remoteCid = h.srcCid;
    irs = h.hsIsn;
    rcvNxt = 0;
    peerWscale = Math.min(14, h.hsWindowScale);
    mtud.capTo(Math.max(cfg.minDatagramSize, h.hsMaxDatagram));
    sndWndEdge = 0;
    established(now);
    ackNow = true;
  }

  private void established(long now) {
    lastProgress = now;
    timers.set(Timer.IDLE, now + cfg.idleTimeout);
    timers.set(Timer.KEEPALIVE, now + cfg.keepaliveInterval);
    if (cfg.mtuProbing) {
      timers.set(Timer.MTU_PROBE, now);
    }
    cc.onMssUpdate(mtud.current() - Header.FIXED_LENGTH);
  }

  /** Handles a decoded, checksummed packet addressed to this connection; payload at buf's position. */
  void onPacket(long now, Header h, ByteBuffer buf) {
    if (state == PtcpState.CLOSED) {
      return;
    }
    if (h.has(Header.RST)) {
      onReset(now, h);
      return;
    }
    if (state == PtcpState.SYN_SENT) {
      onSynSentPacket(now, h);
      return;
    }
    if (h.has(Header.SYN)) {
      ackNow = true; // duplicate SYN-ACK: our handshake ACK may be lost
      return;
    }
    if (!handshakeConfirmed) {
      handshakeConfirmed = true;
    }
    if (state == PtcpState.TIME_WAIT) {
      if (!quiet && (h.has(Header.FIN) || h.payloadLength > 0)) {
        ackNow = true; // the peer missed our last ACK
      }
      return;
    }
    timers.set(Timer.KEEPALIVE, now + cfg.keepaliveInterval);
    boolean progress = false;
    if (h.has(Header.ACK)) {
      progress |= processAck(now, h);
      if (state == PtcpState.CLOSED) {
        return;
      }
    }
    if (h.probeAck > 0 && h.probeAck == mtud.probeInFlight()) {
      if (mtud.onProbeAck(h.probeAck)) {
        cc.onMssUpdate(mtud.current() - Header.FIXED_LENGTH);
      }
      timers.set(Timer.MTU_PROBE, now);
    }
    if (h.has(Header.PROBE)) {
      probeAckToSend = h.datagramLength;
      ackNow = true;
    } else if (h.payloadLength > 0 || h.has(Header.FIN)) {
      progress |= processData(now, h, buf);
    }
    if (state == PtcpState.CLOSED) {
      return;
    }
    if (h.has(Header.PING)) {
      ackNow = true;
      if (board.isEmpty()) {
        progress = true;
      }
    }
    if (!progress && h.payloadLength == 0 && board.isEmpty()) {
      progress = true; // a pure ACK while we owe nothing: the peer is alive
    }
    if (progress && state != PtcpState.TIME_WAIT) {
      lastProgress = now;
      timers.set(Timer.IDLE, now + cfg.idleTimeout);
    }
    armRetransmit(now);
  }

  private void onSynSentPacket(long now, Header h) {
    if (!h.has(Header.SYN) || !h.has(Header.ACK) || !h.hasHandshake
        || h.ack != SeqNum.toWire(iss, 0)) {
      return;
    }
    remoteCid = h.srcCid;
    irs = h.seq;
    rcvNxt = 0;
    peerWscale = Math.min(14, h.hsWindowScale);
    mtud.capTo(Math.max(cfg.minDatagramSize, h.hsMaxDatagram));
    sndUna = 0;
    sndWndEdge = h.window; // the SYN-ACK's window is not scaled
    sndWl1 = -1;
    sndWl2 = 0;
    if (!synRetransmitted) {
      rtt.onSample(now - synSentTime);
    }
    rtt.resetBackoff();
    timers.stop(Timer.RETRANSMIT);
    state = PtcpState.ESTABLISHED;
    established(now);
    ackNow = true;
    endpoint.emit(new PtcpEvent(PtcpEvent.Type.CONNECTED, this, null));
    if (finQueued) {
      state = PtcpState.FIN_WAIT_1;
    }
    armRetransmit(now);
  }

  private void onReset(long now, Header h) {
    if (state == PtcpState.SYN_SENT) {
      if (h.has(Header.ACK) && h.ack == SeqNum.toWire(iss, 0)) {
        fail(PtcpErrorCode.CONNECTION_REFUSED, "connection refused by " + remote);
      }
      return;
    }
    if (state == PtcpState.TIME_WAIT) {
      terminate();
      return;
    }
    long segOff = SeqNum.toOffset(irs, h.seq, rcvNxt);
    if (segOff == rcvNxt && state == PtcpState.LAST_ACK && sndUna >= finOffset) {
      // All our data is acknowledged and the peer's FIN was received; only the ACK of our FIN is
      // missing, and the peer forgot the connection (its TIME_WAIT ended): a clean close.
      terminate();
      endpoint.emit(new PtcpEvent(PtcpEvent.Type.CLOSED, this, null));
    } else if (segOff == rcvNxt) {
      fail(PtcpErrorCode.CONNECTION_RESET, "reset by peer"
          + (h.errorCode > 0 ? " (" + PtcpErrorCode.fromCode(h.errorCode) + ")" : ""));
    } else if (segOff > rcvNxt && segOff < rcvNxt + Math.max(1, rcvAdvEdge - rcvNxt)) {
      challengeAck(now); // RFC 5961: a blind reset must guess RCV.NXT exactly
    }
  }

  /**
   * Answers a suspicious segment (in-window RST, ACK of unsent bytes) with an ACK, at most {@value
   * #CHALLENGE_ACKS_PER_SECOND} per second (RFC 5961 §7): each may be spoofed, and an answer with
   * SACK blocks is larger than the question.
   */
  private void challengeAck(long now) {
    if (challengeAcks.take(now)) {
      ackNow = true;
    } else {
      challengeAcksSuppressed++;
    }
  }

  /** Challenge ACKs not sent because of the rate limit. */
  public long challengeAcksSuppressed() {
    return challengeAcksSuppressed;
  }

  /** Out-of-order ranges held for reassembly (diagnostics and tests). */
  public int outOfOrderRanges() {
    return asm.rangeCount();
  }

  /** The peer reported a truncated datagram (size-too-big). */
  void onSizeTooBig(long now, Header h) {
    if (isClosed() || state == PtcpState.SYN_SENT) {
      return;
    }
    long off = SeqNum.toOffset(iss, h.stbSeq, sndUna);
    if (off < sndUna - 1 || off > sndMax) {
      return;
    }
    int sent = Math.max(mtud.current(), mtud.probeInFlight());
    if (mtud.onSizeTooBig(h.stbSize, sent)) {
      cc.onMssUpdate(mtud.current() - Header.FIXED_LENGTH);
      board.markOversizeLost(mtud.current());
    }
    if (cfg.mtuProbing && mtud.probeInFlight() == 0) {
      timers.set(Timer.MTU_PROBE, now);
    }
  }

  private boolean processAck(long now, Header h) {
    ackTime = now;
    long ackOff = SeqNum.toOffset(iss, h.ack, sndUna);
    if (ackOff > sndMax) {
      challengeAck(now); // RFC 5961 §5.2: an ACK of bytes never sent
      return false;
    }
    if (ackOff < sndUna) {
      return false;
    }
    long segOff = SeqNum.toOffset(irs, h.seq, rcvNxt);
    if (segOff > sndWl1 || (segOff == sndWl1 && ackOff >= sndWl2)) {
      sndWndEdge = ackOff + ((long) h.window << peerWscale);
      sndWl1 = segOff;
      sndWl2 = ackOff;
    }
    boolean progress = false;
    long inFlightBefore = board.inFlight();
    boolean appLimited = inFlightBefore + 2L * mss() < cc.window();
    sampleSent = Long.MIN_VALUE;
    sampleSentLatest = Long.MIN_VALUE;
    long newlyDelivered = 0;
    if (ackOff > sndUna) {
      newlyDelivered += board.onCumulativeAck(ackOff, onDelivered);
      sndUna = ackOff;
      sendBuf.releaseTo(Math.min(ackOff, sendBuf.endOffset()));
      rtt.resetBackoff();
      consecutiveRtos = 0;
      progress = true;
      tlpSent = false;
      if (!board.isEmpty()) {
        timers.set(Timer.RETRANSMIT, now + probeTimeout());
      }
      if (finSent && !finAcked && ackOff > finOffset) {
        finAcked = true;
      }
      if (writeBlocked && sendBuf.free() > 0 && !finQueued) {
        writeBlocked = false;
        endpoint.emit(writableEvent);
      }
    }
    for (int i = 0; i < h.sackCount; i++) {
      long l = SeqNum.toOffset(iss, h.sackLeft[i], sndUna);
      long r = SeqNum.toOffset(iss, h.sackRight[i], sndUna);
      if (l < r && r <= sndMax && l >= sndUna) {
        long n = board.onSack(l, r, onDelivered);
        if (n > 0) {
          newlyDelivered += n;
          progress = true;
        }
      }
    }
    if (sampleSent != Long.MIN_VALUE) {
      rtt.onSample(now - sampleSent);
    }
    if (newlyDelivered > 0) {
      cc.onAck(now, sampleSentLatest, newlyDelivered, rtt, appLimited);
      rateSample(now);
    }
    if (h.sackCount > 0) {
      long lostSent = board.detectLosses();
      if (lostSent != Long.MIN_VALUE) {
        cc.onCongestionEvent(now, lostSent, board.inFlight());
      }
    }
    if (finAcked) {
      onFinAcked(now);
    }
    return progress;
  }

  /** Send time of the newest never-retransmitted segment delivered by this ACK (RTT sample). */
  private long sampleSent;
  /** Send time of the newest segment delivered by this ACK. */
  private long sampleSentLatest;

  private void onDelivered(SentSegment s) {
    if (s.retransmitted && ackTime - s.sentTime < rtt.minRtt() / 2) {
      spuriousRetransmissions++;
    }
    if (!s.retransmitted && s.sentTime > sampleSent) {
      sampleSent = s.sentTime;
    }
    if (s.sentTime > sampleSentLatest) {
      sampleSentLatest = s.sentTime;
    }
    delivered += s.length;
    deliveredNow = true;
    if (!rateSegSet || s.sentTime > rateSentTime) {
      // Copied: the scoreboard reuses the record once the segment leaves it.
      rateSegSet = true;
      rateSentTime = s.sentTime;
      rateFirstSentTimeAtSend = s.firstSentTimeAtSend;
      rateDeliveredTimeAtSend = s.deliveredTimeAtSend;
      rateDeliveredAtSend = s.deliveredAtSend;
      rateAppLimitedAtSend = s.appLimitedAtSend;
    }
  }

  /** {@link #onDelivered} as a scoreboard callback, created once. */
  private final Scoreboard.Delivered onDelivered = this::onDelivered;

  /** Bytes delivered to the peer so far (delivery-rate estimation). */
  private long delivered;
  /** Time of the latest delivery, ns. */
  private long deliveredTime;
  /** Send time of the newest segment delivered so far, ns. */
  private long firstSentTime;
  private boolean deliveredNow;
  /** Whether a segment was delivered since the last rate sample; then the rate fields below are its. */
  private boolean rateSegSet;
  /** Send time, and the rate fields stamped at send, of the newest-sent segment delivered since. */
  private long rateSentTime;
  private long rateFirstSentTimeAtSend;
  private long rateDeliveredTimeAtSend;
  private long rateDeliveredAtSend;
  private boolean rateAppLimitedAtSend;

  private void stampForRate(SentSegment s, long now) {
    if (board.inFlight() <= s.length || deliveredTime == 0) {
      deliveredTime = now;
      firstSentTime = now;
    }
    s.deliveredAtSend = delivered;
    s.deliveredTimeAtSend = deliveredTime;
    s.firstSentTimeAtSend = firstSentTime;
    s.appLimitedAtSend = sendBuf.endOffset() - sndNxt < mss() && board.inFlight() < cc.window() / 2;
  }

  private void rateSample(long now) {
    if (!deliveredNow || !rateSegSet) {
      return;
    }
    deliveredNow = false;
    rateSegSet = false;
    deliveredTime = now;
    firstSentTime = rateSentTime;
    long sendElapsed = rateSentTime - rateFirstSentTimeAtSend;
    long ackElapsed = now - rateDeliveredTimeAtSend;
    long interval = Math.max(sendElapsed, ackElapsed);
    if (interval <= 0 || interval < rtt.minRtt() / 2) {
      return;
    }
    double rate = (delivered - rateDeliveredAtSend) * 1e9 / interval;
    cc.onDeliveryRate(now, rate, rateDeliveredAtSend, delivered, rateAppLimitedAtSend, rtt, board.inFlight());
  }

  private void onFinAcked(long now) {
    switch (state) {
      case FIN_WAIT_1 -> state = PtcpState.FIN_WAIT_2;
      case CLOSING -> enterTimeWait(now);
      case LAST_ACK -> {
        terminate();
        endpoint.emit(new PtcpEvent(PtcpEvent.Type.CLOSED, this, null));
      }
      default -> { }
    }
  }

  private boolean processData(long now, Header h, ByteBuffer buf) {
    if (state != PtcpState.ESTABLISHED && state != PtcpState.FIN_WAIT_1
        && state != PtcpState.FIN_WAIT_2) {
      ackNow = true; // data after the peer's FIN: a retransmission; re-acknowledge
      return false;
    }
    long segOff = SeqNum.toOffset(irs, h.seq, rcvNxt);
    int len = h.payloadLength;
    long end = segOff + len;
    // While discarding (after close) the window advertised stays the limit: bytes beyond it would
    // only feed the assembler ranges a hostile peer can scatter up to 2 GiB ahead.
    long limit = inputDiscard ? Math.max(rcvAdvEdge, rcvNxt + cfg.receiveBufferSize) : rcvNxt + recvBuf.free();
    boolean progress = false;
    int payloadPos = buf.position();
    if (len > 0) {
      maxSegmentSeen = Math.max(maxSegmentSeen, len);
      if (end <= rcvNxt || segOff >= limit) {
        ackNow = true; // duplicate or outside the window
      } else {
        long start = Math.max(segOff, rcvNxt);
        long stop = Math.min(end, limit);
        if (start == rcvNxt) {
          deliver(buf, payloadPos + (int) (start - segOff), (int) (stop - start));
          progress = true;
          if (!asm.isEmpty()) {
            drainAssembler();
            ackNow = true; // a hole was filled: tell the sender at once
          }
          unackedBytes += len;
          if (h.has(Header.PSH) || unackedBytes >= (long) cfg.ackEveryFullSegments * maxSegmentSeen) {
            ackNow = true;
          } else if (!timers.isSet(Timer.DELAYED_ACK)) {
            timers.set(Timer.DELAYED_ACK, now + cfg.delayedAck);
          }
        } else {
          int n = (int) (stop - start);
          ByteBuffer src = inputDiscard ? null : buf;
          if (asm.insert(start, src, payloadPos + (int) (start - segOff), n) > 0) {
            progress = true;
          }
          ackNow = true; // out of order: immediate ACK with SACK
        }
      }
    }
    if (h.has(Header.FIN) && end <= limit + 1) {
      if (peerFinOffset < 0) {
        peerFinOffset = end;
      }
      ackNow = true;
    }
    if (peerFinOffset >= 0 && !finReceived && rcvNxt == peerFinOffset) {
      finReceived = true;
      rcvNxt++;
      progress = true;
      ackNow = true;
      asm.clear();
      endpoint.emit(new PtcpEvent(PtcpEvent.Type.INPUT_SHUTDOWN, this, null));
      switch (state) {
        case ESTABLISHED -> state = PtcpState.CLOSE_WAIT;
        case FIN_WAIT_1 -> state = PtcpState.CLOSING;
        case FIN_WAIT_2 -> enterTimeWait(now);
        default -> { }
      }
    }
    if (progress && recvBuf.size() > 0 && !readableSignalled) {
      readableSignalled = true;
      endpoint.emit(readableEvent);
    }
    return progress;
  }

  private void deliver(ByteBuffer buf, int pos, int len) {
    if (!inputDiscard) {
      recvBuf.append(buf, pos, len);
    }
    rcvNxt += len;
    bytesReceived += len;
  }

  private void drainAssembler() {
    long end = asm.drain(rcvNxt);
    int len = (int) (end - rcvNxt);
    if (!inputDiscard) {
      recvBuf.commit(len); // the bytes were stored ahead by the assembler
    }
    rcvNxt = end;
    bytesReceived += len;
  }

  private void enterTimeWait(long now) {
    state = PtcpState.TIME_WAIT;
    board.clear();
    sendBuf.release();
    timers.stopAll();
    timers.set(Timer.TIME_WAIT, now + cfg.timeWait);
    endpoint.emit(new PtcpEvent(PtcpEvent.Type.CLOSED, this, null));
  }

  private void fail(PtcpErrorCode code, String message) {
    terminate();
    endpoint.emit(new PtcpEvent(PtcpEvent.Type.CLOSED, this,
        new PtcpException(code, localCid, message)));
  }

  /** Drops all state and leaves the endpoint's table; no event. */
  private void terminate() {
    state = PtcpState.CLOSED;
    timers.stopAll();
    board.clear();
    sendBuf.release();
    asm.clear();
    endpoint.remove(this);
  }

  /** Fails the connection because its endpoint is going away. */
  void endpointClosed() {
    if (state == PtcpState.TIME_WAIT) {
      terminate();
    } else if (state != PtcpState.CLOSED) {
      abort();
    }
  }

  /** Fires every expired timer. */
  void handleTimeout(long now) {
    if (timers.expired(Timer.IDLE, now)) {
      if (state == PtcpState.SYN_SENT) {
        fail(PtcpErrorCode.CONNECT_TIMEOUT, "no answer from " + remote + " within "
            + cfg.connectTimeout / 1_000_000 + " ms");
      } else {
        PtcpException e = new PtcpException(PtcpErrorCode.IDLE_TIMEOUT, localCid,
            "nothing heard from " + remote + " for " + (now - lastProgress) / 1_000_000 + " ms");
        // Linger quietly for one more idle period: a peer that still hears us now and then gets
        // silence rather than an RST, so it times out too instead of seeing a reset.
        state = PtcpState.TIME_WAIT;
        quiet = true;
        board.clear();
        sendBuf.release();
        asm.clear();
        timers.stopAll();
        timers.set(Timer.TIME_WAIT, now + cfg.idleTimeout);
        endpoint.emit(new PtcpEvent(PtcpEvent.Type.CLOSED, this, e));
      }
      return;
    }
    if (timers.expired(Timer.TIME_WAIT, now)) {
      terminate();
      return;
    }
    if (timers.expired(Timer.RETRANSMIT, now)) {
      timers.stop(Timer.RETRANSMIT);
      onRetransmitTimeout(now);
    }
    if (timers.expired(Timer.DELAYED_ACK, now)) {
      timers.stop(Timer.DELAYED_ACK);
      ackNow = true;
    }
    if (timers.expired(Timer.PACING, now)) {
      timers.stop(Timer.PACING);
    }
    if (timers.expired(Timer.KEEPALIVE, now)) {
      timers.set(Timer.KEEPALIVE, now + cfg.keepaliveInterval);
      if (board.isEmpty()) {
        pingPending = true;
      }
    }
    if (timers.expired(Timer.MTU_PROBE, now)) {
      timers.stop(Timer.MTU_PROBE);
      if (mtud.probeInFlight() != 0) {
        if (mtud.onProbeTimeout()) {
          probePending = mtud.probeInFlight();
        } else {
          timers.set(Timer.MTU_PROBE, now);
        }
      } else {
        probePending = mtud.nextProbe();
      }
    }
  }

  private void onRetransmitTimeout(long now) {
    if (state == PtcpState.SYN_SENT) {
      synPending = true;
      synRetransmitted = true;
      rtt.backoff();
      return;
    }
    if (!board.isEmpty() && !tlpSent && rtt.hasSample() && rtt.backoffCount() == 0) {
      // Tail-loss probe (RFC 8985): resend the newest segment to elicit a SACK that exposes any
      // loss, instead of waiting for the RTO and collapsing the window.
      tlpSent = true;
      tailLossProbes++;
      board.markLastLost();
      timers.set(Timer.RETRANSMIT, now + rtt.rto());
      return;
    }
    if (!board.isEmpty()) {
      retransmissionTimeouts++;
      consecutiveRtos++;
      rtt.backoff();
      if (consecutiveRtos >= 3 && mtud.onBlackHole()) {
        cc.onMssUpdate(mtud.current() - Header.FIXED_LENGTH);
        if (cfg.mtuProbing) {
          timers.set(Timer.MTU_PROBE, now + rtt.rto());
        }
      }
      board.markAllLost();
      cc.onRetransmissionTimeout(now);
      timers.set(Timer.RETRANSMIT, now + rtt.rto());
    } else if (zeroWindowBlocked()) {
      pingPending = true;
      rtt.backoff();
      timers.set(Timer.RETRANSMIT, now + rtt.rto());
    } else if (client && !handshakeConfirmed) {
      ackNow = true;
      rtt.backoff();
      timers.set(Timer.RETRANSMIT, now + rtt.rto());
    }
  }

  /**
   * The first data timer after progress: a tail-loss probe after 2 SRTT (plus the peer's delayed-ACK
   * allowance when one segment is outstanding), never later than the RTO.
   */
  private long probeTimeout() {
    if (!rtt.hasSample() || rtt.backoffCount() > 0 || tlpSent) {
      return rtt.rto();
    }
    long pto = Math.max(2 * rtt.srtt(), 2_000_000L);
    if (board.size() <= 1) {
      pto += cfg.delayedAck;
    }
    return Math.min(pto, rtt.rto());
  }

  private boolean zeroWindowBlocked() {
    return sendBuf.endOffset() > sndNxt && sndNxt >= sndWndEdge;
  }

  private void armRetransmit(long now) {
    if (state == PtcpState.SYN_SENT || isClosed()) {
      return;
    }
    boolean need = !board.isEmpty() || zeroWindowBlocked() || (client && !handshakeConfirmed);
    if (!need) {
      timers.stop(Timer.RETRANSMIT);
    } else if (!timers.isSet(Timer.RETRANSMIT)) {
      timers.set(Timer.RETRANSMIT, now + rtt.rto());
    }
  }

  // =====================================================================================
  // (D) outputs
  // =====================================================================================

  private int mss() {
    return mtud.current() - Header.FIXED_LENGTH;
  }

  private boolean canSend() {
    return state == PtcpState.ESTABLISHED || state == PtcpState.CLOSE_WAIT
        || state == PtcpState.FIN_WAIT_1 || state == PtcpState.LAST_ACK
        || state == PtcpState.CLOSING;
  }

  private void fillHeader(Header h, int flags, long seqOffset) {
    h.clear();
    h.flags = flags | Header.ACK;
    h.dstCid = remoteCid;
    h.srcCid = localCid;
    h.seq = SeqNum.toWire(iss, seqOffset);
    h.ack = SeqNum.toWire(irs, rcvNxt);
    long free = inputDiscard ? cfg.receiveBufferSize : recvBuf.free();
    long edge = Math.max(rcvAdvEdge, rcvNxt + free);
    long wnd = Math.min(edge - rcvNxt, 0xffffL << localWscale);
    h.window = (int) (wnd >> localWscale);
    rcvAdvEdge = Math.max(rcvAdvEdge, rcvNxt + ((long) h.window << localWscale));
    if (!asm.isEmpty()) {
      long[] l = sackL;
      long[] r = sackR;
      int n = asm.sackBlocks(l, r, Header.MAX_SACK_BLOCKS);
      for (int i = 0; i < n; i++) {
        h.sackLeft[i] = SeqNum.toWire(irs, l[i]);
        h.sackRight[i] = SeqNum.toWire(irs, r[i]);
      }
      h.sackCount = n;
    }
    if (client && !handshakeConfirmed) {
      h.hasHandshake = true;
      h.hsIsn = iss;
      h.hsMaxDatagram = maxDatagram;
      h.hsWindowScale = localWscale;
    }
    if (probeAckToSend > 0) {
      h.probeAck = probeAckToSend;
    }
  }

  private final long[] sackL = new long[Header.MAX_SACK_BLOCKS];
  private final long[] sackR = new long[Header.MAX_SACK_BLOCKS];

  private void sent(Header h) {
    ackNow = false;
    unackedBytes = 0;
    probeAckToSend = 0;
    timers.stop(Timer.DELAYED_ACK);
  }

  /** Writes at most one datagram into {@code out}; returns false when there is nothing to send. */
  boolean pollTransmit(long now, ByteBuffer out, Header h, CRC32C crc) {
    if (state == PtcpState.CLOSED) {
      return false;
    }
    int start = out.position();
    if (state == PtcpState.SYN_SENT) {
      if (!synPending) {
        return false;
      }
      h.clear();
      h.flags = Header.SYN;
      h.srcCid = localCid;
      h.seq = iss;
      h.window = Math.min(0xffff, cfg.receiveBufferSize);
      h.hasHandshake = true;
      h.hsIsn = iss;
      h.hsMaxDatagram = maxDatagram;
      h.hsWindowScale = localWscale;
      h.payloadLength = 0;
      h.encode(out);
      Header.seal(out, start, crc);
      synPending = false;
      if (!synRetransmitted) {
        synSentTime = now;
      }
      timers.set(Timer.RETRANSMIT, now + rtt.rto());
      return true;
    }
    if (state == PtcpState.TIME_WAIT) {
      if (!ackNow) {
        return false;
      }
      fillHeader(h, 0, sndMax);
      return finishControl(h, out, start, crc, 0);
    }
    if (probePending > 0 && canSend()) {
      int size = probePending;
      probePending = 0;
      if (mtud.onProbeSent()) {
        fillHeader(h, Header.PROBE, sndNxt);
        int pad = size - h.encodedLength();
        if (pad > 0 && out.remaining() >= size) {
          timers.set(Timer.MTU_PROBE, now + Math.min(rtt.rto(), 2 * rtt.srtt() + 20_000_000L));
          return finishControl(h, out, start, crc, pad);
        }
      }
      timers.set(Timer.MTU_PROBE, now);
    }
    if (canSend() && sendData(now, out, h, crc, start)) {
      return true;
    }
    if (pingPending) {
      pingPending = false;
      fillHeader(h, Header.PING, sndNxt);
      return finishControl(h, out, start, crc, 0);
    }
    if (ackNow) {
      fillHeader(h, 0, sndNxt);
      return finishControl(h, out, start, crc, 0);
    }
    armRetransmit(now);
    return false;
  }

  private boolean finishControl(Header h, ByteBuffer out, int start, CRC32C crc, int padding) {
    h.payloadLength = padding;
    h.encode(out);
    for (int i = 0; i < padding; i++) {
      out.put((byte) 0);
    }
    Header.seal(out, start, crc);
    sent(h);
    return true;
  }

  private boolean sendData(long now, ByteBuffer out, Header h, CRC32C crc, int start) {
    int size = mtud.current();
    SentSegment lost = null;
    if (board.lostCount() > 0) {
      fillHeader(h, 0, 0);
      int maxPayload = size - h.encodedLength();
      lost = board.firstLost(maxPayload);
    }
    if (lost != null) {
      int dsize = lost.length + h.encodedLength();
      if (!cwndAllows(lost.length)) {
        blocked[0]++;
        return false;
      }
      if (!paceAllows(now, dsize)) {
        blocked[1]++;
        return false;
      }
      fillHeader(h, lost.fin ? Header.FIN : 0, lost.start);
      h.flags |= Header.PSH;
      writeSegment(h, out, start, crc, lost.start, lost.length);
      board.onRetransmit(lost, now, dsize);
      stampForRate(lost, now);
      segmentsRetransmitted++;
      afterDataSent(now, lost.length, dsize);
      return true;
    }
    long end = sendBuf.endOffset();
    long limit = Math.min(end, sndWndEdge);
    long avail = limit - sndNxt;
    boolean finDue = finQueued && !finSent;
    if (avail <= 0 && !(finDue && sndNxt == finOffset)) {
      blocked[end > sndNxt ? 2 : 4]++;
      return false;
    }
    fillHeader(h, 0, sndNxt);
    int maxPayload = size - h.encodedLength();
    int len = (int) Math.max(0, Math.min(avail, maxPayload));
    if (len < maxPayload && sndNxt + len < end && !board.isEmpty()) {
      blocked[3]++;
      return false; // sender-side silly-window avoidance: wait for a larger window
    }
    if (!cwndAllows(len)) {
      blocked[0]++;
      return false;
    }
    int dsize = len + h.encodedLength();
    if (len > 0 && !paceAllows(now, dsize)) {
      blocked[1]++;
      return false;
    }
    boolean fin = finDue && sndNxt + len == finOffset;
    if (fin) {
      h.flags |= Header.FIN;
    }
    if (sndNxt + len == end) {
      h.flags |= Header.PSH;
    }
    writeSegment(h, out, start, crc, sndNxt, len);
    if (board.isEmpty()) {
      // RFC 6298 5.1: start the timer for this data (it may have been running as a persist or
      // handshake timer).
      timers.set(Timer.RETRANSMIT, now + probeTimeout());
    }
    stampForRate(board.add(sndNxt, len, fin, now, dsize), now);
    sndNxt += len;
    sndMax = sndNxt + (fin ? 1 : 0);
    if (fin) {
      finSent = true;
    }
    afterDataSent(now, len, dsize);
    return true;
  }

  private void writeSegment(Header h, ByteBuffer out, int start, CRC32C crc, long offset, int len) {
    h.payloadLength = len;
    h.encode(out);
    if (len > 0) {
      sendBuf.copyTo(offset, len, out);
    }
    Header.seal(out, start, crc);
    sent(h);
  }

  private void afterDataSent(long now, int len, int dsize) {
    segmentsSent++;
    bytesSent += len;
    cc.onSent(now, len);
    if (cfg.pacing) {
      pacer.onSent(dsize);
    }
    if (!timers.isSet(Timer.RETRANSMIT)) {
      timers.set(Timer.RETRANSMIT, now + rtt.rto());
    }
  }

  private boolean cwndAllows(int len) {
    return board.inFlight() == 0 || board.inFlight() + len <= cc.window();
  }

  private boolean paceAllows(long now, int dsize) {
    if (!cfg.pacing || !rtt.hasSample()) {
      return true;
    }
    double modelRate = cc.pacingRate();
    long d = modelRate > 0
        ? pacer.delay(now, dsize, cc.window(), rtt.srtt(), mtud.current(), modelRate / 1e9)
        : pacer.delay(now, dsize, cc.window(), rtt.srtt(), mtud.current(), cc.inSlowStart());
    if (d > 0) {
      timers.set(Timer.PACING, now + d);
      return false;
    }
    return true;
  }
}
