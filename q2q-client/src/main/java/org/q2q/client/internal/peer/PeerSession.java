package org.q2q.client.internal.peer;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.Objects;
import org.q2q.certstore.Address;
import org.q2q.client.PeerSessionException;
import org.q2q.client.Q2qErrorCode;
import org.q2q.client.Route;
import org.q2q.client.VirtualChannel;
import org.q2q.proto.HostPort;
import org.q2q.proto.PeerFrame;
import org.q2q.proto.SourceAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One authenticated, encrypted connection between two q2q identities over any reliable byte
 * stream (TCP socket, PTCP stream, relay stream), carrying many {@link VirtualChannel}s.
 *
 * <p>{@link #start} installs on the transport's pipeline: TLS 1.3 with both identities (the
 * initiator is the TLS client; the peer's chain must validate against its domain's CA and name the
 * expected address), varint32-length-delimited {@code PeerFrame}s of bounded size, the Hello
 * exchange, then the {@link Multiplexer}. Closing a channel never closes the session; losing the
 * session fails every open channel with {@code SESSION_LOST}. A heartbeat (Ping every {@link
 * PeerSessionConfig#heartbeatInterval()}) fails the session once nothing arrived for {@link
 * PeerSessionConfig#idleTimeout()} (detected within idleTimeout + one interval).
 *
 * <p>Safe for concurrent use: methods hop onto the transport's event loop.
 */
public final class PeerSession {
  private static final Logger log = LoggerFactory.getLogger(PeerSession.class);
  static final String TLS_HANDLER = "q2q-tls";
  static final String BATCHER = "q2q-record-batcher";
  static final String DECODER = "q2q-frame-decoder";
  static final String ENCODER = "q2q-frame-encoder";
  static final String HANDSHAKE = "q2q-handshake";
  static final String MUX_HANDLER = "q2q-mux";

  private final Channel transport;
  private final PeerSessionConfig cfg;
  private final Address remoteAddress;
  private final String listenerId;
  private final String logId;
  private final Promise<Void> closePromise;
  private volatile Multiplexer mux;
  private volatile boolean closedLocally;
  private volatile HostPort sourceAddress;

  PeerSession(Channel transport, PeerSessionConfig cfg, Address remoteAddress, String listenerId, String logId) {
    this.transport = transport;
    this.cfg = cfg;
    this.remoteAddress = remoteAddress;
    this.listenerId = listenerId;
    this.logId = logId;
    this.closePromise = transport.eventLoop().newPromise();
  }

  /**
   * Starts a peer session on an already connected (registered and active) transport channel with
   * autoRead on; its pipeline should hold nothing that interprets the bytes (the session's handlers
   * go last). The session reads the transport continuously, whatever its channels do.
   *
   * @return completes once TLS verified the peer and Hello was exchanged both ways; fails with a
   *     {@link PeerSessionException} naming the cause (wrong or untrusted peer, timeout, closed
   *     transport, protocol violation), after which the transport is closed
   */
  public static Future<PeerSession> start(Channel transport, PeerSessionConfig cfg) {
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(cfg, "cfg");
    Promise<PeerSession> promise = transport.eventLoop().newPromise();
    String logId = "peer[" + transport.id().asShortText() + " " + cfg.role().name().toLowerCase()
        + (cfg.expectedPeer() != null ? " " + cfg.identity().address() + "->" + cfg.expectedPeer() : " " + cfg.identity().address())
        + "]";
    Runnable setup = () -> {
      try {
        if (!transport.isActive()) {
          promise.tryFailure(new PeerSessionException(Q2qErrorCode.SESSION_LOST, "the transport is not connected"));
          return;
        }
        PeerTls tls = new PeerTls(cfg);
        SslHandler ssl = tls.newHandler(cfg, transport.alloc());
        ChannelPipeline p = transport.pipeline();
        p.addLast(TLS_HANDLER, ssl);
        p.addLast(BATCHER, new RecordBatcher());
        p.addLast(DECODER, new PeerFrameDecoder(cfg.maxFrameSize()));
        p.addLast(ENCODER, PeerFrameEncoder.INSTANCE);
        p.addLast(HANDSHAKE, new SessionHandshake(cfg, tls, promise, logId));
      } catch (Exception e) {
        promise.tryFailure(new PeerSessionException(Q2qErrorCode.INTERNAL_ERROR, "could not set up TLS: " + e.getMessage(), e));
        transport.close();
      }
    };
    // On the transport's loop (a relay stream just spliced, a PTCP channel just accepted) the
    // handlers go in now: bytes the peer already sent may be read before a queued task would run,
    // and would pass by the TLS handler (a lost ClientHello stalls the handshake until its timeout).
    if (transport.eventLoop().inEventLoop()) {
      setup.run();
    } else {
      transport.eventLoop().execute(setup);
    }
    promise.addListener(f -> {
      if (f.isCancelled()) {
        transport.close();
      }
    });
    return promise;
  }

  void attach(Multiplexer mux) {
    this.mux = mux;
  }

  /** This side's address (from its own identity). */
  public Address localAddress() {
    return cfg.identity().address();
  }

  /** The peer's address, verified by TLS. */
  public Address remoteAddress() {
    return remoteAddress;
  }

  /** The listener id the initiator named in Hello ("" if none). */
  public String listenerId() {
    return listenerId;
  }

  /** Initiator or acceptor. */
  public PeerRole role() {
    return cfg.role();
  }

  /** The path that carries this session. */
  public Route route() {
    return cfg.route();
  }

  /** The transport channel under the session. */
  public Channel transportChannel() {
    return transport;
  }

  /** The address the peer reported seeing us at (SourceAddress frame), or null. */
  public HostPort sourceAddress() {
    return sourceAddress;
  }

  /** Tells the peer the transport address we see it at (for reflexive-address discovery). */
  public void sendSourceAddress(HostPort address) {
    transport.writeAndFlush(
        PeerFrame.newBuilder().setSourceAddress(SourceAddress.newBuilder().setAddress(address)).build());
  }

  /**
   * Opens a channel to {@code service} at the peer.
   *
   * @return completes with the channel once the peer accepted it; fails with a {@code
   *     ChannelResetException} (e.g. {@code NO_SUCH_SERVICE}, {@code REFUSED}) or a {@link
   *     PeerSessionException} if the session is gone
   */
  public Future<VirtualChannel> openChannel(String service) {
    return openChannel(service, null);
  }

  /**
   * Like {@link #openChannel(String)}, installing {@code handler} (may be null) on the channel's
   * pipeline before it becomes active, so it sees channelActive. AutoRead is still off.
   */
  public Future<VirtualChannel> openChannel(String service, ChannelHandler handler) {
    Objects.requireNonNull(service, "service");
    if (service.isEmpty()) {
      throw new IllegalArgumentException("service must not be empty");
    }
    return mux.openChannel(service, handler);
  }

  /** Completes when the session ended: success after {@link #close()}, else the reason. */
  public Future<Void> closeFuture() {
    return closePromise;
  }

  /** True until the session ended. */
  public boolean isOpen() {
    return !closePromise.isDone();
  }

  /** Ends the session: open channels fail with SESSION_LOST, the peer is told, the transport closed. */
  public Future<Void> close() {
    closedLocally = true;
    mux.close();
    return closePromise;
  }

  /** Number of channels currently open (diagnostics). */
  public int openChannelCount() {
    Multiplexer m = mux;
    if (transport.eventLoop().inEventLoop()) {
      return m.openChannelCount();
    }
    try {
      return transport.eventLoop().submit(m::openChannelCount).get();
    } catch (Exception e) {
      return 0;
    }
  }

  String logId() {
    return logId;
  }

  /** The multiplexer, once established (tests and diagnostics; its state is event-loop only). */
  Multiplexer multiplexer() {
    return mux;
  }

  void noteSourceAddress(HostPort address) {
    this.sourceAddress = address;
  }

  /** Called once by the multiplexer when the session ended. */
  void ended(String why, Throwable cause) {
    if (closedLocally) {
      closePromise.trySuccess(null);
    } else {
      closePromise.tryFailure(new PeerSessionException(Q2qErrorCode.SESSION_LOST, logId + " " + why, cause));
    }
  }

  @Override
  public String toString() {
    return logId;
  }
}
