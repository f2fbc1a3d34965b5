package org.q2q.ptcp;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.ToIntFunction;
import java.util.random.RandomGenerator;
import java.util.zip.CRC32C;
import org.q2q.ptcp.internal.Header;
import org.q2q.ptcp.internal.SeqNum;
import org.q2q.ptcp.internal.SipHash;
import org.q2q.ptcp.internal.TokenBucket;

/**
 * The sans-IO PTCP core for one UDP socket: demultiplexes datagrams to connections by connection id,
 * accepts inbound connections when listening, and answers everything else statelessly.
 *
 * <ul>
 *   <li>Inputs (B): {@link #handleDatagram}, {@link #handleTimeout}; commands (C): {@link #connect},
 *       {@link #listen}, {@link #close}, plus each {@link PtcpConnection}'s commands.
 *   <li>Outputs (D): {@link #pollTransmit} until null, {@link #pollTimeout}, {@link #pollEvent}
 *       until null. Call them after every input or command.
 *   <li>SYNs are answered with a SYN cookie (the server's ISN and connection id are keyed hashes of
 *       the client's address, id and ISN), so spoofed SYNs cost no state; the connection is created
 *       when a handshake ACK proves the client saw the cookie.
 *   <li>Datagrams for unknown connections get a rate-limited RST; truncated datagrams a rate-limited
 *       size-too-big (STB) report.
 * </ul>
 *
 * <p>Time is whatever monotonic nanosecond clock the caller passes; randomness comes from the injected
 * generator. Not thread-safe: one thread (the adapter's event loop) drives it.
 */
public final class PtcpEndpoint {
  private static final long COOKIE_SLOT = 64_000_000_000L;
  private static final int MAX_CONTROL_QUEUE = 1024;
  private long connectionsRefused;
  private long synAcksSuppressed;
  /** Connections of one endpoint at most (both directions). */
  public static final int MAX_CONNECTIONS = 4096;
  /** Accepted connections from one IP address at most. */
  public static final int MAX_CONNECTIONS_PER_HOST = 64;
  /**
   * SYN-ACKs sent per second at most (burst as many): a SYN may come from a spoofed address, and
   * each SYN-ACK is as large as the SYN, so a flood is reflected at no more than this rate.
   */
  public static final int MAX_SYN_ACKS_PER_SECOND = 1000;

  private final PtcpConfig config;
  private final RandomGenerator random;
  private final CRC32C crc = new CRC32C();
  private final Header rx = new Header();
  private final Header tx = new Header();
  private final ConnectionTable byCid = new ConnectionTable();
  private final ArrayList<PtcpConnection> conns = new ArrayList<>();
  private final ArrayDeque<PtcpEvent> events = new ArrayDeque<>();
  private final ArrayDeque<Control> controls = new ArrayDeque<>();
  private final SipHash sip;
  private final ByteBuffer controlScratch = ByteBuffer.allocate(256);
  private boolean listening;
  private boolean closed;
  /** Round-robin position for transmit fairness. */
  private int rr;
  /** Tokens for RST/STB answers. */
  /** RST and STB replies to datagrams of unknown connections ({@link PtcpConfig#resetsPerSecond()}). */
  private final TokenBucket resets;
  /** SYN-ACKs: each answers a possibly spoofed SYN, so reflection is capped. */
  private final TokenBucket synAcks = new TokenBucket(MAX_SYN_ACKS_PER_SECOND, MAX_SYN_ACKS_PER_SECOND);
  /** Connections per peer IP address (the per-host cap without a scan). */
  private final java.util.HashMap<java.net.InetAddress, Integer> perHost = new java.util.HashMap<>();
  private long datagramsDropped;
  /** Largest UDP payload the local link towards an address carries, or 0 when routed/unknown. */
  private ToIntFunction<InetSocketAddress> linkMtu = a -> 0;
  /** Upper bound of every datagram pollTransmit may write (grows with link ceilings in use). */
  private int largestDatagram;

  /** Largest UDP payload over IPv4 (65,535 minus IP and UDP headers), bytes. */
  public static final int MAX_UDP_PAYLOAD = 65_507;

  private record Control(InetSocketAddress dest, byte[] bytes) {}

  /** Creates an endpoint; {@code random} supplies ISNs, connection ids and the cookie key. */
  public PtcpEndpoint(PtcpConfig config, RandomGenerator random) {
    this.config = config;
    this.random = random;
    this.sip = new SipHash(random.nextLong(), random.nextLong());
    this.resets = new TokenBucket(config.resetsPerSecond, config.resetsPerSecond);
    this.largestDatagram = config.maxDatagramSize;
  }

  /**
   * Tells the endpoint the largest UDP payload the local link towards an address carries (interface
   * MTU minus IP and UDP headers) for peers on this host or a directly attached link, and 0 for
   * routed or unknown destinations. With {@link PtcpConfig#linkMtuProbing()} such peers may probe up
   * to that size (at most 65,507) instead of {@link PtcpConfig#maxDatagramSize()}. The function is
   * called on connect and on each SYN, so it must be cheap and must not block.
   */
  public void linkMtu(ToIntFunction<InetSocketAddress> f) {
    this.linkMtu = f == null ? a -> 0 : f;
  }

  /** The largest datagram this endpoint lets a connection to {@code remote} send or receive. */
  int datagramCeiling(InetSocketAddress remote) {
    int max = config.maxDatagramSize;
    if (config.linkMtuProbing) {
      int link = Math.min(linkMtu.applyAsInt(remote), MAX_UDP_PAYLOAD);
      if (link > max) {
        max = link;
        largestDatagram = Math.max(largestDatagram, link);
      }
    }
    return max;
  }

  /**
   * An upper bound of the size of the next datagram {@link #pollTransmit} writes: the configured
   * maximum, or more once a connection to a peer on a large-MTU link (e.g. loopback) exists.
   */
  public int maxDatagramSize() {
    return largestDatagram;
  }

  /** The configuration. */
  public PtcpConfig config() {
    return config;
  }

  /** Starts or stops accepting inbound connections. */
  public void listen(boolean on) {
    listening = on;
  }

  /** Whether inbound connections are accepted. */
  public boolean isListening() {
    return listening;
  }

  /** Live connections (including TIME_WAIT records). */
  public List<PtcpConnection> connections() {
    return List.copyOf(conns);
  }

  /** Number of live connection records. */
  public int connectionCount() {
    return conns.size();
  }

  /** Datagrams dropped as corrupt, truncated, misaddressed or unknown. */
  public long datagramsDropped() {
    return datagramsDropped;
  }

  // ---- (C) commands ----

  /** Opens a connection to {@code remote}; CONNECTED or CLOSED (with error) follows as an event. */
  public PtcpConnection connect(long now, InetSocketAddress remote) {
    if (closed) {
      throw new IllegalStateException("endpoint closed");
    }
    int cid;
    do {
      cid = random.nextInt();
    } while (cid == 0 || byCid.containsKey(cid));
    int iss = config.initialSequenceNumber != null
        ? (int) (long) config.initialSequenceNumber : random.nextInt();
    PtcpConnection c = new PtcpConnection(this, config, cid, remote, true, iss, now, datagramCeiling(remote));
    add(c);
    return c;
  }

  /** Aborts every connection (each peer gets an RST) and refuses further use. */
  public void close() {
    for (PtcpConnection c : List.copyOf(conns)) {
      c.endpointClosed();
    }
    listening = false;
    closed = true;
  }

  // ---- (B) inputs ----

  /**
   * Handles one received datagram (between {@code datagram}'s position and limit; the position may
   * move, the contents are not modified). Returns false if it is not a PTCP datagram at all (so the
   * caller may hand it to another protocol, e.g. STUN), true if PTCP consumed or dropped it.
   */
  public boolean handleDatagram(long now, InetSocketAddress source, ByteBuffer datagram) {
    int status = rx.decode(datagram, crc);
    if (status == Header.NOT_PTCP) {
      return false;
    }
    if (status == Header.CORRUPT || closed) {
      datagramsDropped++;
      return true;
    }
    if (status == Header.TRUNCATED) {
      datagramsDropped++;
      PtcpConnection c = byCid.get(rx.dstCid);
      if (c != null && c.remoteAddress().equals(source) && takeToken(now)) {
        tx.clear();
        tx.flags = Header.STB;
        tx.dstCid = rx.srcCid;
        tx.srcCid = rx.dstCid;
        tx.stbSize = rx.datagramLength;
        tx.stbSeq = rx.seq;
        queueControl(source, tx);
      }
      return true;
    }
    if (rx.has(Header.STB)) {
      PtcpConnection c = byCid.get(rx.dstCid);
      if (c != null && c.remoteAddress().equals(source) && rx.stbSize >= 0) {
        c.onSizeTooBig(now, rx);
      }
      return true;
    }
    if (rx.dstCid == 0) {
      if (rx.has(Header.SYN) && !rx.has(Header.ACK) && !rx.has(Header.RST) && rx.hasHandshake) {
        onSyn(now, source);
      } else {
        datagramsDropped++;
      }
      return true;
    }
    PtcpConnection c = byCid.get(rx.dstCid);
    if (c != null) {
      if (!c.remoteAddress().equals(source)) {
        datagramsDropped++;
        return true;
      }
      c.onPacket(now, rx, datagram);
      return true;
    }
    if (rx.has(Header.RST)) {
      return true;
    }
    if (listening && rx.has(Header.ACK) && rx.hasHandshake && !rx.has(Header.SYN)
        && cookieValid(now, source)) {
      if (conns.size() >= MAX_CONNECTIONS || fromSameHost(source) >= MAX_CONNECTIONS_PER_HOST) {
        connectionsRefused++; // a real peer's handshake retries; a flood from one host stops here
        datagramsDropped++;
        return true;
      }
      PtcpConnection n = new PtcpConnection(this, config, rx.dstCid, source, false,
          rx.ack - 1, now, datagramCeiling(source));
      add(n);
      n.acceptHandshake(now, rx);
      emit(new PtcpEvent(PtcpEvent.Type.ACCEPTED, n, null));
      n.onPacket(now, rx, datagram);
      return true;
    }
    datagramsDropped++;
    if (takeToken(now)) {
      int ack = rx.seq + rx.payloadLength + (rx.has(Header.FIN) ? 1 : 0);
      queueReset(source, rx.srcCid, rx.dstCid, rx.has(Header.ACK) ? rx.ack : 0, ack,
          PtcpErrorCode.NONE);
    }
    return true;
  }

  private void onSyn(long now, InetSocketAddress source) {
    if (!listening) {
      if (takeToken(now)) {
        queueReset(source, rx.srcCid, 0, 0, rx.seq + 1, PtcpErrorCode.CONNECTION_REFUSED);
      }
      return;
    }
    if (!synAcks.take(now)) {
      synAcksSuppressed++; // a real client's SYN is retransmitted; a flood reflects no further
      return;
    }
    int clientCid = rx.srcCid;
    int clientIsn = rx.hsIsn;
    int serverCid = cookieCid(source, clientCid, clientIsn);
    int serverIsn = cookieIsn(source, clientCid, clientIsn, now / COOKIE_SLOT);
    int recvBuf = config.receiveBufferSize;
    tx.clear();
    tx.flags = Header.SYN | Header.ACK;
    tx.dstCid = clientCid;
    tx.srcCid = serverCid;
    tx.seq = serverIsn;
    tx.ack = clientIsn + 1;
    tx.window = Math.min(0xffff, recvBuf);
    tx.hasHandshake = true;
    tx.hsIsn = serverIsn;
    tx.hsMaxDatagram = datagramCeiling(source);
    tx.hsWindowScale = PtcpConnection.windowScaleFor(recvBuf);
    queueControl(source, tx);
  }

  private boolean cookieValid(long now, InetSocketAddress source) {
    int clientIsn = rx.hsIsn;
    if (rx.seq - clientIsn - 1 < 0 || cookieCid(source, rx.srcCid, clientIsn) != rx.dstCid) {
      return false;
    }
    int serverIsn = rx.ack - 1;
    long slot = now / COOKIE_SLOT;
    return cookieIsn(source, rx.srcCid, clientIsn, slot) == serverIsn
        || cookieIsn(source, rx.srcCid, clientIsn, slot - 1) == serverIsn;
  }

  private long[] addressWords(InetSocketAddress a, long... extra) {
    byte[] ip = a.getAddress().getAddress();
    long hi = 0;
    long lo = 0;
    for (int i = 0; i < ip.length; i++) {
      if (i < 8) {
        hi = (hi << 8) | (ip[i] & 0xff);
      } else {
        lo = (lo << 8) | (ip[i] & 0xff);
      }
    }
    long[] w = new long[3 + extra.length];
    w[0] = hi;
    w[1] = lo;
    w[2] = a.getPort();
    System.arraycopy(extra, 0, w, 3, extra.length);
    return w;
  }

  private int cookieCid(InetSocketAddress source, int clientCid, int clientIsn) {
    int cid = (int) sip.hash(addressWords(source, 0x636964L, clientCid, clientIsn));
    return cid == 0 ? 1 : cid;
  }

  private int cookieIsn(InetSocketAddress source, int clientCid, int clientIsn, long slot) {
    if (config.initialSequenceNumber != null) {
      return (int) (long) config.initialSequenceNumber; // tests only: fixed ISN
    }
    long h = sip.hash(addressWords(source, 0x69736eL, clientCid, clientIsn, slot));
    return (int) (((slot & 7) << 29) | (h & 0x1fffffffL));
  }

  /** Fires the expired timers of every connection. */
  public void handleTimeout(long now) {
    for (int i = conns.size() - 1; i >= 0; i--) {
      if (i >= conns.size()) {
        continue;
      }
      PtcpConnection c = conns.get(i);
      if (c.nextTimeout() <= now) {
        c.handleTimeout(now);
      }
    }
  }

  // ---- (D) outputs ----

  /**
   * Writes the next datagram to send into {@code out} (from its position; the position is left after
   * the datagram) and returns its destination, or returns null when nothing is due now. {@code out}
   * needs at least {@link #maxDatagramSize()} bytes remaining.
   */
  public InetSocketAddress pollTransmit(long now, ByteBuffer out) {
    Control ctl = controls.poll();
    if (ctl != null) {
      out.put(ctl.bytes);
      return ctl.dest;
    }
    int n = conns.size();
    for (int i = 0; i < n; i++) {
      int idx = (rr + i) % n;
      PtcpConnection c = conns.get(idx);
      if (c.pollTransmit(now, out, tx, crc)) {
        rr = (idx + 1) % Math.max(1, conns.size());
        return c.remoteAddress();
      }
    }
    return null;
  }

  /** The earliest timer deadline of any connection, ns, or empty. */
  public OptionalLong pollTimeout() {
    long min = Long.MAX_VALUE;
    for (int i = 0, n = conns.size(); i < n; i++) {
      min = Math.min(min, conns.get(i).nextTimeout());
    }
    return min == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(min);
  }

  /** The next application event, or null. */
  public PtcpEvent pollEvent() {
    return events.poll();
  }

  // ---- internal hooks used by PtcpConnection ----

  void emit(PtcpEvent e) {
    events.add(e);
  }

  /** Connections with peers at {@code source}'s IP address. */
  private int fromSameHost(InetSocketAddress source) {
    return perHost.getOrDefault(source.getAddress(), 0);
  }

  /** SYNs not answered because SYN-ACKs exceeded {@link #MAX_SYN_ACKS_PER_SECOND}. */
  public long synAcksSuppressed() {
    return synAcksSuppressed;
  }


  /** Handshakes refused because of {@link #MAX_CONNECTIONS} or {@link #MAX_CONNECTIONS_PER_HOST}. */
  public long connectionsRefused() {
    return connectionsRefused;
  }

  private void add(PtcpConnection c) {
    byCid.put(c.localConnectionId(), c);
    conns.add(c);
    perHost.merge(c.remoteAddress().getAddress(), 1, Integer::sum);
  }

  void remove(PtcpConnection c) {
    if (byCid.remove(c.localConnectionId(), c)) {
      conns.remove(c);
      perHost.computeIfPresent(c.remoteAddress().getAddress(), (k, v) -> v <= 1 ? null : v - 1);
    }
  }

  void queueReset(InetSocketAddress dest, int dstCid, int srcCid, int seq, int ack,
      PtcpErrorCode code) {
    tx.clear();
    tx.flags = Header.RST | Header.ACK;
    tx.dstCid = dstCid;
    tx.srcCid = srcCid;
    tx.seq = seq;
    tx.ack = ack;
    if (code != PtcpErrorCode.NONE) {
      tx.errorCode = code.code();
    }
    queueControl(dest, tx);
  }

  private void queueControl(InetSocketAddress dest, Header h) {
    if (controls.size() >= MAX_CONTROL_QUEUE) {
      return;
    }
    controlScratch.clear();
    h.payloadLength = 0;
    h.encode(controlScratch);
    Header.seal(controlScratch, 0, crc);
    byte[] b = new byte[controlScratch.position()];
    controlScratch.flip();
    controlScratch.get(b);
    controls.add(new Control(dest, b));
  }

  private boolean takeToken(long now) {
    return resets.take(now);
  }


  /** Fills a fixed wire sequence helper (kept for symmetry with the connection's arithmetic). */
  static int wire(int isn, long offset) {
    return SeqNum.toWire(isn, offset);
  }
}
